/**
 * The high-level `prune`: exact target sparsity for every granularity and scope,
 * block masks on the block grid, the N:M pattern in every group, per-layer
 * overrides and exclusions, global normalisation, and the criteria (magnitude,
 * random, gradient magnitude, first-order Taylor, BN-scale). CPU reference.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../index.js';
import { BatchNorm2d, Conv2d, Flatten, Linear, type Module, ReLU, Sequential } from '../nn/index.js';
import {
  getMask, globalUnstructured, GradientAccumulator, groupsFor, prune, type PruneOptions, view2d,
} from '../pruning/index.js';

beforeAll(async () => {
  await wg.init({ backend: 'cpu' });
});
afterAll(() => wg.shutdown());

/** conv [8,2,3,3] (2-D view 8×18) → flatten 32 → fc [16,32] → relu → head [10,16]; input [N,2,4,4]. */
function net(seed = 1): Sequential {
  const g = new wg.Generator(seed);
  return new Sequential(
    ['conv', new Conv2d(2, 8, 3, { generator: g })], ['relu', new ReLU()], ['flatten', new Flatten()],
    ['fc', new Linear(32, 16, { generator: g })], ['relu2', new ReLU()], ['head', new Linear(16, 10, { generator: g })],
  );
}

async function maskOf(m: Module, name = 'weight'): Promise<Float32Array | null> {
  const t = getMask(m, name);
  return t ? t.toArray() : null;
}

const countZeros = (a: ArrayLike<number>) => Array.from(a).filter((v) => v === 0).length;

/** For each group of `granularity`, checks the mask is constant; returns the number of dead groups. */
function deadGroups(mask: Float32Array, shape: readonly number[], granularity: PruneOptions['granularity']): number {
  const grouping = groupsFor(shape, granularity!);
  const value = new Map<number, number>();
  mask.forEach((v, i) => {
    const g = grouping.of[i]!;
    if (value.has(g)) expect(value.get(g), `group ${g} is not uniform`).toBe(v);
    else value.set(g, v);
  });
  return [...value.values()].filter((v) => v === 0).length;
}

