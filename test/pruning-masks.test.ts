/**
 * The masked re-parametrisation (torch.nn.utils.prune semantics) on the CPU
 * reference: weight_orig / weight_mask keys, identity of the trainable tensor,
 * accumulation (masks never revive), remove(), custom masks, and bad input —
 * each a clear error that leaves the model unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../index.js';
import { Conv2d, Linear, type Module, Sequential, ReLU } from '../nn/index.js';
import {
  customFromMask, getMask, globalUnstructured, identity, isPruned, l1Unstructured, lnStructured, prune, randomStructured,
  randomUnstructured, remove, removeAll,
} from '../pruning/index.js';

beforeAll(async () => {
  await wg.init({ backend: 'cpu' });
});
afterAll(() => wg.shutdown());

/** A Linear(in, out) with distinct weights 1…n scaled and sign-alternated. */
function linear(out: number, inF: number, seed = 1): Linear {
  const m = new Linear(inF, out);
  const g = new wg.Generator(seed);
  const n = out * inF;
  const perm = Array.from({ length: n }, (_, i) => i + 1).sort(() => g.uniform() - 0.5);
  m.parameter('weight')!.assign(wg.tensor(perm.map((v, i) => (i % 2 ? -v : v) / n), [out, inF]));
  return m;
}

async function zeros(t: wg.Tensor): Promise<number> {
  return (await t.toArray()).reduce((a, v) => a + (v === 0 ? 1 : 0), 0);
}

/** Everything observable about a module's state, for "unchanged" checks. */
async function snapshot(m: Module): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [k, t] of m.stateDict()) out[k] = Array.from(await t.toArray());
  return out;
}

describe('re-parametrisation', () => {
  it('moves weight to weight_orig (same tensor), adds weight_mask, forward uses orig × mask', async () => {
    const m = linear(4, 5);
    const w = m.parameter('weight')!;
    const before = Array.from(await w.toArray());
    await l1Unstructured(m, 'weight', 0.5);
    expect(m.parameter('weight')).toBeUndefined();
    expect(m.parameter('weight_orig')).toBe(w);
    expect([...m.stateDict().keys()]).toEqual(['bias', 'weight_orig', 'weight_mask']);
    expect([...m.namedParameters()].map(([k]) => k)).toEqual(['bias', 'weight_orig']);
    expect(isPruned(m)).toBe(true);
    expect(isPruned(m, 'weight')).toBe(true);
    expect(isPruned(m, 'bias')).toBe(false);
    const mask = Array.from(await getMask(m, 'weight')!.toArray());
    expect(mask.filter((v) => v === 0).length).toBe(10);
    // orig keeps its values; the effective weight is orig × mask.
    expect(Array.from(await w.toArray())).toEqual(before);
    const eff = Array.from(await m.weight.toArray(), (v) => v + 0);
    expect(eff).toEqual(before.map((v, i) => (mask[i] ? v : 0)));
    // The 10 smallest |w| are the ones pruned.
    const order = before.map((v, i) => [Math.abs(v), i] as const).sort((a, b) => a[0] - b[0]);
    for (const [, i] of order.slice(0, 10)) expect(mask[i]).toBe(0);
    for (const [, i] of order.slice(10)) expect(mask[i]).toBe(1);
  });

  it('gradients reach only live weights', async () => {
    const m = linear(3, 4);
    await randomUnstructured(m, 'weight', 0.5, { generator: new wg.Generator(3) });
    const y = m.forward(wg.tensor(Array.from({ length: 8 }, (_, i) => i + 1), [2, 4]));
    y.sum().backward();
    const g = await m.parameter('weight_orig')!.grad!.toArray();
    const mask = await getMask(m, 'weight')!.toArray();
    mask.forEach((v, i) => {
      if (v === 0) expect(g[i]).toBe(0);
      else expect(g[i]).not.toBe(0);
    });
  });

  it('masks accumulate: a second 50% prune removes half of what is alive; nothing revives', async () => {
    const m = linear(8, 10);
    await l1Unstructured(m, 'weight', 0.5);
    const first = await getMask(m, 'weight')!.toArray();
    // Make the dead weights' orig values huge: they must still not come back.
    const w = m.parameter('weight_orig')!;
    const vals = await w.toArray();
    w.assign(wg.tensor(vals.map((v, i) => (first[i] ? v : 100)), w.shape));
    await l1Unstructured(m, 'weight', 0.5);
    const second = await getMask(m, 'weight')!.toArray();
    expect(await zeros(getMask(m, 'weight')!)).toBe(60);
    second.forEach((v, i) => {
      if (first[i] === 0) expect(v).toBe(0);
    });
    await randomUnstructured(m, 'weight', { count: 5 });
    await lnStructured(m, 'weight', 1, 2, 0);
    await randomStructured(m, 'weight', 0.25, 1);
    await prune(m, { sparsity: 0.9, layers: [''] });
    const last = await getMask(m, 'weight')!.toArray();
    second.forEach((v, i) => {
      if (v === 0) expect(last[i]).toBe(0);
    });
  });

  it('remove() makes pruning permanent and keeps the values; the tensor object survives', async () => {
    const m = linear(4, 6);
    const w = m.parameter('weight')!;
    await l1Unstructured(m, 'weight', 0.25);
    const eff = Array.from(await m.weight.toArray());
    remove(m, 'weight');
    expect(isPruned(m)).toBe(false);
    expect(m.parameter('weight')).toBe(w);
    expect(m.parameter('weight_orig')).toBeUndefined();
    expect(m.buffer('weight_mask')).toBeUndefined();
    expect(m.hasParamOverride('weight')).toBe(false);
    expect([...m.stateDict().keys()]).toEqual(['bias', 'weight']);
    expect(Array.from(await m.weight.toArray())).toEqual(eff);
    expect(() => remove(m, 'weight')).toThrow(/has to be pruned before/);
  });

  it('removeAll, customFromMask (combined with the existing mask) and identity', async () => {
    const net = new Sequential(new Linear(3, 4), new ReLU(), new Conv2d(1, 2, 2));
    await identity(net.at(0), 'weight');
    expect(isPruned(net.at(0), 'weight')).toBe(true);
    expect(await zeros(getMask(net.at(0), 'weight')!)).toBe(0);
    await customFromMask(net.at(0), 'weight', [1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1]);
    await customFromMask(net.at(0), 'weight', wg.tensor([1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1], [4, 3]));
    expect(Array.from(await getMask(net.at(0), 'weight')!.toArray())).toEqual([1, 0, 1, 1, 1, 1, 0, 1, 1, 0, 1, 1]);
    await l1Unstructured(net.at(2), 'bias', 1);
    expect([...net.stateDict().keys()]).toEqual(['0.bias', '0.weight_orig', '0.weight_mask', '2.weight', '2.bias_orig', '2.bias_mask']);
    removeAll(net);
    expect(isPruned(net)).toBe(false);
    expect([...net.stateDict().keys()]).toEqual(['0.bias', '0.weight', '2.weight', '2.bias']);
  });

  it('getMask is null for an unpruned parameter', () => {
    expect(getMask(linear(2, 2), 'weight')).toBeNull();
  });
});

