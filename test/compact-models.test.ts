/**
 * Structured compaction of the registered models: masked (filter-pruned) vs
 * compacted outputs, every tensor's shape afterwards, the seed's mnist-cnn2
 * parameter count, identity when nothing is pruned, the original left alone,
 * and roundTo. CPU reference backend; one WebGPU check at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, setBackend, shutdown } from '../engine/index.js';
import { countParameters, createModel, loadMnist, MODELS } from '../nn/node.js';
import { compact, compactWithPlan, isPruned, prune, removeAll } from '../pruning/index.js';
import { expectSameOutputs, outputs, randomInput, randomizeBatchNorms, shapes, snapshot } from './helpers/compact.js';

let mnist: Float32Array;

beforeAll(async () => {
  await init({ backend: 'cpu' });
  mnist = (await loadMnist('test', { limit: 16 })).x;
});
afterAll(shutdown);

function inputFor(name: string): { x: Float32Array; shape: number[] } {
  const spec = MODELS.get(name)!;
  if (spec.dataset === 'mnist') return { x: mnist, shape: [16, 1, 28, 28] };
  return { x: randomInput([1, 3, 32, 32]), shape: [1, 3, 32, 32] };
}

describe.each([
  ['lenet5', 'l1', 0.5],
  ['mnist-cnn2', 'l2', 0.5],
  ['lenet300', 'l1', 0.75],
  ['conv4', 'l2', 0.5],
  ['conv4', 'l1', 0.75],
] as const)('%s, %s filter pruning at %s', (name, criterion, sparsity) => {
  it('compacted outputs equal the masked outputs (eval mode) and every tensor shrinks as planned', async () => {
    setBackend('cpu');
    const model = createModel(name, { seed: 3 });
    randomizeBatchNorms(model);
    await prune(model, { granularity: 'filter', criterion, sparsity });
    model.eval();
    const before = await snapshot(model);
    const { model: small, plan } = await compactWithPlan(model, { inputShape: MODELS.get(name)!.inputShape });
    const { x, shape } = inputFor(name);
    expectSameOutputs(await outputs(small, x, shape), await outputs(model, x, shape));
    // Every Conv2d/Linear except the head keeps round((1 − s)·n) outputs; inputs follow the layer before.
    const weights = plan.layers.filter((l) => l.type === 'Conv2d' || l.type === 'Linear');
    weights.forEach((l, i) => {
      const head = i === weights.length - 1;
      expect(l.outAfter, l.name).toBe(head ? l.outBefore : l.outBefore - Math.round(sparsity * l.outBefore));
      if (i > 0) expect(l.inAfter, l.name).toBe((l.inBefore / weights[i - 1]!.outBefore) * weights[i - 1]!.outAfter);
    });
    const got = shapes(small);
    for (const l of plan.layers) {
      if (l.type === 'Conv2d') {
        const k = (got[`${l.name}.weight`] ?? [])[2];
        expect(got[`${l.name}.weight`], l.name).toEqual([l.outAfter, l.inAfter, k, k]);
      } else if (l.type === 'Linear') expect(got[`${l.name}.weight`], l.name).toEqual([l.outAfter, l.inAfter]);
      else for (const p of ['weight', 'bias', 'running_mean', 'running_var']) expect(got[`${l.name}.${p}`], `${l.name}.${p}`).toEqual([l.outAfter]);
      if (got[`${l.name}.bias`] && l.type !== 'BatchNorm2d') expect(got[`${l.name}.bias`]).toEqual([l.outAfter]);
    }
    // Filter pruning leaves whole rows: the compacted model carries no masks, and the original is untouched.
    expect(isPruned(small)).toBe(false);
    expect(await snapshot(model)).toEqual(before);
    expect(countParameters(small)).toBeLessThan(countParameters(model));
  });
});

it('mnist-cnn2 pruned to 6 and 2 filters has the seed\'s 3,052 parameters (6,130 before)', async () => {
  setBackend('cpu');
  const model = createModel('mnist-cnn2', { seed: 1 });
  expect(countParameters(model)).toBe(6130);
  await prune(model, { granularity: 'filter', criterion: 'l1', sparsity: 0, perLayer: { 'features.0': 0.25, 'features.2': 0.5 } });
  const small = await compact(model);
  expect(shapes(small)).toEqual({ 'features.0.weight': [6, 1, 3, 3], 'features.2.weight': [2, 6, 3, 3], 'classifier.0.weight': [10, 288], 'classifier.0.bias': [10] });
  expect(countParameters(small)).toBe(3052);
  model.eval();
  small.eval();
  expectSameOutputs(await outputs(small, mnist, [16, 1, 28, 28]), await outputs(model, mnist, [16, 1, 28, 28]));
});

it('compaction of a model with nothing pruned is the identity', async () => {
  setBackend('cpu');
  for (const name of ['lenet5', 'conv4']) {
    const model = createModel(name, { seed: 5 });
    randomizeBatchNorms(model);
    model.eval();
    const small = await compact(model);
    expect(await snapshot(small)).toEqual(await snapshot(model));
    const { x, shape } = name === 'conv4' ? { x: randomInput([1, 3, 32, 32]), shape: [1, 3, 32, 32] } : inputFor(name);
    expect(await outputs(small, x, shape)).toEqual(await outputs(model, x, shape));
  }
});

it('the compacted model is independent of the original', async () => {
  setBackend('cpu');
  const model = createModel('lenet5', { seed: 2 });
  const small = await compact(model);
  expect(small).not.toBe(model);
  const own = new Set(model.parameters());
  for (const p of small.parameters()) expect(own.has(p)).toBe(false);
  small.eval();
  expect(model.training).toBe(true);
});

it('roundTo keeps channel counts at multiples of r by keeping the strongest pruned filters, outputs unchanged', async () => {
  setBackend('cpu');
  const model = createModel('conv4', { seed: 4 });
  randomizeBatchNorms(model);
  await prune(model, { granularity: 'filter', criterion: 'l1', sparsity: 0.55 });
  model.eval();
  const exact = await compactWithPlan(model);
  const rounded = await compactWithPlan(model, { roundTo: 8 });
  const conv = (p: typeof exact.plan) => p.layers.filter((l) => l.type === 'Conv2d').map((l) => l.outAfter);
  expect(conv(exact.plan)).toEqual([29, 29, 58, 58]);
  expect(conv(rounded.plan)).toEqual([32, 32, 64, 64]);
  const hidden = rounded.plan.layers.filter((l) => l.type === 'Linear').slice(0, 2).map((l) => l.outAfter);
  for (const n of hidden) expect(n % 8).toBe(0);
  expect(rounded.plan.kept).toBeGreaterThan(0);
  // The revived filters of features.0 are its pruned filters with the largest L1 norm of weight_orig.
  const conv0 = model.at('features').child('0')!;
  const orig = await conv0.parameter('weight_orig')!.toArray();
  const mask = await conv0.buffer('weight_mask')!.toArray();
  const l1 = Array.from({ length: 64 }, (_, o) => orig.slice(o * 27, o * 27 + 27).reduce((a, v) => a + Math.abs(v), 0));
  const pruned = l1.map((_, o) => o).filter((o) => mask[o * 27] === 0).sort((a, b) => l1[b]! - l1[a]!);
  const keptRows = rounded.plan.rows.get(conv0)!;
  const revived = keptRows.filter((o) => mask[o * 27] === 0).sort((a, b) => a - b);
  expect(revived).toEqual(pruned.slice(0, 3).sort((a, b) => a - b));
  // Revived filters stay masked in the compacted model, so fine-tuning keeps them at zero.
  expect(isPruned(rounded.model.at('features').child('0')!, 'weight')).toBe(true);
  const x = randomInput([1, 3, 32, 32]);
  const ref = await outputs(model, x, [1, 3, 32, 32]);
  expectSameOutputs(await outputs(rounded.model, x, [1, 3, 32, 32]), ref);
  expectSameOutputs(await outputs(exact.model, x, [1, 3, 32, 32]), ref);
});

it('filters zeroed by hand (no masks) are detected and removed', async () => {
  setBackend('cpu');
  const model = createModel('lenet5', { seed: 6 });
  await prune(model, { granularity: 'filter', criterion: 'l1', sparsity: 0.5 });
  removeAll(model);
  expect(isPruned(model)).toBe(false);
  model.eval();
  const { model: small, plan } = await compactWithPlan(model);
  expect(plan.layers.map((l) => l.outAfter)).toEqual([3, 8, 60, 42, 10]);
  expectSameOutputs(await outputs(small, mnist, [16, 1, 28, 28]), await outputs(model, mnist, [16, 1, 28, 28]));
});

it('on WebGPU: compacted conv4 matches the masked model within 1e-5 relative', async () => {
  await init({ backend: 'webgpu' });
  setBackend('webgpu');
  const model = createModel('conv4', { seed: 8, backend: 'webgpu' });
  randomizeBatchNorms(model);
  await prune(model, { granularity: 'filter', criterion: 'l1', sparsity: 0.5 });
  model.eval();
  const small = await compact(model, { inputShape: [3, 32, 32] });
  expect(small.parameters()[0]!.backend.name).toBe('webgpu');
  const x = randomInput([2, 3, 32, 32]);
  expectSameOutputs(await outputs(small, x, [2, 3, 32, 32]), await outputs(model, x, [2, 3, 32, 32]));
  setBackend('cpu');
});
