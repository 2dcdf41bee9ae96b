/**
 * Property tests (fast-check) of the sparse kernels and of compaction:
 *
 * - CSR and BSR SpMM on random sizes, densities and sparsity patterns (empty rows, one long
 *   row, all zero, all full, block structure), every BSR block shape, batch 1 (SpMV) and more,
 *   with random schedules (texture or storage operands, row segments split, batch tiles, workgroup sizes)
 *   against the float64 dense product; the CPU backend's sparse matmul against it too; and no
 *   device memory left behind.
 * - Sparse convolution (CSR/BSR filters) on random geometries and densities through each
 *   kernel (shifted copies with every row tile, row-quad texture, storage) against the float64
 *   dense convolution.
 * - Compaction: random filter/neuron masks on a small conv net (BatchNorm, pooling, Flatten →
 *   Linear) → compact → the compacted model's outputs equal the masked model's on WebGPU, and
 *   each layer keeps exactly the unmasked channels (at least one; rounded up with roundTo).
 *
 * Seeds, replay and FC_RUNS: test/helpers/property.ts.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { BLOCK_SHAPES, BsrMatrix, CsrMatrix, getBackend, memoryStats, setBackend, type BlockShape } from '../index.js';
import type { Conv2dGeometry } from '../engine/backend.js';
import * as cpuConv from '../engine/cpu/conv.js';
import type { WebGpuBackend } from '../engine/webgpu/backend.js';
import type { GpuRuntime } from '../gpu/runtime.js';
import { bsrSpmmWith, uploadBsr } from '../kernels/sparse/bsr-spmm.js';
import { bsrBatchTile, bsrSpmmProblem, bsrTexturesFit } from '../kernels/sparse/bsr-plan.js';
import { csrSpmmWith, uploadCsr } from '../kernels/sparse/csr-spmm.js';
import { csrDefaultLayout, csrSpmmProblem, type CsrSpmmPlan, csrTexturesFit, planCsrSpmm } from '../kernels/sparse/csr-plan.js';
import { sparseConvWith } from '../kernels/sparse/sparse-conv.js';
import { planSparseConv, shiftedRowTile, sparseConvCandidates, sparseConvProblem } from '../kernels/sparse/conv-plan.js';
import { BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, type Module, ReLU, Sequential } from '../nn/index.js';
import { compactWithPlan } from '../pruning/index.js';
import { Generator } from '../engine/index.js';
import { expectClose, initBoth, shutdown } from './helpers/backends.js';
import { expectSameOutputs, maskGroups, outputs, randomInput, randomizeBatchNorms } from './helpers/compact.js';
import { itProperty, maxAbs, seedArb } from './helpers/property.js';
import { denseLinear, type Pattern, randomDense, randomSparse } from './helpers/sparse.js';

let rt: GpuRuntime;
beforeAll(async () => {
  await initBoth();
  rt = (getBackend('webgpu') as WebGpuBackend).rt;
});
afterAll(shutdown);

const dim = (min: number, max: number) => fc.integer({ min, max });
const patternArb = fc.constantFrom<Pattern>('random', 'random', 'empty-rows', 'long-row', 'zero', 'full', 'blocks');
const densityArb = fc.constantFrom(0.01, 0.05, 0.1, 0.3, 0.5, 0.8, 1);
const scaled = (want: ArrayLike<number>) => ({ rtol: 1e-4, atol: 1e-5 * Math.max(1, maxAbs(want)) });

// ---------------------------------------------------------------------------
// SpMM

interface MatrixCase { rows: number; cols: number; density: number; pattern: Pattern; batch: number; bias: boolean; seed: number }
const matrixArb: fc.Arbitrary<MatrixCase> = fc.record({ rows: dim(1, 80), cols: dim(1, 320), density: densityArb, pattern: patternArb, batch: fc.oneof(fc.constant(1), dim(2, 70)), bias: fc.boolean(), seed: seedArb });

/** y = A·x (+ bias) for the case's matrix on the CPU backend (its sparse matmul) and through `gpu`, against the float64 dense product. */
async function checkSpmm(c: MatrixCase, m: CsrMatrix | BsrMatrix, gpu: (x: ReturnType<GpuRuntime['upload']>, bias: ReturnType<GpuRuntime['upload']> | null) => ReturnType<GpuRuntime['alloc']>, a: Float32Array, label: string): Promise<void> {
  const x = randomDense(c.batch * c.cols, c.seed + 1);
  const bias = c.bias ? randomDense(c.rows, c.seed + 2) : undefined;
  const want = denseLinear(a, c.rows, c.cols, x, c.batch, bias);
  const cpu = getBackend('cpu');
  const [cw, cx, cb] = [cpu.uploadSparse(m), cpu.upload(x), bias ? cpu.upload(bias) : null];
  const cy = cpu.sparseMatmul(cw, cx, cb, c.batch);
  expectClose(await cpu.read(cy), want, scaled(want), `${label} on the CPU backend`);
  for (const s of [cx, cy, ...(cb ? [cb] : [])]) cpu.release(s);
  cpu.releaseSparse(cw);

  const gx = rt.upload(x), gb = bias ? rt.upload(bias) : null;
  const y = gpu(gx, gb);
  expectClose(await rt.read(y), want, scaled(want), `${label} on WebGPU`);
  for (const s of [gx, y, ...(gb ? [gb] : [])]) rt.release(s);
}