describe('bad input: a clear error, the model unchanged', () => {
  const cases: Array<[string, (m: Linear) => Promise<unknown>, RegExp]> = [
    ['amount < 0 (fraction)', (m) => l1Unstructured(m, 'weight', -0.1), /amount=-0.1 should either be a fraction in the range \[0, 1\] or a non-negative integer/],
    ['amount < 0 (count)', (m) => l1Unstructured(m, 'weight', -3), /amount=-3/],
    ['amount > 1', (m) => l1Unstructured(m, 'weight', 1.5), /amount=1.5/],
    ['NaN amount', (m) => l1Unstructured(m, 'weight', NaN), /real number/],
    ['integer above the parameter count', (m) => l1Unstructured(m, 'weight', 31), /amount=31 should be smaller than the number of parameters to prune=30/],
    ['integer above the live count', (m) => l1Unstructured(m, 'weight', 11), /amount=11 should be smaller than the number of parameters to prune=10/],
    ['unknown parameter name', (m) => l1Unstructured(m, 'wieght', 0.5), /Linear has no parameter 'wieght' \(has weight, bias\)/],
    ['unknown parameter (random)', (m) => randomUnstructured(m, 'nope', 0.5), /no parameter 'nope'/],
    ['structured on a dim that does not exist', (m) => lnStructured(m, 'weight', 0.5, 1, 2), /invalid dim 2 for a parameter of shape \[6, 5\]/],
    ['structured on dim -3', (m) => randomStructured(m, 'weight', 0.5, -3), /invalid dim -3/],
    ['structured on a 1-D parameter', (m) => lnStructured(m, 'bias', 0.5, 2, 0), /multidimensional/],
    ['structured count above the slices', (m) => lnStructured(m, 'weight', 7, 2, 0), /amount=7 should be smaller than the number of parameters to prune=6/],
    ['mask of the wrong size', (m) => customFromMask(m, 'weight', [1, 0]), /2 entries, the parameter has 30/],
    ['global with a count above the total', (m) => globalUnstructured([[m, 'weight'], [m, 'bias']], { amount: 37 }), /amount=37/],
    ['global with a structured method', (m) => globalUnstructured([[m, 'weight']], { amount: 0.5, method: lnStructured as never }), /only unstructured/],
    ['global with an unknown parameter', (m) => globalUnstructured([[m, 'weight'], [m, 'gamma']], { amount: 0.5 }), /no parameter 'gamma'/],
    ['prune(): sparsity > 1', (m) => prune(m, { sparsity: 1.2, layers: [''] }), /sparsity must be a fraction in \[0, 1\]/],
    ['prune(): unknown layer', (m) => prune(m, { sparsity: 0.5, layers: ['fc9'] }), /no module 'fc9'/],
    ['prune(): kernel granularity on a Linear', (m) => prune(m, { sparsity: 0.5, layers: [''], granularity: 'kernel' }), /needs a conv weight/],
    ['prune(): unknown granularity', (m) => prune(m, { sparsity: 0.5, layers: [''], granularity: 'blob' }), /unknown granularity 'blob'/],
    ['prune(): N:M with global scope', (m) => prune(m, { layers: [''], granularity: '2:4', scope: 'global' }), /no global scope/],
    ['prune(): unknown criterion', (m) => prune(m, { sparsity: 0.5, layers: [''], criterion: 'l0.5x' }), /unknown criterion/],
  ];
  for (const [name, call, message] of cases) {
    it(name, async () => {
      const m = linear(6, 5);
      // The 'live count' case errs on its second call: compare with the state after the first.
      if (name === 'integer above the live count') await l1Unstructured(m, 'weight', 20);
      const before = await snapshot(m);
      const keys = [...m.stateDict().keys()];
      await expect(name === 'integer above the live count' ? l1Unstructured(m, 'weight', 11) : call(m)).rejects.toThrow(message);
      expect([...m.stateDict().keys()]).toEqual(keys);
      expect(await snapshot(m)).toEqual(before);
    });
  }
});