describe('exact target sparsity', () => {
  it('weight granularity, local: round(s·n) zeros in every layer (Python rounding)', async () => {
    const m = net();
    const r = await prune(m, { sparsity: 0.6 });
    expect(countZeros((await maskOf(m.at('conv')))!)).toBe(86); // 0.6·144 = 86.4
    expect(countZeros((await maskOf(m.at('fc')))!)).toBe(307); // 307.2
    expect(countZeros((await maskOf(m.at('head')))!)).toBe(96);
    expect(r.layers.map((l) => l.pruned)).toEqual([86, 307, 96]);
  });

  it('weight granularity, global (normalize none) equals globalUnstructured', async () => {
    const a = net(2);
    const b = net(2);
    const r = await prune(a, { sparsity: 0.6, scope: 'global' });
    await globalUnstructured([[b.at('conv'), 'weight'], [b.at('fc'), 'weight'], [b.at('head'), 'weight']], { amount: 0.6 });
    expect(r.pruned).toBe(490); // round(0.6 · 816)
    for (const name of ['conv', 'fc', 'head']) expect(await maskOf(a.at(name))).toEqual(await maskOf(b.at(name)));
  });

  const grouped: Array<[string, PruneOptions['granularity'], number, Record<string, number | null>]> = [
    // name, granularity, sparsity, expected dead groups per layer (null: not pruned)
    ['filter', 'filter', 0.5, { conv: 4, fc: 8, head: null }],
    ['row', 'row', 0.25, { conv: 2, fc: 4, head: null }],
    ['channel', 'channel', 0.5, { conv: 1, fc: 16, head: null }],
    ['column', 'column', 0.5, { conv: 9, fc: 16, head: null }],
    ['kernel', 'kernel', 0.25, { conv: 4, fc: null, head: null }],
    ['4x4 blocks (partial edge blocks in conv: 18 columns)', '4x4', 0.5, { conv: 5, fc: 16, head: 6 }],
    ['1x4 blocks', '1x4', 0.3, { conv: 12, fc: 38, head: 12 }],
    ['8x8 blocks', { block: [8, 8] }, 0.5, { conv: 2, fc: 4, head: 2 }],
  ];
  for (const [name, granularity, sparsity, expected] of grouped) {
    it(`${name}: round(s · groups) whole groups, aligned`, async () => {
      const m = net(3);
      await prune(m, { sparsity, granularity });
      for (const [layer, dead] of Object.entries(expected)) {
        const mask = await maskOf(m.at(layer));
        if (dead === null) {
          expect(mask, `${layer} is left alone`).toBeNull();
          continue;
        }
        const shape = m.at(layer).parameter('weight_orig')!.shape;
        expect(deadGroups(mask!, shape, granularity), layer).toBe(dead);
      }
    });
  }

  it('block masks align to the block grid of the 2-D view [out, in·kh·kw]', async () => {
    const m = net(4);
    await prune(m, { sparsity: 0.5, granularity: '4x4' });
    const mask = (await maskOf(m.at('conv')))!;
    const [rows, cols] = view2d([8, 2, 3, 3]);
    for (let br = 0; br < rows; br += 4) {
      for (let bc = 0; bc < cols; bc += 4) {
        const vals = new Set<number>();
        for (let r = br; r < Math.min(br + 4, rows); r++) for (let c = bc; c < Math.min(bc + 4, cols); c++) vals.add(mask[r * cols + c]!);
        expect(vals.size, `block (${br}, ${bc})`).toBe(1);
      }
    }
  });

  it('global structured: one ranking of filters over the layers, exact total', async () => {
    const m = net(5);
    const r = await prune(m, { sparsity: 0.5, granularity: 'filter', scope: 'global', criterion: 'l2', normalize: 'max' });
    expect(r.units).toBe(24); // 8 conv filters + 16 fc neurons; the head is excluded
    expect(r.pruned).toBe(12);
    const conv = deadGroups((await maskOf(m.at('conv')))!, [8, 2, 3, 3], 'filter');
    const fc = deadGroups((await maskOf(m.at('fc')))!, [16, 32], 'filter');
    expect(conv + fc).toBe(12);
  });

  it('masks never revive, lower targets are no-ops, higher ones prune only the difference', async () => {
    const m = net(6);
    await prune(m, { sparsity: 0.5, granularity: '1x4' });
    const first = (await maskOf(m.at('fc')))!;
    const r = await prune(m, { sparsity: 0.3, granularity: '1x4' });
    expect(await maskOf(m.at('fc'))).toEqual(first);
    expect(r.layers.find((l) => l.key === 'fc.weight')!.sparsity).toBe(0.5);
    await prune(m, { sparsity: 0.75, granularity: '1x4' });
    const third = (await maskOf(m.at('fc')))!;
    first.forEach((v, i) => v === 0 && expect(third[i]).toBe(0));
    expect(deadGroups(third, [16, 32], '1x4')).toBe(96);
  });
});

describe('N:M', () => {
  it('2:4 along the input dimension: at most 2 live in every 4; partial groups keep ⌈g·n/m⌉', async () => {
    const m = net(7);
    // Some weights already pruned: the pattern must still hold, nothing revives.
    await prune(m, { sparsity: 0.2 });
    const before = (await maskOf(m.at('fc')))!;
    const r = await prune(m, { granularity: '2:4' });
    for (const name of ['conv', 'fc', 'head']) {
      const mask = (await maskOf(m.at(name)))!;
      const shape = m.at(name).parameter('weight_orig')!.shape;
      const [rows, cols] = view2d(shape);
      for (let row = 0; row < rows; row++) {
        for (let c0 = 0; c0 < cols; c0 += 4) {
          const g = Math.min(4, cols - c0);
          let live = 0;
          for (let c = c0; c < c0 + g; c++) live += mask[row * cols + c]!;
          expect(live, `${name} row ${row} group ${c0}`).toBeLessThanOrEqual(Math.ceil((g * 2) / 4));
        }
      }
    }
    expect(r.granularity).toBe('2:4');
    const fcMask = (await maskOf(m.at('fc')))!;
    before.forEach((v, i) => v === 0 && expect(fcMask[i]).toBe(0));
  });

  it('on fresh weights exactly n of every m survive', async () => {
    const m = net(8);
    await prune(m, { granularity: { nm: [1, 4] }, layers: ['fc'] });
    const mask = (await maskOf(m.at('fc')))!;
    for (let i = 0; i < mask.length; i += 4) expect(mask[i]! + mask[i + 1]! + mask[i + 2]! + mask[i + 3]!).toBe(1);
  });
});