describe('CSR and BSR SpMM', () => {
  itProperty(
    'CSR SpMM with random schedules', 'random matrices and patterns, texture or storage operands, long rows split into segments, every batch tile',
    () => fc.record({ c: matrixArb, textures: fc.boolean(), maxSegment: fc.option(dim(1, 48)), sort: fc.boolean(), tb: fc.option(fc.constantFrom(1, 2, 4, 8)), threads: fc.constantFrom(64, 256), vector: fc.boolean() }),
    async ({ c, textures, maxSegment, sort, tb, threads, vector }, note) => {
      note(c.pattern);
      note(c.batch > 1 ? 'SpMM' : vector ? 'SpMV, 32 invocations a segment' : 'SpMV');
      if (maxSegment !== null) note('rows split in segments');
      const a = randomSparse(c.rows, c.cols, c.density, c.pattern, c.seed);
      const m = CsrMatrix.fromDense(a, c.rows, c.cols);
      const problem = csrSpmmProblem(m, c.batch);
      const planned = planCsrSpmm(problem, rt.settings).plan;
      const plan: CsrSpmmPlan = {
        kernel: c.batch > 1 ? 'spmm' : vector ? 'spmv-vector' : 'spmv',
        operands: c.batch > 1 && textures && csrTexturesFit(problem, rt.settings.limits.maxTextureDimension2D) ? 'texture' : 'buffer',
        layout: { sort, maxSegment: maxSegment ?? csrDefaultLayout(problem).maxSegment },
        tb: c.batch === 1 ? 1 : (tb ?? planned.tb),
        threads,
      };
      await rt.sync();
      const before = memoryStats('webgpu').inUseBytes;
      const w = uploadCsr(rt, m, plan);
      note(plan.operands === 'texture' ? 'texture operands' : 'storage operands');
      await checkSpmm(c, m, (x, b) => csrSpmmWith(rt, plan, w, x, b, c.batch), a, `CSR ${c.rows}x${c.cols} ${c.pattern} d=${c.density} batch ${c.batch} ${JSON.stringify(plan)}`);
      w.release();
      await rt.sync();
      expect(memoryStats('webgpu').inUseBytes, 'device memory after release').toBe(before);
    },
    { numRuns: 10 },
  );

  itProperty(
    'BSR SpMM with random blocks and schedules', 'every block shape, sizes that are not multiples of the block (padding), texture or storage operands, batch tiles',
    () => fc.record({ c: matrixArb, block: fc.constantFrom(...BLOCK_SHAPES), textures: fc.boolean(), tb: fc.option(fc.constantFrom(1, 2, 4)), threads: fc.constantFrom(64, 256) }),
    async ({ c, block, textures, tb, threads }, note) => {
      note(`${block[0]}x${block[1]}`);
      note(c.pattern);
      if (c.rows % block[0] || c.cols % block[1]) note('padded');
      const a = randomSparse(c.rows, c.cols, c.density, c.pattern, c.seed);
      const m = BsrMatrix.fromDense(a, c.rows, c.cols, block as BlockShape);
      await rt.sync();
      const before = memoryStats('webgpu').inUseBytes;
      const tex = textures && bsrTexturesFit(bsrSpmmProblem(m, c.batch), rt.settings.limits.maxTextureDimension2D);
      const plan = { operands: tex ? 'texture' as const : 'buffer' as const, tb: tb ?? bsrBatchTile(block[0], Math.ceil(c.batch / 4)), threads };
      const w = uploadBsr(rt, m, plan);
      await checkSpmm(c, m, (x, b) => bsrSpmmWith(rt, plan, w, x, b, c.batch), a, `BSR ${block.join('x')} ${c.rows}x${c.cols} ${c.pattern} d=${c.density} batch ${c.batch} ${JSON.stringify(plan)}`);
      w.release();
      await rt.sync();
      expect(memoryStats('webgpu').inUseBytes, 'device memory after release').toBe(before);
    },
    { numRuns: 12 },
  );
});

