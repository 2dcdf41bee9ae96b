/**
 * FLOP and size accounting on a model small enough to check by hand:
 * conv 1→2 (3×3, bias) on a 4×4 input → ReLU → Flatten (2·2·2 = 8) → Linear 8→3.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { init, setBackend, shutdown, tensor } from '../engine/index.js';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Conv2d, Flatten, Linear, ReLU, saveCheckpoint, Sequential } from '../nn/node.js';
import { applyMask, compact } from '../pruning/index.js';
import { profile } from '../measure/index.js';

beforeAll(async () => {
  await init({ backend: 'cpu' });
  setBackend('cpu');
});
afterAll(shutdown);

/** Filter 0 = 0..8 (8 non-zeros), filter 1 masked with its bias; fc reads only channel 0's 4 columns (12 non-zeros). */
function tiny(): Sequential {
  const m = new Sequential(['conv', new Conv2d(1, 2, 3)], ['relu', new ReLU()], ['flatten', new Flatten()], ['fc', new Linear(8, 3)]);
  const set = (name: string, key: string, values: number[]) => {
    const p = m.child(name)!.parameter(key)!;
    const t = tensor(values, p.shape);
    p.assign(t);
    t.dispose();
  };
  set('conv', 'weight', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9, 9, 9, 9, 9, 9]);
  set('conv', 'bias', [0.5, 1]);
  set('fc', 'weight', Array.from({ length: 24 }, (_, i) => (i % 8 < 4 ? 1 + Math.floor(i / 8) + (i % 8) : 0)));
  set('fc', 'bias', [1, 2, 3]);
  applyMask(m.child('conv')!, 'weight', Array.from({ length: 18 }, (_, i) => (i < 9 ? 1 : 0)));
  applyMask(m.child('conv')!, 'bias', [1, 0]);
  return m;
}

it('counts FLOPs (multiply-add = 2), parameters and bytes as worked out by hand', async () => {
  const masked = tiny();
  const a = await profile(masked, [1, 4, 4]);
  expect(a.layers.map((r) => [r.name, r.type])).toEqual([['conv', 'Conv2d'], ['relu', 'ReLU'], ['flatten', 'Flatten'], ['fc', 'Linear']]);
  expect(a.outputShape).toEqual([3]);
  const [conv, relu, flatten, fc] = a.layers;
  // Parameter-free layers: shapes only.
  expect(relu).toMatchObject({ outShape: [2, 2, 2], params: 0, flops: 0, bytes: { dense: 0, csr: 0, bsr: 0, checkpoint: 0 } });
  expect(flatten).toMatchObject({ outShape: [8], params: 0, flops: 0 });
  expect(conv).toMatchObject({ inShape: [1, 4, 4], outShape: [2, 2, 2], params: 20, nonzeroParams: 9, flops: 2 * 18 * 4, effectiveFlops: 2 * 8 * 4 });
  expect(fc).toMatchObject({ inShape: [8], outShape: [3], params: 27, nonzeroParams: 15, flops: 2 * 24, effectiveFlops: 2 * 12 });
  // Dense: 4 B per parameter. CSR of [2, 9] with 8 non-zeros: row pointers 3·4, 16-bit column indices ⌈8/2⌉·4, values 8·4, + bias 2·4.
  // checkpoint: weight_orig + weight_mask (18 each) and bias_orig + bias_mask (2 each) as float32.
  expect(conv!.bytes).toEqual({ dense: 80, csr: 12 + 16 + 32 + 8, bsr: 8 + 8 + 3 * 16 * 4 + 8, checkpoint: 4 * 40 });
  // CSR of [3, 8] with 12 non-zeros: 16 + 24 + 48, + bias 12. BSR 4×4: one block row, one non-zero block of 16 values.
  expect(fc!.bytes).toEqual({ dense: 108, csr: 16 + 24 + 48 + 12, bsr: 8 + 4 + 64 + 12, checkpoint: 108 });
  const { checkpointBytes, ...totals } = a.totals;
  expect(totals).toEqual({ params: 47, nonzeroParams: 24, flops: 192, effectiveFlops: 88, denseBytes: 188, csrBytes: 68 + 100, bsrBytes: 216 + 88, bufferBytes: 4 * (18 + 2) });
  // safetensors: 8-byte header length + JSON header + weight_orig, bias_orig, both masks, fc weight and bias (67 floats).
  expect(checkpointBytes).toBeGreaterThan(8 + 67 * 4);
  // Computed in memory; equal to the file saveCheckpoint writes (no metadata).
  const dir = mkdtempSync(join(tmpdir(), 'wgprune-profile-'));
  try {
    await saveCheckpoint(join(dir, 'm.safetensors'), masked);
    expect(statSync(join(dir, 'm.safetensors')).size).toBe(checkpointBytes);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const small = await compact(tiny());
  const b = await profile(small, [1, 4, 4]);
  expect(b.layers.filter((r) => r.params > 0).map((r) => [r.params, r.flops, r.effectiveFlops])).toEqual([[10, 2 * 9 * 4, 2 * 8 * 4], [15, 2 * 12, 2 * 12]]);
  expect(b.totals.denseBytes).toBe(4 * 25);
  expect(b.totals.bufferBytes).toBe(0);
  // Header JSON dominates at this size; the data goes from 67 floats to 25.
  expect(b.totals.checkpointBytes).toBeLessThan(a.totals.checkpointBytes - 4 * (67 - 25));
});
