/** Bad input gets a clear error naming the op and the shapes, on both backends, and the engine keeps working. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../index.js';
import { initBoth, on, shutdown } from './helpers/backends.js';
import { record } from './helpers/reliability.js';

beforeAll(initBoth);
afterAll(shutdown);

const cases: Array<[string, () => unknown, RegExp]> = [
  ['broadcast mismatch', () => wg.add(wg.zeros([2, 3]), wg.zeros([4])), /add: shapes \[2, 3\] and \[4\] cannot be broadcast/],
  ['matmul inner dims', () => wg.matmul(wg.zeros([2, 3]), wg.zeros([4, 5])), /matmul: inner dimensions differ: \[2, 3\] @ \[4, 5\]/],
  ['matmul scalar', () => wg.matmul(wg.tensor(1), wg.zeros([2])), /matmul: both operands need at least one dimension/],
  ['linear in_features', () => wg.linear(wg.zeros([2, 3]), wg.zeros([4, 5])), /linear: input \[2, 3\] does not end in in_features=5/],
  ['conv2d rank', () => wg.conv2d(wg.zeros([1, 3, 3]), wg.zeros([1, 1, 3, 3])), /conv2d: input must be 4-D \[N, C, H, W\], got \[1, 3, 3\]/],
  ['conv2d channels', () => wg.conv2d(wg.zeros([1, 2, 5, 5]), wg.zeros([4, 3, 3, 3])), /conv2d: input has 2 channels but weight \[4, 3, 3, 3\] expects 3/],
  ['conv2d empty kernel', () => wg.conv2d(wg.zeros([1, 2, 4, 4]), wg.zeros([3, 2, 1, 0])), /conv2d: the kernel must be at least 1x1, got 1x0 in weight \[3, 2, 1, 0\]/],
  ['conv2d kernel too big', () => wg.conv2d(wg.zeros([1, 1, 2, 2]), wg.zeros([1, 1, 3, 3])), /conv2d: kernel 3x3 .* larger than the padded input/],
  ['conv2d bad stride', () => wg.conv2d(wg.zeros([1, 1, 4, 4]), wg.zeros([1, 1, 3, 3]), null, { stride: 0 }), /conv2d: stride must be integers >= 1/],
  ['pool padding', () => wg.maxPool2d(wg.zeros([1, 1, 4, 4]), 2, { padding: 2 }), /maxPool2d: padding 2x2 must be at most half the kernel/],
  ['pool rank', () => wg.avgPool2d(wg.zeros([4, 4]), 2), /avgPool2d: input must be 4-D/],
  ['reshape size', () => wg.reshape(wg.zeros([2, 3]), [4, 2]), /reshape: cannot reshape \[2, 3\] \(6 elements\) into \[4, 2\]/],
  ['reshape two -1', () => wg.reshape(wg.zeros([2, 3]), [-1, -1]), /reshape: only one dimension may be -1/],
  ['axis out of range', () => wg.sum(wg.zeros([2, 3]), 2), /sum: axis 2 is out of range for a tensor of rank 2/],
  ['permute', () => wg.permute(wg.zeros([2, 3]), [0, 0]), /permute: \[0,0\] is not a permutation/],
  ['slice bounds', () => wg.slice(wg.zeros([2, 3]), [0, 1], [2, 4]), /slice: range \[1, 4\) is out of bounds for dimension 1 of size 3/],
  ['concat shapes', () => wg.concat([wg.zeros([2, 3]), wg.zeros([2, 4])], 0), /concat: shape \[2, 4\] does not match \[2, 3\] outside dimension 0/],
  ['tensor size', () => wg.tensor([1, 2, 3], [2, 2]), /tensor: 3 values cannot fill shape \[2, 2\]/],
  ['ragged', () => wg.tensor([[1, 2], [3]]), /tensor: ragged nested array/],
  ['negative dim', () => wg.zeros([2, -1]), /zeros|full: invalid shape \[2, -1\]/],
  ['mean of empty', () => wg.mean(wg.zeros([0, 3]), 0), /mean: cannot average over an empty dimension of \[0, 3\]/],
  ['max of empty', () => wg.max(wg.zeros([2, 0]), 1), /max: cannot reduce over an empty dimension/],
  ['CE NaN target', () => wg.crossEntropy(wg.zeros([2, 3]), [0, NaN]), /crossEntropy: target 1 is NaN/],
  ['CE class range', () => wg.crossEntropy(wg.zeros([2, 3]), [0, 3]), /crossEntropy: target 1 = 3 is not a class index in \[0, 3\)/],
  ['CE negative class', () => wg.crossEntropy(wg.zeros([2, 3]), [-1, 0]), /crossEntropy: target 0 = -1 is not a class index/],
  ['CE fractional class', () => wg.crossEntropy(wg.zeros([2, 3]), [0.5, 0]), /crossEntropy: target 0 = 0.5 is not a class index/],
  ['CE count', () => wg.crossEntropy(wg.zeros([2, 3]), [0]), /crossEntropy: 1 targets for 2 rows/],
  ['CE empty batch', () => wg.crossEntropy(wg.zeros([0, 3]), []), /crossEntropy: empty batch/],
  ['CE rank', () => wg.crossEntropy(wg.zeros([3]), [0]), /crossEntropy: logits must be \[N, C\], got \[3\]/],
  ['CE tensor targets', () => wg.crossEntropy(wg.zeros([2, 3]), wg.zeros([2]) as unknown as number[]), /crossEntropy: targets must be a host array/],
  ['batchNorm channels', () => wg.batchNorm(wg.zeros([2, 3]), wg.zeros([4]), wg.ones([4])), /batchNorm: runningMean \[4\] must be \[3\]/],
  ['batchNorm single value', () => wg.batchNorm(wg.zeros([1, 3]), null, null, null, null, { training: true }), /batchNorm: training needs more than one value per channel/],
  ['dropout p', () => wg.dropout(wg.zeros([2]), 1.5), /dropout: probability must be in \[0, 1\], got 1.5/],
  ['backward non-scalar', () => wg.zeros([2], { requiresGrad: true }).mul(2).backward(), /backward: a gradient is needed for a non-scalar output of shape \[2\]/],
  ['backward without grad', () => wg.zeros([1]).backward(), /backward: tensor does not require grad/],
  ['arange step', () => wg.arange(0, 5, 0), /arange: step must be a finite non-zero number/],
];

describe.each(['cpu', 'webgpu'] as const)('%s backend', (backend) => {
  it.each(cases)('%s', (name, fn, message) => {
    on(backend, () => expect(fn).toThrow(message));
    record('bad-input', name, { backend, error: String(message) });
  });

  it('rejects use after dispose, naming the op', async () => {
    on(backend, () => {
      const t = wg.ones([2, 2]);
      t.dispose();
      expect(() => wg.add(t, 1)).toThrow(/add: tensor #\d+ \[2, 2\] was used after dispose\(\)/);
      expect(() => t.reshape([4])).toThrow(/used after dispose/);
    });
    const t = on(backend, () => wg.ones([3]));
    t.dispose();
    await expect(t.toArray()).rejects.toThrow(/toArray: tensor #\d+ \[3\] was used after dispose/);
  });

  it('keeps working after errors', async () => {
    const y = on(backend, () => {
      expect(() => wg.add(wg.zeros([2]), wg.zeros([3]))).toThrow();
      return wg.add(wg.tensor([1, 2]), 3);
    });
    expect([...(await y.toArray())]).toEqual([4, 5]);
  });
});

describe('backend boundaries', () => {
  it('refuses to mix tensors from two backends', () => {
    const a = on('cpu', () => wg.ones([2]));
    const b = on('webgpu', () => wg.ones([2]));
    expect(() => wg.add(a, b)).toThrow(/add: inputs live on different backends \(cpu and webgpu\)/);
  });

  it('rejects an unknown backend name', async () => {
    await expect(wg.init({ backend: 'tpu' as 'cpu' })).rejects.toThrow(/init: unknown backend 'tpu'/);
  });

  it('refuses a tensor larger than the adapter allows in one buffer, before allocating it', () => {
    const max = Math.min(...(['maxBufferSize', 'maxStorageBufferBindingSize'] as const).map((k) => wg.getBackend('webgpu') && wgLimit(k)));
    const elements = Math.floor(max / 4) + 1024;
    on('webgpu', () => expect(() => wg.zeros([elements])).toThrow(/webgpu: a tensor of \d+ elements needs \d+ bytes, more than this adapter allows/));
  });

  it('tidy rejects async functions', () => {
    expect(() => wg.tidy((async () => 1) as unknown as () => number)).toThrow(/tidy: the function returned a Promise/);
  });
});

function wgLimit(name: 'maxBufferSize' | 'maxStorageBufferBindingSize'): number {
  const backend = wg.getBackend('webgpu') as unknown as { rt: { limits: GPUSupportedLimits } };
  return backend.rt.limits[name];
}
