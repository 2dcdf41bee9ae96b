/**
 * Schedules on the CPU reference: iterative pruning reaches the exact final
 * sparsity through geometric per-round targets; AGP's targets follow Zhu &
 * Gupta's cubic and the masks follow the targets during trainEpoch; lottery
 * tickets rewind survivors to their initial (or iteration-k) values, and the
 * random re-init control keeps the mask; the sparsity report.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../index.js';
import { type ArrayDataset, Flatten, Linear, ReLU, SGD, Sequential, trainEpoch } from '../nn/index.js';
import {
  agpSparsity, getMask, GradualPruner, isAgpUpdateStep, iterativePrune, iterativeTargets, LotteryTicket, prune, remove, sparsityReport,
} from '../pruning/index.js';

beforeAll(async () => {
  await wg.init({ backend: 'cpu' });
});
afterAll(() => wg.shutdown());

function mlp(seed = 1): Sequential {
  const g = new wg.Generator(seed);
  return new Sequential(['flatten', new Flatten()], ['fc1', new Linear(16, 12, { generator: g })], ['relu', new ReLU()], ['fc2', new Linear(12, 4, { generator: g })]);
}

function data(n = 48, seed = 3): ArrayDataset {
  const g = new wg.Generator(seed);
  const y = Int32Array.from({ length: n }, () => g.int(4));
  const x = Float32Array.from({ length: n * 16 }, (_, i) => g.normal() + (y[Math.floor(i / 16)]! === i % 4 ? 1.5 : 0));
  return { x, y, sampleShape: [1, 4, 4], n };
}

const zeros = async (t: wg.Tensor | null) => (t ? (await t.toArray()).reduce((a, v) => a + (v === 0 ? 1 : 0), 0) : 0);

describe('iterative', () => {
  it('targets are geometric per round and end exactly at the final sparsity', () => {
    const t = iterativeTargets(0.92, 3);
    expect(t[2]).toBe(0.92);
    const perRound = 1 - Math.cbrt(0.08);
    expect(t[0]).toBeCloseTo(perRound, 12);
    expect(1 - t[1]!).toBeCloseTo((1 - perRound) ** 2, 12);
    expect(() => iterativeTargets(0.5, 0)).toThrow(/rounds/);
  });

  it('K = 3 rounds of prune → fine-tune reach round(s·n) exactly, never reviving', async () => {
    const m = mlp();
    const ds = data();
    const opt = new SGD(m.parameters(), { lr: 0.05, momentum: 0.9 });
    const seen: number[] = [];
    let prev: Float32Array | null = null;
    const r = await iterativePrune(m, {
      sparsity: 0.92, rounds: 3,
      finetune: async (round, result) => {
        seen.push(round);
        expect(result.layers[0]!.pruned).toBe(Math.round(iterativeTargets(0.92, 3)[round - 1]! * 192));
        const mask = await getMask(m.at('fc1'), 'weight')!.toArray();
        if (prev) prev.forEach((v, i) => v === 0 && expect(mask[i]).toBe(0));
        prev = mask;
        await trainEpoch(m, ds, opt, { batchSize: 16, generator: new wg.Generator(round) });
      },
    });
    expect(seen).toEqual([1, 2, 3]);
    expect(r.rounds.map((x) => x.layers[0]!.pruned)).toEqual([Math.round(0.5686 * 192), 156, 177]);
    expect(await zeros(getMask(m.at('fc1'), 'weight'))).toBe(177); // round(0.92 · 192) = 176.64
    expect(await zeros(getMask(m.at('fc2'), 'weight'))).toBe(44); // round(0.92 · 48)
    // After fine-tuning the effective weights are still exactly zero where masked.
    const eff = await m.at('fc1').getParam('weight')!.toArray();
    expect(eff.filter((v) => v === 0).length).toBeGreaterThanOrEqual(177);
    opt.dispose();
  });
});

describe('AGP (Zhu & Gupta)', () => {
  const schedule = { initialSparsity: 0.1, finalSparsity: 0.8, startStep: 2, numUpdates: 4, frequency: 3 };

  it('follows s_t = s_f + (s_i − s_f)(1 − (t − t0)/(nΔt))³ at update steps, constant between', () => {
    for (let k = 0; k <= 4; k++) {
      const t = 2 + 3 * k;
      expect(isAgpUpdateStep(t, schedule)).toBe(true);
      expect(agpSparsity(t, schedule)).toBeCloseTo(0.8 + (0.1 - 0.8) * (1 - (t - 2) / 12) ** 3, 12);
      if (k < 4) {
        expect(isAgpUpdateStep(t + 1, schedule)).toBe(false);
        expect(agpSparsity(t + 2, schedule)).toBe(agpSparsity(t, schedule));
      }
    }
    expect(agpSparsity(0, schedule)).toBe(0);
    expect(agpSparsity(14, schedule)).toBe(0.8);
    expect(agpSparsity(1000, schedule)).toBe(0.8);
    expect(isAgpUpdateStep(17, schedule)).toBe(false);
    expect(() => agpSparsity(0, { ...schedule, finalSparsity: 0.05 })).toThrow(/below initialSparsity/);
  });

  it('GradualPruner through trainEpoch afterStep: masks track the curve, exact counts', async () => {
    const m = mlp(2);
    const ds = data(64);
    const opt = new SGD(m.parameters(), { lr: 0.05, momentum: 0.9 });
    const pruner = new GradualPruner(m, schedule, { scope: 'global' });
    const g = new wg.Generator(1);
    for (let epoch = 1; epoch <= 2; epoch++) await trainEpoch(m, ds, opt, { batchSize: 8, generator: g, epoch, afterStep: pruner.afterStep });
    expect(pruner.step).toBe(16);
    expect(pruner.done).toBe(true);
    expect(pruner.history.map((h) => h.step)).toEqual([2, 5, 8, 11, 14]);
    for (const h of pruner.history) {
      expect(h.target).toBeCloseTo(agpSparsity(h.step, schedule), 12);
      expect(h.result.pruned).toBe(Math.round(h.target * 240)); // 192 + 48 weights, one global ranking
    }
    const total = (await zeros(getMask(m.at('fc1'), 'weight'))) + (await zeros(getMask(m.at('fc2'), 'weight')));
    expect(total).toBe(192);
    opt.dispose();
  });
});

describe('lottery ticket', () => {
  async function values(m: Sequential): Promise<number[][]> {
    return Promise.all(['fc1', 'fc2'].flatMap((n) => [m.at(n).parameter('weight_orig') ?? m.at(n).parameter('weight'), m.at(n).parameter('bias')]).map(async (t) => Array.from(await t!.toArray())));
  }

  it('rewinds survivors to their initial values each round; p% of the remaining pruned per round', async () => {
    const m = mlp(3);
    const ds = data();
    const initial = await values(m);
    const ticket = new LotteryTicket(m, { rounds: 2, pruneFraction: 0.5, scope: 'global' });
    const checks: number[] = [];
    const result = await ticket.run(async ({ round, afterStep }) => {
      if (round > 0) {
        // Training starts from the rewound initial values, under the round's mask.
        expect(await values(m)).toEqual(initial);
        const masked = (await zeros(getMask(m.at('fc1'), 'weight'))) + (await zeros(getMask(m.at('fc2'), 'weight')));
        expect(masked).toBe(Math.round((1 - 0.5 ** round) * 240));
        checks.push(round);
      }
      const opt = new SGD(m.parameters(), { lr: 0.1 });
      await trainEpoch(m, ds, opt, { batchSize: 16, generator: new wg.Generator(round), afterStep });
      return round / 10;
    });
    expect(checks).toEqual([1, 2]);
    expect(result.rounds.map((r) => r.metric)).toEqual([0, 0.1, 0.2]);
    expect(result.rounds.map((r) => r.remaining)).toEqual([1, 0.5, 0.25]);
    expect(await values(m)).not.toEqual(initial);

    // The random re-init control: same mask, fresh values, still zero where masked.
    const mask = Array.from(await getMask(m.at('fc1'), 'weight')!.toArray());
    ticket.reinitialize(99);
    expect(Array.from(await getMask(m.at('fc1'), 'weight')!.toArray())).toEqual(mask);
    const re = await values(m);
    expect(re[0]).not.toEqual(initial[0]);
    const eff = await m.at('fc1').getParam('weight')!.toArray();
    mask.forEach((v, i) => v === 0 && expect(eff[i]! + 0).toBe(0));
    ticket.dispose();
  });

  it('rewinds to iteration k of the first training', async () => {
    const m = mlp(4);
    const ds = data();
    const ticket = new LotteryTicket(m, { rounds: 1, pruneFraction: 0.2, rewind: { iteration: 2 } });
    let atK: number[][] | null = null;
    await ticket.run(async ({ round, afterStep }) => {
      if (round === 1) expect(await values(m)).toEqual(atK);
      const opt = new SGD(m.parameters(), { lr: 0.1 });
      let step = 0;
      await trainEpoch(m, ds, opt, {
        batchSize: 16, generator: new wg.Generator(7),
        afterStep: async () => {
          afterStep(step);
          if (round === 0 && ++step === 2) atK = await values(m);
        },
      });
    });
    expect(atK).not.toBeNull();
    ticket.dispose();
    await expect(new LotteryTicket(mlp(), { rounds: 1, pruneFraction: 0.2, rewind: { epoch: 5 } }).run(async () => undefined)).rejects.toThrow(/never reached/);
  });
});

describe('sparsity report', () => {
  it('per-parameter and overall counts under plain keys, with a text table', async () => {
    const m = mlp(5);
    await prune(m, { sparsity: 0.75 });
    remove(m.at('fc2'), 'weight');
    const r = await sparsityReport(m);
    expect(r.rows.map((x) => x.key)).toEqual(['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight']);
    const fc1 = r.rows.find((x) => x.key === 'fc1.weight')!;
    expect(fc1).toMatchObject({ size: 192, nonzero: 48, masked: true, prunable: true });
    expect(fc1.sparsity).toBe(0.75);
    expect(r.rows.find((x) => x.key === 'fc2.weight')).toMatchObject({ size: 48, nonzero: 12, masked: false });
    expect(r.weights).toEqual({ size: 240, nonzero: 60, sparsity: 0.75 });
    expect(r.total.size).toBe(256);
    expect(r.text).toMatch(/fc1\.weight\s+\[12, 16\]\s+192\s+48\s+75\.00%\s+yes/);
    expect(r.text).toMatch(/weights \(Linear\/Conv2d\)\s+240\s+60\s+75\.00%/);
  });
});