describe('scope options', () => {
  it('perLayer overrides (local and global) and exclusions by name', async () => {
    const m = net(9);
    await prune(m, { sparsity: 0.5, perLayer: { head: 0.9 }, exclude: ['conv'] });
    expect(await maskOf(m.at('conv'))).toBeNull();
    expect(countZeros((await maskOf(m.at('fc')))!)).toBe(256);
    expect(countZeros((await maskOf(m.at('head')))!)).toBe(144);
    const g = net(9);
    const r = await prune(g, { sparsity: 0.5, scope: 'global', perLayer: { head: 0.1 } });
    expect(countZeros((await maskOf(g.at('head')))!)).toBe(16);
    expect(countZeros((await maskOf(g.at('conv')))!) + countZeros((await maskOf(g.at('fc')))!)).toBe(328); // round(0.5 · 656)
    expect(r.layers.length).toBe(3);
  });

  it('structured pruning leaves the head alone by default; excludeHead: false includes it', async () => {
    const m = net(10);
    await prune(m, { sparsity: 0.5, granularity: 'filter', excludeHead: false });
    expect(deadGroups((await maskOf(m.at('head')))!, [10, 16], 'filter')).toBe(5);
  });

  it('global normalisation: none ranks raw scores, max/l2 balance layers of different scale', async () => {
    const setScale = async (m: Sequential) => {
      const w = m.at('fc').parameter('weight')!;
      w.assign(wg.mul(w, 100));
    };
    const a = net(11);
    await setScale(a);
    await prune(a, { sparsity: 0.3, scope: 'global', layers: ['conv', 'fc'] });
    const raw = countZeros((await maskOf(a.at('fc')))!);
    expect(countZeros((await maskOf(a.at('conv')))!)).toBe(197 - raw);
    for (const normalize of ['max', 'l2', 'l1', 'mean'] as const) {
      const b = net(11);
      await setScale(b);
      const r = await prune(b, { sparsity: 0.3, scope: 'global', layers: ['conv', 'fc'], normalize });
      expect(r.pruned).toBe(197); // round(0.3 · 656)
      // Scaled up ×100, fc keeps almost everything under raw ranking; normalised, it takes its share.
      expect(countZeros((await maskOf(b.at('fc')))!), normalize).toBeGreaterThan(raw + 50);
    }
  });
});

