/**
 * compact and toSparse say what they did (layers changed / left as they were, a warning when
 * nothing changed), and an inputShape the model cannot take is an InputShapeError naming the
 * expected and given shapes, not an UnsupportedLayerError (CPU backend).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Generator, init, shutdown } from '../engine/index.js';
import { profile } from '../measure/index.js';
import { Conv2d, countParameters, createModel, Linear, type SparseSummary, Sequential, toSparse } from '../nn/index.js';
import { compact, compactWithPlan, type CompactSummary, InputShapeError, prune, UnsupportedLayerError } from '../pruning/index.js';

beforeAll(async () => {
  await init({ backend: 'cpu' });
});
afterAll(shutdown);

/** Runs `fn` with report and warning callbacks, returning what they received. */
async function capture<T extends object, R>(fn: (o: { onReport: (s: T) => void; onWarning: (m: string) => void }) => Promise<R>) {
  const reports: T[] = [];
  const warnings: string[] = [];
  const result = await fn({ onReport: (s) => reports.push(s), onWarning: (m) => warnings.push(m) });
  return { result, reports, warnings };
}

describe('compact reports what it did', () => {
  it('an unpruned model: a same-size copy, with a warning saying nothing was removed', async () => {
    const model = createModel('lenet5', { seed: 1 });
    const { result, reports, warnings } = await capture<CompactSummary, Sequential>((o) => compact(model, { inputShape: [1, 28, 28], ...o }));
    expect(countParameters(result)).toBe(countParameters(model));
    expect(reports).toHaveLength(1);
    expect(reports[0]!.changed).toEqual([]);
    expect(reports[0]!.unchanged.map((l) => l.name)).toEqual(['features.0', 'features.3', 'classifier.0', 'classifier.3', 'classifier.6']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/compact: nothing removed: no filter or neuron is entirely pruned .*5 layers left as they were — the result is a same-size copy/);
  });

  it('unstructured pruning leaves nothing to remove either: the warning says which pruning compaction needs', async () => {
    const model = createModel('lenet5', { seed: 2 });
    await prune(model, { criterion: 'l1', granularity: 'weight', sparsity: 0.7 });
    const { warnings } = await capture<CompactSummary, Sequential>((o) => compact(model, o));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/filter, channel or row granularity/);
  });

  it('filter pruning: the summary lists the layers changed and those left as they were; no warning', async () => {
    const model = createModel('lenet5', { seed: 3 });
    await prune(model, { criterion: 'l1', granularity: 'filter', sparsity: 0.5 });
    const { result, reports, warnings } = await capture<CompactSummary, Sequential>((o) => compact(model, { inputShape: [1, 28, 28], ...o }));
    expect(warnings).toEqual([]);
    const summary = reports[0]!;
    expect(summary.changed.find((l) => l.name === 'features.0')).toMatchObject({ type: 'Conv2d', outBefore: 6, outAfter: 3, inBefore: 1, inAfter: 1 });
    expect(summary.changed.find((l) => l.name === 'features.3')).toMatchObject({ inBefore: 6, inAfter: 3, outBefore: 16, outAfter: 8 });
    expect(summary.changed.length + summary.unchanged.length).toBe(5);
    expect(summary.removedGroups).toBeGreaterThan(0);
    expect(summary.text).toMatch(/^compact: \d of 5 layers changed \(features\.0 Conv2d out 6→3; features\.3 Conv2d out 16→8, in 6→3; .*\), \d left as they were; \d+ filters\/neurons removed/);
    expect(countParameters(result)).toBeLessThan(countParameters(model));
    // compactWithPlan carries the same summary on its plan.
    expect((await compactWithPlan(model, { inputShape: [1, 28, 28] })).plan.summary).toEqual(summary);
  });
});