// ---------------------------------------------------------------------------
// Sparse convolution

const outSize = (size: number, k: number, s: number, p: number, d: number) => Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;
const sparseConvArb = fc.record({
  n: dim(1, 2), c: dim(1, 5), h: dim(3, 12), w: dim(3, 13), oc: dim(1, 17), kh: dim(1, 3), kw: dim(1, 3),
  s: dim(1, 2), p: dim(0, 2), d: dim(1, 2), density: densityArb, pattern: patternArb,
  format: fc.constantFrom<'csr' | BlockShape>('csr', 'csr', ...BLOCK_SHAPES),
  path: fc.constantFrom('auto', 'shifted', 'quad', 'storage') as fc.Arbitrary<'auto' | 'shifted' | 'quad' | 'storage'>,
  rowTile: fc.option(dim(1, 4)), bias: fc.boolean(), seed: seedArb,
}).filter((k) => outSize(k.h, k.kh, k.s, k.p, k.d) >= 1 && outSize(k.w, k.kw, k.s, k.p, k.d) >= 1);

describe('sparse convolution', () => {
  itProperty('sparse conv2d kernels', 'CSR and BSR filters on random geometries through the shifted-copies (every row tile), row-quad and storage kernels', () => sparseConvArb, async (k, note) => {
    const g: Conv2dGeometry = {
      n: k.n, c: k.c, h: k.h, w: k.w, oc: k.oc, kh: k.kh, kw: k.kw, sh: k.s, sw: k.s, ph: k.p, pw: k.p, dh: k.d, dw: k.d,
      oh: outSize(k.h, k.kh, k.s, k.p, k.d), ow: outSize(k.w, k.kw, k.s, k.p, k.d),
    };
    const cols = k.c * k.kh * k.kw;
    note(k.format === 'csr' ? 'csr' : `bsr ${k.format.join('x')}`);
    const wd = randomSparse(k.oc, cols, k.density, k.pattern, k.seed);
    const xd = randomDense(k.n * k.c * k.h * k.w, k.seed + 1);
    const bd = k.bias ? randomDense(k.oc, k.seed + 2) : null;
    const want = cpuConv.conv2d(Float64Array.from(xd), Float64Array.from(wd), bd ? Float64Array.from(bd) : null, g);
    const m = k.format === 'csr' ? CsrMatrix.fromDense(wd, k.oc, cols) : BsrMatrix.fromDense(wd, k.oc, cols, k.format);
    // The path asked for where it applies ('shifted' with the row tile asked for, or the planned one), else the device's plan.
    const problem = sparseConvProblem(m, g);
    const candidates = sparseConvCandidates(problem, rt.settings);
    const wanted = k.path === 'shifted' ? `shifted-r${k.rowTile ?? shiftedRowTile(problem.block[0])}` : k.path;
    const chosen = candidates.find((c) => c.variant === wanted) ?? (k.path === 'quad' ? candidates.find((c) => c.variant === 'storage')! : planSparseConv(problem, rt.settings));
    note(chosen.variant);
    await rt.sync();
    const before = memoryStats('webgpu').inUseBytes;
    const w = m.format === 'csr' ? uploadCsr(rt, m) : uploadBsr(rt, m);
    const x = rt.upload(xd), b = bd ? rt.upload(bd) : null;
    const y = sparseConvWith(rt, chosen.plan, w, x, b, g);
    expectClose(await rt.read(y), want, scaled(want), JSON.stringify(k));
    for (const s of [x, y, ...(b ? [b] : [])]) rt.release(s);
    w.release();
    await rt.sync();
    expect(memoryStats('webgpu').inUseBytes, 'device memory after release').toBe(before);
  }, { numRuns: 14 });
});