describe('criteria', () => {
  const x = () => wg.tensor(Array.from({ length: 3 * 32 }, (_, i) => Math.sin(i * 0.7)), [3, 2, 4, 4]);
  const y = new Int32Array([1, 4, 7]);

  it('random: seeded and exact', async () => {
    const a = net(12);
    const b = net(12);
    await prune(a, { sparsity: 0.4, criterion: 'random', generator: new wg.Generator(5), granularity: 'filter' });
    await prune(b, { sparsity: 0.4, criterion: 'random', generator: new wg.Generator(5), granularity: 'filter' });
    expect(await maskOf(a.at('fc'))).toEqual(await maskOf(b.at('fc')));
    expect(deadGroups((await maskOf(a.at('fc')))!, [16, 32], 'filter')).toBe(6);
  });

  it('gradient magnitude accumulates |w·∇w| over batches; Taylor ranks (Σ w·ḡ)²', async () => {
    const m = net(13);
    const acc = new GradientAccumulator(m);
    const grads: Float32Array[] = [];
    for (let b = 0; b < 2; b++) {
      wg.tidy(() => {
        const loss = wg.crossEntropy(m.forward(wg.mul(x(), b + 1)), y);
        loss.backward();
        acc.observe();
      });
      grads.push(await m.at('fc').parameter('weight')!.grad!.toArray());
      m.zeroGrad();
    }
    const w = await m.at('fc').parameter('weight')!.toArray();
    const target = { moduleName: 'fc', module: m.at('fc'), param: 'weight', key: 'fc.weight', model: m };
    const gm = await acc.gradientMagnitude().elementScores(target);
    gm.forEach((v, i) => expect(v).toBeCloseTo(Math.abs(w[i]! * grads[0]![i]!) + Math.abs(w[i]! * grads[1]![i]!), 6));
    const tay = await acc.taylor().elementScores(target);
    tay.forEach((v, i) => expect(v).toBeCloseTo((w[i]! * (grads[0]![i]! + grads[1]![i]!)) / 2, 6));
    // Filter pruning by Taylor removes the neurons with the smallest (Σ_row w·ḡ)².
    const rowScore = Array.from({ length: 16 }, (_, r) => tay.slice(r * 32, r * 32 + 32).reduce((a, v) => a + v, 0) ** 2);
    const expectedDead = rowScore.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]).slice(0, 4).map(([, i]) => i).sort((a, b) => a - b);
    await prune(m, { sparsity: 0.25, granularity: 'filter', criterion: acc.taylor(), layers: ['fc'] });
    const mask = (await maskOf(m.at('fc')))!;
    const dead = Array.from({ length: 16 }, (_, r) => r).filter((r) => mask[r * 32] === 0);
    expect(dead).toEqual(expectedDead);
    // Through feed(): a dataset of 6 samples in 2 batches.
    const acc2 = new GradientAccumulator(m, { layers: ['conv'] });
    await acc2.feed({ x: await x().toArray().then((a) => Float32Array.from([...a, ...a])), y: new Int32Array([1, 4, 7, 1, 4, 7]), sampleShape: [2, 4, 4], n: 6 }, { batchSize: 3 });
    expect(acc2.batches).toBe(2);
    await prune(m, { sparsity: 0.5, criterion: acc2.gradientMagnitude(), layers: ['conv'] });
    expect(countZeros((await maskOf(m.at('conv')))!)).toBe(72);
    acc.dispose();
    acc2.dispose();
  });

  it('BN-scale prunes the channels with the smallest |γ| and masks bias and BatchNorm too', async () => {
    const m = new Sequential(
      ['conv', new Conv2d(1, 4, 3, { generator: new wg.Generator(1) })], ['bn', new BatchNorm2d(4)], ['relu', new ReLU()], ['flatten', new Flatten()],
      ['head', new Linear(16, 10)],
    );
    m.at('bn').parameter('weight')!.assign(wg.tensor([0.5, -0.1, 2, 0.05]));
    await prune(m, { sparsity: 0.5, granularity: 'filter', criterion: 'bn-scale' });
    const mask = (await maskOf(m.at('conv')))!;
    expect([0, 1, 2, 3].map((c) => mask[c * 9])).toEqual([1, 0, 1, 0]);
    expect(Array.from((await maskOf(m.at('conv'), 'bias'))!)).toEqual([1, 0, 1, 0]);
    expect(Array.from((await maskOf(m.at('bn'), 'weight'))!)).toEqual([1, 0, 1, 0]);
    expect(Array.from((await maskOf(m.at('bn'), 'bias'))!)).toEqual([1, 0, 1, 0]);
    // The pruned channels output exactly zero.
    const out = await wg.noGrad(() => m.eval().at('bn').forward(m.at('conv').forward(wg.ones([1, 1, 4, 4])))).toArray();
    for (const c of [1, 3]) for (let k = 0; k < 4; k++) expect(out[c * 4 + k]).toBe(0);
    await expect(prune(net(1), { sparsity: 0.5, granularity: 'filter', criterion: 'bn-scale' })).rejects.toThrow(/no BatchNorm follows 'conv'/);
  });
});
