/**
 * The study's pruning step (applyMethod) for every schedule, on the CPU reference backend with
 * a few MNIST images: the sparsity reached, the schedule's steps, the dense model left
 * untouched, the lottery ticket's mask reused by its random re-initialisation control, the
 * gradient criteria, and a stop request honoured.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, shutdown } from '../engine/index.js';
import { createModel, loadMnist, type Module } from '../nn/node.js';
import { isPruned, sparsityReport } from '../pruning/index.js';
import { resolveStudy } from '../study/config.js';
import { applyMethod, type StudyData, StudyStopped } from '../study/method.js';
import { registeredSource } from '../study/model-source.js';
import type { StudyMethod } from '../study/results.js';

let data: StudyData;
let dense: Module;

beforeAll(async () => {
  await init({ backend: 'cpu' });
  const [train, test] = await Promise.all([loadMnist('train', { limit: 64 }), loadMnist('test', { limit: 32 })]);
  data = { train, test, timingOnly: false };
  dense = createModel('lenet300', { seed: 3 });
});
afterAll(() => {
  dense.dispose();
  shutdown();
});

const config = resolveStudy({ model: 'lenet300', trainEpochs: 0, batchSize: 32 }).config;

function method(m: Partial<StudyMethod>): StudyMethod {
  return { label: 'm', criterion: 'l1', granularity: 'weight', scope: 'local', schedule: 'oneshot', rounds: 1, finetuneEpochs: 1, ...m };
}

async function run(m: StudyMethod, sparsity: number, tickets = new Map<string, Map<string, Float32Array>>(), signal = new AbortController().signal) {
  const phases: string[] = [];
  const out = await applyMethod({ source: registeredSource('lenet300'), dense, data, config, method: m, sparsity, seed: 0, signal, phase: (t) => phases.push(t), tickets });
  return { ...out, phases };
}

/** The first layer's trainable weight (weight_orig once pruned). */
async function weights(m: Module): Promise<Float32Array> {
  const fc = m.child('classifier')!.child('0')!;
  return (await (fc.parameter('weight_orig') ?? fc.parameter('weight'))!.toArray()).slice();
}

describe('applyMethod', () => {
  it('one-shot: prunes a copy to the target, fine-tunes, evaluates; the dense model is untouched', async () => {
    const before = await weights(dense);
    const r = await run(method({}), 0.7);
    expect((await sparsityReport(r.model)).weights.sparsity).toBeCloseTo(0.7, 3);
    expect(r.steps).toEqual([{ target: 0.7, accuracy: r.accuracyFinal }]);
    expect(r.accuracyPruned).toBeGreaterThanOrEqual(0);
    expect(r.phases.some((p) => p.startsWith('fine-tune'))).toBe(true);
    expect(isPruned(dense.child('classifier')!.child('0')!, 'weight')).toBe(false);
    expect(await weights(dense)).toEqual(before);
    r.model.dispose();
  });

  it('iterative: K rounds to 1 − (1 − s)^(r/K), each fine-tuned and evaluated', async () => {
    const r = await run(method({ schedule: 'iterative', rounds: 3 }), 0.875);
    expect(r.steps.map((s) => s.target)).toEqual([0.5, 0.75, 0.875].map((t) => expect.closeTo(t, 9)));
    expect(r.steps.every((s) => s.accuracy !== null)).toBe(true);
    expect((await sparsityReport(r.model)).weights.sparsity).toBeCloseTo(0.875, 3);
    r.model.dispose();
  });

  it('AGP: gradual mask updates during fine-tuning end at the final sparsity', async () => {
    const r = await run(method({ schedule: 'agp', rounds: 2, finetuneEpochs: 2 }), 0.6);
    expect(r.steps.length).toBeGreaterThanOrEqual(2);
    expect(r.steps.at(-1)!.target).toBe(0.6);
    expect((await sparsityReport(r.model)).weights.sparsity).toBeCloseTo(0.6, 3);
    r.model.dispose();
  });

  it('gradient and Taylor criteria score from training batches', async () => {
    for (const criterion of ['gradient', 'taylor']) {
      const r = await run(method({ criterion, scope: 'global', finetuneEpochs: 0 }), 0.5);
      expect(r.phases).toContain(`${criterion} scores`);
      expect((await sparsityReport(r.model)).weights.sparsity).toBeCloseTo(0.5, 3);
      r.model.dispose();
    }
  });

  it('lottery ticket, then its random re-initialisation control on the same mask', async () => {
    const tickets = new Map<string, Map<string, Float32Array>>();
    const lt = await run(method({ schedule: 'lottery', scope: 'global', rounds: 2 }), 0.75, tickets);
    expect(lt.steps.map((s) => s.target)).toEqual([0.5, 0.75].map((t) => expect.closeTo(t, 9)));
    expect(tickets.size).toBe(1);
    const masks = [...tickets.values()][0]!;
    const ltWeights = await weights(lt.model);
    const reinit = await run(method({ schedule: 'lottery-reinit', scope: 'global', rounds: 2 }), 0.75, tickets);
    // No second lottery: one training step, on the ticket's mask.
    expect(reinit.phases.filter((p) => p.startsWith('lottery round'))).toEqual([]);
    for (const [name, mask] of masks) {
      const [mod, param] = [name.split('.').slice(0, -1), name.split('.').at(-1)!];
      let m: Module | undefined = reinit.model;
      for (const part of mod) m = m?.child(part);
      expect(await m!.buffer(param)!.toArray(), name).toEqual(mask);
    }
    // Fresh values where the ticket rewound to its initialisation.
    expect(await weights(reinit.model)).not.toEqual(ltWeights);
    lt.model.dispose();
    reinit.model.dispose();
  });

  it('stops with StudyStopped when asked, freeing its copy', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(run(method({}), 0.5, new Map(), controller.signal)).rejects.toBeInstanceOf(StudyStopped);
  });
});