// ---------------------------------------------------------------------------
// Compaction

/** conv(3→c1) [BN] ReLU [pool] → conv(c1→c2) [BN] ReLU → Flatten → fc(→f) ReLU → head(→10); input [3, 8, 8]. */
function net(a: { c1: number; c2: number; f: number; bn: boolean; pool: boolean; seed: number }): Sequential {
  const g = new Generator(a.seed);
  const s = a.pool ? 4 : 8;
  const layers: Array<[string, Module]> = [
    ['conv1', new Conv2d(3, a.c1, 3, { padding: 1, generator: g })], ...(a.bn ? [['bn1', new BatchNorm2d(a.c1)] as [string, Module]] : []), ['relu1', new ReLU()],
    ...(a.pool ? [['pool', new MaxPool2d(2)] as [string, Module]] : []),
    ['conv2', new Conv2d(a.c1, a.c2, 3, { padding: 1, generator: g })], ...(a.bn ? [['bn2', new BatchNorm2d(a.c2)] as [string, Module]] : []), ['relu2', new ReLU()],
    ['flatten', new Flatten()], ['fc', new Linear(a.c2 * s * s, a.f, { generator: g })], ['relu3', new ReLU()], ['head', new Linear(a.f, 10, { generator: g })],
  ];
  return new Sequential(...layers);
}


/** Channels to mask: mostly some (never all), sometimes every one (compaction then keeps one). */
const subsetOf = (n: number) => {
  const all = [...Array(n).keys()];
  return fc.oneof({ weight: 4, arbitrary: fc.subarray(all, { maxLength: n - 1 }) }, { weight: 1, arbitrary: fc.constant(all) });
};
const netArb = fc.record({ c1: dim(2, 12), c2: dim(2, 12), f: dim(2, 20), bn: fc.boolean(), pool: fc.boolean(), seed: seedArb })
  .chain((a) => fc.record({ a: fc.constant(a), m1: subsetOf(a.c1), m2: subsetOf(a.c2), m3: subsetOf(a.f), roundTo: fc.constantFrom(1, 1, 4), train: fc.boolean() }));

describe('compaction', () => {
  itProperty('compaction of random filter masks', 'the compacted model gives the masked model\'s outputs on WebGPU and keeps exactly the unmasked channels', () => netArb, async ({ a, m1, m2, m3, roundTo, train }, note) => {
    setBackend('webgpu');
    const model = net(a);
    if (a.bn) randomizeBatchNorms(model, a.seed);
    await maskGroups(model, [3, 8, 8], 'conv1', m1);
    await maskGroups(model, [3, 8, 8], 'conv2', m2);
    await maskGroups(model, [3, 8, 8], 'fc', m3);
    const pruned = m1.length + m2.length + m3.length;
    note(pruned === 0 ? 'nothing masked' : [m1.length === a.c1, m2.length === a.c2, m3.length === a.f].some(Boolean) ? 'a whole layer masked' : 'some channels masked');
    note(`roundTo ${roundTo}`);
    note(train ? 'train mode' : 'eval mode');
    const { model: small, plan } = await compactWithPlan(model, { inputShape: [3, 8, 8], roundTo });
    // Each layer keeps its unmasked outputs, at least one, rounded up to a multiple of roundTo (never more than it had).
    const expected = (n: number, masked: number) => Math.min(n, Math.ceil(Math.max(1, n - masked) / roundTo) * roundTo);
    const after = Object.fromEntries(plan.layers.map((l) => [l.name, l.outAfter]));
    expect(after, JSON.stringify({ m1, m2, m3 })).toMatchObject({ conv1: expected(a.c1, m1.length), conv2: expected(a.c2, m2.length), fc: expected(a.f, m3.length), head: 10 });
    for (const mod of [model, small]) train ? mod.train() : mod.eval();
    const x = randomInput([4, 3, 8, 8], a.seed);
    expectSameOutputs(await outputs(small, x, [4, 3, 8, 8]), await outputs(model, x, [4, 3, 8, 8]), 1e-4, 'compacted vs masked');
    model.dispose();
    small.dispose();
  }, { numRuns: 10 });
});
