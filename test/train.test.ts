/** A tiny real-MNIST training run on WebGPU: the loss falls, memory stays flat, the best checkpoint reloads. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as wg from '../index.js';
import { createModel, SGD } from '../nn/index.js';
import { loadMnist } from '../nn/data/mnist.js';
import { fit } from '../nn/fit.js';
import { evaluate } from '../nn/train.js';
import { loadCheckpoint, saveCheckpoint } from '../nn/checkpoint-file.js';
import { initBoth, shutdown } from './helpers/backends.js';

const dir = mkdtempSync(join(tmpdir(), 'wgprune-train-'));
beforeAll(async () => {
  await initBoth();
  wg.setBackend('webgpu');
});
afterAll(() => {
  shutdown();
  rmSync(dir, { recursive: true, force: true });
});

it('trains LeNet-300-100 on 512 MNIST samples: loss falls, memory is flat across epochs', async () => {
  const [train, test] = await Promise.all([loadMnist('train', { limit: 512 }), loadMnist('test', { limit: 256 })]);
  const model = createModel('lenet300', { seed: 1 });
  const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
  const path = join(dir, 'best.safetensors');
  const inUse: number[] = [];
  const result = await fit(model, {
    epochs: 3, batchSize: 64, optimizer, train, test, seed: 2,
    onEpoch: async ({ train: t }, improved) => {
      inUse.push(t.inUseBytes);
      if (improved) await saveCheckpoint(path, model);
    },
  });
  const losses = result.history.map((h) => h.train.loss);
  expect(losses[2]).toBeLessThan(losses[0]! * 0.7);
  expect(result.bestAccuracy).toBeGreaterThan(0.7);
  // Device memory held by live tensors does not grow from epoch to epoch.
  expect(inUse[2]).toBe(inUse[1]);

  // The best checkpoint reloads into a fresh model and reproduces its test accuracy.
  const fresh = createModel('lenet300', { seed: 99 });
  await loadCheckpoint(path, fresh);
  const reloaded = await evaluate(fresh, test);
  expect(reloaded.accuracy).toBeCloseTo(result.bestAccuracy, 6);
});
