/**
 * `pruneCommand` (the logic behind `wgprune prune`) end to end on the CPU
 * reference with small MNIST subsets: one-shot and iterative schedules, the
 * saved checkpoint (masks removed, zeros stored, sparsity in the metadata),
 * a masked checkpoint that loads back, and bad arguments.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../index.js';
import { createModel, loadSafetensors, saveCheckpoint } from '../nn/node.js';
import { pruneCommand } from '../cli/prune.js';

const dir = mkdtempSync(join(tmpdir(), 'wgprune-prune-'));
const input = join(dir, 'lenet300.safetensors');

beforeAll(async () => {
  await wg.init({ backend: 'cpu' });
  const m = createModel('lenet300', { seed: 5 });
  await saveCheckpoint(input, m, { model: 'lenet300', format: 'wgprune-checkpoint-v1', epoch: '0' });
  m.dispose();
});
afterAll(() => {
  wg.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

const quiet = () => undefined;

describe('pruneCommand', () => {
  it('one-shot global L1 to 70%: accuracy before/after, zeros stored under plain keys, metadata', async () => {
    const out = join(dir, 'oneshot.safetensors');
    const r = await pruneCommand({ model: input, out, method: 'l1-unstructured', amount: '0.7', scope: 'global', backend: 'cpu', testLimit: 100, log: quiet });
    expect(r.before.samples).toBe(100);
    expect(r.steps).toHaveLength(1);
    expect(r.report.weights.sparsity).toBeCloseTo(0.7, 5);
    const file = await loadSafetensors(out);
    expect([...file.tensors.keys()].some((k) => k.includes('_orig') || k.includes('_mask'))).toBe(false);
    let zeros = 0;
    let size = 0;
    for (const k of ['classifier.0.weight', 'classifier.2.weight', 'classifier.4.weight']) {
      const d = file.tensors.get(k)!.data;
      size += d.length;
      for (const v of d) if (v === 0) zeros++;
    }
    expect(zeros).toBe(Math.round(0.7 * size));
    expect(file.metadata).toMatchObject({ model: 'lenet300', pruning_method: 'l1-unstructured', pruning_scope: 'global', pruning_schedule: 'oneshot', pruning_amount: '0.7' });
    expect(Number(file.metadata.sparsity_weights)).toBeCloseTo(0.7, 5);
    expect(Number(file.metadata.test_accuracy)).toBe(r.after.accuracy);
    expect(file.metadata.test_accuracy_before).toBe(String(r.before.accuracy));
  });

  it('iterative with fine-tuning; a masked checkpoint loads back with its masks', async () => {
    const out = join(dir, 'iterative-masked.safetensors');
    const r = await pruneCommand({
      model: input, out, method: 'l1-unstructured', amount: 0.9, schedule: 'iterative', rounds: 2, finetuneEpochs: 1,
      limit: 64, testLimit: 50, batchSize: 32, backend: 'cpu', keepMasks: true, log: quiet,
    });
    expect(r.steps[0]!.target).toBeCloseTo(1 - Math.sqrt(0.1), 12);
    expect(r.steps[1]!.target).toBe(0.9);
    expect(r.steps.every((s) => typeof s.accuracy === 'number')).toBe(true);
    const file = await loadSafetensors(out);
    expect(file.tensors.has('classifier.0.weight_orig')).toBe(true);
    expect(file.tensors.has('classifier.0.weight_mask')).toBe(true);
    // Re-pruning the masked file to the same target changes nothing more.
    const again = await pruneCommand({ model: out, method: 'l1-unstructured', amount: 0.9, backend: 'cpu', testLimit: 50, log: quiet });
    expect(again.report.weights.nonzero).toBe(r.report.weights.nonzero);
    expect(again.before.accuracy).toBe(r.after.accuracy);
  });

  it('structured filter pruning with the gradient-free L2 criterion leaves the head alone', async () => {
    const r = await pruneCommand({ model: input, method: 'l2-structured', amount: 0.5, backend: 'cpu', testLimit: 20, log: quiet });
    expect(r.steps[0]!.result.layers.map((l) => [l.key, l.pruned])).toEqual([['classifier.0.weight', 150], ['classifier.2.weight', 50]]);
  });

  it('bad arguments are clear errors', async () => {
    await expect(pruneCommand({ model: input, method: 'l1-unstructured', amount: '1.5', backend: 'cpu', log: quiet })).rejects.toThrow(/target sparsity, a fraction in \[0, 1\]/);
    await expect(pruneCommand({ model: input, method: 'magic', amount: 0.5, backend: 'cpu', log: quiet })).rejects.toThrow(/unknown method 'magic'/);
    await expect(pruneCommand({ model: join(dir, 'missing.safetensors'), method: 'l1-unstructured', amount: 0.5, backend: 'cpu', log: quiet })).rejects.toThrow(/missing\.safetensors/);
    await expect(pruneCommand({ model: input, method: 'l1-unstructured', amount: 0.5, schedule: 'weekly' as never, backend: 'cpu', log: quiet })).rejects.toThrow(/--schedule/);
  });
});
