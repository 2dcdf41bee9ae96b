/**
 * A diverged training run (NaN or infinite loss) stops at the next readback with the epoch and
 * steps named, is never kept as the best epoch, and continues only when asked (CPU backend,
 * a tiny synthetic dataset; the weights are broken at a chosen step, so the steps are exact).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../index.js';
import { loadSafetensors } from '../nn/safetensors-file.js';
import { type ArrayDataset, Flatten, Linear, NonFiniteLossError, ReLU, saveCheckpoint, Sequential, SGD } from '../nn/node.js';
import { fit } from '../nn/fit.js';
import { trainEpoch } from '../nn/train.js';

let dir: string;
beforeAll(async () => {
  await wg.init({ backend: 'cpu' });
  dir = mkdtempSync(join(tmpdir(), 'wgprune-nonfinite-'));
});
afterAll(() => {
  wg.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

/** 80 samples of 8 features, 3 classes: 10 batches of 8. */
function dataset(n = 80): ArrayDataset {
  const g = new wg.Generator(4);
  const x = Float32Array.from({ length: n * 8 }, () => g.normal());
  const y = Int32Array.from({ length: n }, (_, i) => i % 3);
  return { x, y, sampleShape: [8], n };
}

function model(): Sequential {
  const g = new wg.Generator(1);
  return new Sequential(['flatten', new Flatten()], ['fc1', new Linear(8, 16, { generator: g })], ['relu', new ReLU()], ['fc2', new Linear(16, 3, { generator: g })]);
}

/** SGD that fills the last layer's weight with `value` after its `breakAt`-th step overall (counting from 1). */
class BreakingSGD extends SGD {
  steps = 0;
  constructor(private readonly m: Sequential, private readonly breakAt: number, private readonly value = NaN) {
    super(m.parameters(), { lr: 0.05 });
  }
  override step(): void {
    super.step();
    if (++this.steps !== this.breakAt) return;
    const w = this.m.child('fc2')!.parameter('weight')!;
    const t = wg.full(w.shape, this.value);
    w.assign(t);
    t.dispose();
  }
}

describe('trainEpoch stopOnNonFinite', () => {
  it('stops at the first readback after the loss turns NaN, naming the epoch and the steps', async () => {
    const m = model();
    // Broken after step 3: the loss of step 4 is NaN; readbacks every 5 steps see it at step 5.
    const opt = new BreakingSGD(m, 3);
    const err = await trainEpoch(m, dataset(), opt, { batchSize: 8, generator: new wg.Generator(0), epoch: 2, readEvery: 5, stopOnNonFinite: true })
      .then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteLossError);
    const e = err as NonFiniteLossError;
    expect({ epoch: e.epoch, step: e.step, lastFiniteStep: e.lastFiniteStep, steps: e.steps }).toEqual({ epoch: 2, step: 5, lastFiniteStep: 0, steps: 10 });
    expect(e.message).toMatch(/training loss became NaN in epoch 2, between steps 1 and 5 of 10/);
    expect(opt.steps).toBe(5);
  });

  it('an infinite loss found at the end of the epoch (after a finite readback) is named too', async () => {
    const m = model();
    const opt = new BreakingSGD(m, 8, Infinity);
    const err = await trainEpoch(m, dataset(), opt, { batchSize: 8, generator: new wg.Generator(0), readEvery: 5, stopOnNonFinite: true })
      .then(() => null, (e: unknown) => e) as NonFiniteLossError;
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect(err.lastFiniteStep).toBe(5);
    expect(err.step).toBe(10);
    expect(err.message).toMatch(/became (NaN|infinite) in epoch 1, between steps 6 and 10 of 10/);
  });

  it('without it (the default) the epoch runs to the end and reports a NaN loss', async () => {
    const m = model();
    const stats = await trainEpoch(m, dataset(), new BreakingSGD(m, 3), { batchSize: 8, generator: new wg.Generator(0) });
    expect(stats.loss).toBeNaN();
    expect(stats.samples).toBe(80);
  });
});

describe('fit', () => {
  it('stops on a NaN loss before onEpoch sees that epoch; the checkpoint of the last good epoch is kept', async () => {
    const m = model();
    const path = join(dir, 'best.safetensors');
    const seen: Array<[number, boolean]> = [];
    // 10 steps per epoch: broken at step 14, in epoch 2.
    const err = await fit(m, {
      epochs: 3, batchSize: 8, optimizer: new BreakingSGD(m, 14), train: dataset(), test: dataset(24),
      onEpoch: async ({ train }, improved) => {
        seen.push([train.epoch, improved]);
        if (improved) await saveCheckpoint(path, m, { epoch: String(train.epoch) });
      },
    }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect((err as NonFiniteLossError).epoch).toBe(2);
    expect(seen).toEqual([[1, true]]);
    const saved = await loadSafetensors(path);
    expect(saved.metadata.epoch).toBe('1');
    for (const t of saved.tensors.values()) expect(t.data.every(Number.isFinite)).toBe(true);
  });

  it('weights broken by the last step of an epoch are caught by the test loss', async () => {
    const m = model();
    const err = await fit(m, { epochs: 2, batchSize: 8, optimizer: new BreakingSGD(m, 10), train: dataset(), test: dataset(24) })
      .then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect((err as NonFiniteLossError).phase).toBe('evaluation');
    expect((err as Error).message).toMatch(/test loss became NaN on the test set after epoch 1/);
  });

  it('allowNonFinite: training goes on, and no epoch with a non-finite loss counts as the best', async () => {
    const m = model();
    const seen: Array<[number, boolean]> = [];
    const result = await fit(m, {
      epochs: 3, batchSize: 8, optimizer: new BreakingSGD(m, 14), train: dataset(), test: dataset(24), allowNonFinite: true,
      onEpoch: ({ train }, improved) => void seen.push([train.epoch, improved]),
    });
    expect(seen).toEqual([[1, true], [2, false], [3, false]]);
    expect(result.bestEpoch).toBe(1);
    expect(result.history[1]!.train.loss).toBeNaN();
  });
});