describe('a wrong inputShape is an InputShapeError, not an UnsupportedLayerError', () => {
  const cases: Array<[string, number[], RegExp]> = [
    ['too many channels', [3, 32, 32], /inputShape \[3, 32, 32\] does not fit the model, which takes \[1, 28, 28\]; at layer 'features\.0' \(Conv2d\): expects 1 input channels, gets 3/],
    ['the wrong size', [1, 32, 32], /inputShape \[1, 32, 32\] does not fit the model, which takes \[1, 28, 28\]; at layer 'classifier\.0' \(Linear\): expects 400 input features, gets 576/],
    ['flat features for a CNN', [784], /inputShape \[784\] does not fit the model, which takes \[1, 28, 28\]; at layer 'features\.0' \(Conv2d\)/],
  ];
  it.each(cases)('compact on LeNet-5 with %s', async (_, given, message) => {
    const model = createModel('lenet5', { seed: 4 });
    const err = await compact(model, { inputShape: given, onWarning: () => undefined }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(InputShapeError);
    expect(err).not.toBeInstanceOf(UnsupportedLayerError);
    expect(err as InputShapeError).toMatchObject({ given, expected: [1, 28, 28] });
    expect((err as Error).message).toMatch(message);
  });

  it('profile refuses it the same way; an MLP names its feature count', async () => {
    await expect(profile(createModel('lenet5', { seed: 5 }), [3, 32, 32])).rejects.toThrow(InputShapeError);
    const err = await profile(createModel('lenet300', { seed: 5 }), [3, 28, 28]).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(InputShapeError);
    expect((err as InputShapeError).expected).toEqual([784]);
  });

  it('a layer that is really unsupported stays an UnsupportedLayerError with an inputShape', async () => {
    const g = new Generator(6);
    const model = new Sequential(['conv', new Conv2d(1, 4, 3, { generator: g })], ['fc', new Linear(16, 2, { generator: g })]);
    const err = await compact(model, { inputShape: [1, 4, 4], onWarning: () => undefined }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedLayerError);
    expect((err as Error).message).toMatch(/unsupported layer 'fc' \(Linear\).*Flatten/);
  });
});

describe('toSparse reports what it did', () => {
  it('an unpruned model: density 1 everywhere, with a warning', async () => {
    const model = createModel('lenet300', { seed: 7 });
    const { result, reports, warnings } = await capture<SparseSummary, unknown>((o) => toSparse(model, { format: 'csr', ...o }));
    expect(reports[0]!.converted.map((c) => [c.name, c.choice, c.density])).toEqual([
      ['model.classifier.0', 'csr', 1], ['model.classifier.2', 'csr', 1], ['model.classifier.4', 'csr', 1],
    ]);
    expect(reports[0]!.unchanged).toEqual(['model.flatten', 'model.classifier.1', 'model.classifier.3']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/no weight of the 3 converted layers is zero \(density 1: the model is not pruned\).*prune first/);
    (result as Sequential).dispose();
  });

  it('a pruned model: the densities on the summary and the choices, no warning (csr and auto)', async () => {
    const model = createModel('lenet300', { seed: 8 });
    await prune(model, { criterion: 'l1', granularity: 'weight', sparsity: 0.75 });
    const csr = await capture<SparseSummary, unknown>((o) => toSparse(model, { format: 'csr', ...o }));
    expect(csr.warnings).toEqual([]);
    for (const c of csr.reports[0]!.converted) expect(c.density).toBeCloseTo(0.25, 3);
    expect(csr.reports[0]!.text).toBe('toSparse: 3 layers converted (csr; weight density 0.25–0.25), 3 left as they were');
    expect((csr.result as { choices: Array<{ density?: number }> }).choices.map((c) => c.density!.toFixed(3))).toEqual(['0.250', '0.250', '0.250']);
    (csr.result as Sequential).dispose();
    const auto = await capture<SparseSummary, unknown>((o) => toSparse(model, { format: 'auto', batch: 4, reps: 1, blocks: [[4, 4]], ...o }));
    expect(auto.warnings).toEqual([]);
    for (const c of auto.reports[0]!.converted) expect(c.density).toBeCloseTo(0.25, 3);
    (auto.result as Sequential).dispose();
  });
});
