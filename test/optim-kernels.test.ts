/** Optimizer update kernels: WebGPU vs the CPU reference vs values computed by hand. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../engine/internal.js';
import { expectClose, initBoth, on, shutdown } from './helpers/backends.js';

beforeAll(initBoth);
afterAll(shutdown);

const sgd: wg.SgdConfig = { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0.01, nesterov: false, firstStep: true };
const adam: wg.AdamConfig = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, step: 1 };

describe.each(['cpu', 'webgpu'] as const)('%s', (backend) => {
  it('SGD with momentum and weight decay matches torch.optim.SGD by hand', async () => {
    const [p, g, buf] = on(backend, () => [wg.tensor([1, -2]), wg.tensor([0.5, 0.25]), wg.zeros([2])]);
    wg.sgdUpdate(p!, g!, buf!, sgd);
    // step 1: d = g + wd·p = [0.51, 0.23]; buf = d; p -= lr·buf
    expectClose(await p!.toArray(), [1 - 0.1 * 0.51, -2 - 0.1 * 0.23]);
    wg.sgdUpdate(p!, g!, buf!, { ...sgd, firstStep: false });
    // step 2: d = g + wd·p1; buf = 0.9·buf + d; p -= lr·buf
    const p1 = [0.949, -2.023];
    const d = [0.5 + 0.01 * p1[0]!, 0.25 + 0.01 * p1[1]!];
    const b = [0.9 * 0.51 + d[0]!, 0.9 * 0.23 + d[1]!];
    expectClose(await p!.toArray(), [p1[0]! - 0.1 * b[0]!, p1[1]! - 0.1 * b[1]!]);
    expectClose(await buf!.toArray(), b);
  });

  it('Adam and AdamW first step move each weight by about lr', async () => {
    const [p, g, m, v] = on(backend, () => [wg.tensor([1, -2]), wg.tensor([0.5, -3]), wg.zeros([2]), wg.zeros([2])]);
    wg.adamUpdate(p!, g!, m!, v!, adam);
    // After bias correction the first step is lr·g/|g| (up to eps).
    expectClose(await p!.toArray(), [1 - 0.01, -2 + 0.01], { rtol: 1e-5, atol: 1e-6 });
    const [q, gq, mq, vq] = on(backend, () => [wg.tensor([1]), wg.tensor([0.5]), wg.zeros([1]), wg.zeros([1])]);
    wg.adamUpdate(q!, gq!, mq!, vq!, { ...adam, weightDecay: 0.1, decoupled: true });
    expectClose(await q!.toArray(), [1 * (1 - 0.01 * 0.1) - 0.01], { rtol: 1e-5, atol: 1e-6 });
  });
});

it('many Adam/SGD steps agree across backends', async () => {
  const gen = new wg.Generator(3);
  const init = Float32Array.from({ length: 37 }, () => gen.normal());
  const grads = Array.from({ length: 5 }, () => Float32Array.from({ length: 37 }, () => gen.normal()));
  const run = async (backend: 'cpu' | 'webgpu') => {
    const [p, m, v, q, buf] = on(backend, () => [wg.tensor(init), wg.zeros([37]), wg.zeros([37]), wg.tensor(init), wg.zeros([37])]);
    for (const [i, g] of grads.entries()) {
      const gt = on(backend, () => wg.tensor(g));
      wg.adamUpdate(p!, gt, m!, v!, { ...adam, weightDecay: 0.01, step: i + 1 });
      wg.sgdUpdate(q!, gt, buf!, { ...sgd, nesterov: true, firstStep: i === 0 });
    }
    return [await p!.toArray(), await q!.toArray()];
  };
  const [cpu, gpu] = [await run('cpu'), await run('webgpu')];
  expectClose(gpu[0]!, cpu[0]!, { rtol: 1e-4, atol: 1e-5 }, 'adam');
  expectClose(gpu[1]!, cpu[1]!, { rtol: 1e-4, atol: 1e-5 }, 'sgd');
});

it('rejects mismatched state and a zero step', () => {
  on('cpu', () => {
    expect(() => wg.sgdUpdate(wg.zeros([2]), wg.zeros([3]), null, sgd)).toThrow(/sgdUpdate: \[3\] does not match parameter \[2\]/);
    expect(() => wg.adamUpdate(wg.zeros([2]), wg.zeros([2]), wg.zeros([2]), wg.zeros([2]), { ...adam, step: 0 })).toThrow(/adamUpdate: step counts from 1/);
  });
});
