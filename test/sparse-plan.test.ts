/**
 * Planners of the sparse kernel families (spmm-csr, spmm-bsr, sparse-conv): the llvmpipe rules
 * give the choices measured on llvmpipe, the gpu rules never read textures and keep 64-256
 * invocations a workgroup, forcing picks or names the candidates; and every candidate either
 * profile can produce runs on this device against the CPU reference.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BsrMatrix, CsrMatrix, getBackend, memoryStats, noGrad, settingsFor, setBackend, tensor, type BlockShape, type KernelSettings, type PlanRecord } from '../index.js';
import { Linear, ReLU, Sequential, SparseLinear, type SparseSequential, toSparse } from '../nn/index.js';
import type { Conv2dGeometry } from '../engine/backend.js';
import * as cpuConv from '../engine/cpu/conv.js';
import type { WebGpuBackend } from '../engine/webgpu/backend.js';
import type { GpuRuntime } from '../gpu/runtime.js';
import { UnknownVariantError } from '../kernels/choose.js';
import { bsrSpmmCandidates, bsrSpmmProblem, bsrSpmmProblemKey, type BsrSpmmProblem, planBsrSpmm } from '../kernels/sparse/bsr-plan.js';
import { bsrMatmul, bsrSpmmWith, uploadBsr } from '../kernels/sparse/bsr-spmm.js';
import { planSparseConv, sparseConvCandidates, sparseConvProblem, sparseConvProblemKey, type SparseConvProblem } from '../kernels/sparse/conv-plan.js';
import { sparseVariants } from '../kernels/sparse/candidates.js';
import { csrSpmmCandidates, csrSpmmProblem, csrSpmmProblemKey, type CsrSpmmProblem, planCsrSpmm } from '../kernels/sparse/csr-plan.js';
import { csrMatmul, csrSpmmWith, uploadCsr } from '../kernels/sparse/csr-spmm.js';
import { sparseConv2d, sparseConvWith } from '../kernels/sparse/sparse-conv.js';
import { expectClose, initBoth, shutdown } from './helpers/backends.js';
import { maxAbs } from './helpers/property.js';
import { denseLinear, randomDense, randomSparse } from './helpers/sparse.js';

const llvmpipe = settingsFor('llvmpipe');
const gpu = settingsFor('gpu');
const forcing = (s: KernelSettings, forced: KernelSettings['forced']): KernelSettings => ({ ...s, forced });

// ---------------------------------------------------------------------------
// The problem table (statistics only, as the planners see them)

/** A CSR problem at `density` with rows about equally long (the longest 1.5× the mean). */
const csr = (rows: number, cols: number, density: number, batch: number): CsrSpmmProblem => {
  const nnz = Math.round(rows * cols * density);
  return { rows, cols, nnz, maxRowLength: Math.min(cols, Math.ceil((1.5 * nnz) / rows)), batch };
};
const bsr = (rows: number, cols: number, block: [number, number], blockDensity: number, batch: number): BsrSpmmProblem => ({
  rows, cols, block, nnzBlocks: Math.round(Math.ceil(rows / block[0]) * Math.ceil(cols / block[1]) * blockDensity), batch,
});
const geometry = (n: number, c: number, h: number, w: number, oc: number, k: number, pad: number): Conv2dGeometry => ({
  n, c, h, w, oc, kh: k, kw: k, sh: 1, sw: 1, ph: pad, pw: pad, dh: 1, dw: 1, oh: h + 2 * pad - k + 1, ow: w + 2 * pad - k + 1,
});
const conv = (g: Conv2dGeometry, block: [number, number] | null, density: number): SparseConvProblem => {
  const cols = g.c * g.kh * g.kw;
  return block
    ? { geometry: g, format: 'bsr', block, stored: Math.round(Math.ceil(g.oc / block[0]) * Math.ceil(cols / block[1]) * density) }
    : { geometry: g, format: 'csr', block: [1, 1], stored: Math.round(g.oc * cols * density) };
};

/** CSR problems and the llvmpipe rule's variant for each (today's choice). */
const CSR_TABLE: Array<[string, CsrSpmmProblem, string]> = [
  ['LeNet-300-100 fc1 784→300 at 90 %, batch 128', csr(300, 784, 0.1, 128), 'tex-tb2'],
  ['LeNet-300-100 fc2 300→100 at 90 %, batch 128', csr(100, 300, 0.1, 128), 'tex-tb2'],
  ['LeNet-300-100 fc3 100→10 at 90 %, batch 128', csr(10, 100, 0.1, 128), 'tex-tb2'],
  ['LeNet-300-100 fc1 at 90 %, batch 1', csr(300, 784, 0.1, 1), 'spmv'],
  ['LeNet-300-100 fc3 at 90 %, batch 1', csr(10, 100, 0.1, 1), 'spmv'],
  ['LeNet-300-100 fc2 at 90 %, batch 16', csr(100, 300, 0.1, 16), 'tex-tb1'],
  ['1024×1024 at 10 %, batch 256', csr(1024, 1024, 0.1, 256), 'tex-tb8'],
  ['1024×1024 at 30 %, batch 256', csr(1024, 1024, 0.3, 256), 'tex-tb8'],
  ['1024×1024 at 70 %, batch 256', csr(1024, 1024, 0.7, 256), 'tex-tb8'],
  ['1024×1024 at 10 %, batch 64', csr(1024, 1024, 0.1, 64), 'tex-tb2'],
  ['all zero', csr(64, 64, 0, 32), 'buf-tb1'],
];

const BSR_TABLE: Array<[string, BsrSpmmProblem, string]> = [
  ['1024×1024 4×4 at 10 %, batch 256', bsr(1024, 1024, [4, 4], 0.1, 256), 'tex-tb8'],
  ['1024×1024 4×4 at 70 %, batch 256', bsr(1024, 1024, [4, 4], 0.7, 256), 'tex-tb8'],
  ['1024×1024 16×16 at 10 %, batch 256', bsr(1024, 1024, [16, 16], 0.1, 256), 'tex-tb4'],
  ['1024×1024 16×16 at 30 %, batch 64', bsr(1024, 1024, [16, 16], 0.3, 64), 'tex-tb2'],
  ['LeNet-300-100 fc1 4×4 at 90 %, batch 128', bsr(300, 784, [4, 4], 0.1, 128), 'tex-tb4'],
  ['LeNet-300-100 fc2 16×16 at 90 %, batch 1', bsr(100, 300, [16, 16], 0.1, 1), 'tex-tb1'],
];

const cifar = geometry(1, 64, 32, 32, 64, 3, 1);
const CONV_TABLE: Array<[string, SparseConvProblem, string]> = [
  ['32×32×64→64 3×3 CSR at 90 %', conv(cifar, null, 0.1), 'shifted-r4'],
  ['32×32×64→64 3×3 BSR 4×4 at 90 %', conv(cifar, [4, 4], 0.1), 'shifted-r4'],
  ['32×32×64→64 3×3 BSR 8×8 at 90 %', conv(cifar, [8, 8], 0.1), 'shifted-r2'],
  ['32×32×64→64 3×3 BSR 16×16 at 90 %', conv(cifar, [16, 16], 0.1), 'shifted-r1'],
  ['32×32×64→64 3×3 CSR at 90 %, batch 32', conv(geometry(32, 64, 32, 32, 64, 3, 1), null, 0.1), 'shifted-r4'],
  ['LeNet-5 conv1 (24-wide output) CSR at 90 %', conv(geometry(64, 1, 28, 28, 6, 5, 0), null, 0.1), 'shifted-r4'],
  ['output rows 7 wide: row quad', conv(geometry(2, 8, 9, 9, 16, 3, 0), null, 0.1), 'quad'],
  ['all-zero CSR filters: storage', conv(cifar, null, 0), 'storage'],
];

describe('llvmpipe profile: the choices measured on llvmpipe', () => {
  it.each(CSR_TABLE)('spmm-csr: %s', (_, p, variant) => {
    const chosen = planCsrSpmm(p, llvmpipe);
    expect(chosen.variant).toBe(variant);
    expect(chosen.record).toMatchObject({ family: 'spmm-csr', problem: csrSpmmProblemKey(p), source: 'rule', args: p });
    expect(chosen.plan.layout).toEqual({ sort: true, maxSegment: Math.max(256, Math.ceil((8 * p.nnz) / p.rows)) });
  });
  it.each(BSR_TABLE)('spmm-bsr: %s', (_, p, variant) => {
    expect(planBsrSpmm(p, llvmpipe).variant).toBe(variant);
  });
  it.each(CONV_TABLE)('sparse-conv: %s', (_, p, variant) => {
    expect(planSparseConv(p, llvmpipe).variant).toBe(variant);
  });

  it('falls back to storage buffers where the operands exceed the textures', () => {
    const small = settingsFor('llvmpipe', { maxTextureDimension2D: 128 });
    expect(planCsrSpmm(csr(1024, 1024, 0.1, 256), small).variant).toBe('buf-tb8'); // 1024 columns > 128
    expect(planBsrSpmm(bsr(1024, 1024, [4, 4], 0.1, 256), small).variant).toBe('buf-tb8');
    // The shifted copies of one image (52,224 texels) and the row-quad texture (64·34 rows) exceed 128 × 128 texels.
    expect(planSparseConv(conv(cifar, null, 0.1), small).variant).toBe('storage');
  });
});

describe('gpu profile: storage buffers, 64-256 invocations a workgroup', () => {
  it.each(CSR_TABLE)('spmm-csr: %s', (_, p) => {
    const { plan, record } = planCsrSpmm(p, gpu);
    expect(plan.operands).toBe('buffer');
    if (p.batch === 1) expect(plan.kernel).toBe(p.nnz / p.rows >= 32 ? 'spmv-vector' : 'spmv');
    expect(plan.threads).toBe(256);
    expect(plan.layout.sort).toBe(true);
    expect(record.why).toMatch(/^gpu profile: /);
  });
  it.each(BSR_TABLE)('spmm-bsr: %s', (_, p) => {
    const { plan } = planBsrSpmm(p, gpu);
    expect(plan.operands).toBe('buffer');
    expect(plan.threads).toBe(256);
    expect(plan.tb * 4 * p.block[0]).toBeLessThanOrEqual(64); // a few outputs per invocation (a 16-row block: 16 × 4)
  });
  it.each(CONV_TABLE)('sparse-conv: %s', (_, p) => {
    expect(planSparseConv(p, gpu).variant).toBe('storage-t256');
  });
  it('a device allowing only 64 invocations a workgroup gets 64', () => {
    const narrow = settingsFor('gpu', { maxComputeInvocationsPerWorkgroup: 64, maxComputeWorkgroupSizeX: 64, maxComputeWorkgroupSizeY: 64 });
    expect(planCsrSpmm(csr(1024, 1024, 0.1, 256), narrow).plan.threads).toBe(64);
    expect(planBsrSpmm(bsr(1024, 1024, [4, 4], 0.1, 256), narrow).plan.threads).toBe(64);
    expect(planSparseConv(conv(cifar, null, 0.1), narrow).variant).toBe('storage');
  });
});

describe('forcing, tuning and problem keys', () => {
  const p = csr(1024, 1024, 0.1, 256);
  it('a forced variant is picked and recorded as forced', () => {
    const chosen = planCsrSpmm(p, forcing(llvmpipe, { 'spmm-csr': 'buf-tb4-t256' }));
    expect(chosen.plan).toMatchObject({ kernel: 'spmm', operands: 'buffer', tb: 4, threads: 256 });
    expect(chosen.record.source).toBe('forced');
    expect(planBsrSpmm(BSR_TABLE[0]![1], forcing(gpu, { 'spmm-bsr': 'tex-tb2' })).plan).toEqual({ operands: 'texture', tb: 2, threads: 64 });
    expect(planSparseConv(CONV_TABLE[0]![1], forcing(gpu, { 'sparse-conv': 'quad' })).plan.path).toBe('quad');
  });
  it('a variant that does not apply throws, naming the candidates', () => {
    expect(() => planCsrSpmm(p, forcing(llvmpipe, { 'spmm-csr': 'spmv' }))).toThrow(UnknownVariantError); // batch 256
    expect(() => planCsrSpmm(p, forcing(llvmpipe, { 'spmm-csr': 'nope' }))).toThrow(/'nope' was forced .* its candidates are tex-tb1, buf-tb1, buf-tb1-t256, tex-tb2, .*, buf-tb8-t256$/);
    expect(() => planBsrSpmm(BSR_TABLE[2]![1], forcing(llvmpipe, { 'spmm-bsr': 'tex-tb8' }))).toThrow(/candidates are .*tex-tb4/); // 16-row blocks stop at 4
    expect(() => planSparseConv(CONV_TABLE[6]![1], forcing(llvmpipe, { 'sparse-conv': 'shifted-r4' }))).toThrow(/candidates are quad, storage, storage-t256/);
  });
  it('a tuned winner overrides the rule for its problem only', () => {
    const tuned = { adapter: 'test', entries: { 'spmm-csr': { [csrSpmmProblemKey(p)]: { variant: 'buf-tb2', ms: 1, candidates: { 'buf-tb2': 1, 'tex-tb8': 2 } } } } };
    const s = settingsFor('llvmpipe', {}, { tuned });
    expect(planCsrSpmm(p, s)).toMatchObject({ variant: 'buf-tb2', record: { source: 'tuned' } });
    expect(planCsrSpmm({ ...p, batch: 128 }, s).record.source).toBe('rule');
  });
  it('problem keys tell problems apart and candidates have unique names', () => {
    const keys = [...CSR_TABLE.map(([, q]) => csrSpmmProblemKey(q)), ...BSR_TABLE.map(([, q]) => bsrSpmmProblemKey(q)), ...CONV_TABLE.map(([, q]) => sparseConvProblemKey(q))];
    expect(new Set(keys).size).toBe(keys.length);
    for (const s of [llvmpipe, gpu]) {
      for (const [, q] of CSR_TABLE) expect(new Set(csrSpmmCandidates(q, s).map((c) => c.variant)).size).toBe(csrSpmmCandidates(q, s).length);
      for (const [, q] of BSR_TABLE) expect(new Set(bsrSpmmCandidates(q, s).map((c) => c.variant)).size).toBe(bsrSpmmCandidates(q, s).length);
      for (const [, q] of CONV_TABLE) expect(new Set(sparseConvCandidates(q, s).map((c) => c.variant)).size).toBe(sparseConvCandidates(q, s).length);
    }
  });
  it('every plan is reported to onPlan with its arguments', () => {
    const records: PlanRecord[] = [];
    planSparseConv(CONV_TABLE[1]![1], { ...gpu, onPlan: (r) => records.push(r) });
    expect(records).toEqual([expect.objectContaining({ family: 'sparse-conv', variant: 'storage-t256', args: CONV_TABLE[1]![1] })]);
  });
});

// ---------------------------------------------------------------------------
// Every candidate on this device, against the CPU reference

let rt: GpuRuntime;
beforeAll(async () => {
  await initBoth();
  rt = (getBackend('webgpu') as WebGpuBackend).rt;
});
afterAll(shutdown);

const scaled = (want: ArrayLike<number>) => ({ rtol: 1e-4, atol: 1e-5 * Math.max(1, maxAbs(want)) });

/** Variants each profile can produce for `p`, which must all be among this device's candidates. */
function coveredBy<P>(candidates: (s: KernelSettings) => Array<{ variant: string; plan: P }>): Array<{ variant: string; plan: P }> {
  const here = candidates(rt.settings);
  const names = here.map((c) => c.variant);
  for (const s of [llvmpipe, gpu]) for (const c of candidates(s)) expect(names, `${s.profile} candidate ${c.variant}`).toContain(c.variant);
  return here;
}

describe('every candidate runs on this device and matches the CPU reference', () => {
  for (const batch of [1, 6, 40]) {
    it(`spmm-csr, batch ${batch} (a long row split into segments)`, async () => {
      const rows = 37, cols = 300;
      const a = randomSparse(rows, cols, 0.2, 'long-row', batch);
      const m = CsrMatrix.fromDense(a, rows, cols);
      const x = randomDense(batch * cols, 2), bias = randomDense(rows, 3);
      const want = denseLinear(a, rows, cols, x, batch, bias);
      const problem = csrSpmmProblem(m, batch);
      expect(problem.maxRowLength).toBe(cols);
      await rt.sync();
      const before = memoryStats('webgpu').inUseBytes;
      const w = uploadCsr(rt, m);
      const xs = rt.upload(x), bs = rt.upload(bias);
      const candidates = coveredBy((s) => csrSpmmCandidates(problem, s));
      expect(candidates.length).toBe(batch === 1 ? 6 : batch === 6 ? 6 : 12);
      for (const { variant } of candidates) {
        const chosen = planCsrSpmm(problem, forcing(rt.settings, { 'spmm-csr': variant }));
        expect(chosen.variant).toBe(variant);
        const y = csrSpmmWith(rt, chosen.plan, w, xs, bs, batch);
        expectClose(await rt.read(y), want, scaled(want), `spmm-csr ${variant}`);
        rt.release(y);
      }
      // Row order instead of sorted segments, and no split rows.
      const plain = { ...candidates[candidates.length - 1]!.plan, layout: { sort: false, maxSegment: cols } };
      const y = csrSpmmWith(rt, plain, w, xs, bs, batch);
      expectClose(await rt.read(y), want, scaled(want), 'row order');
      for (const s of [xs, bs, y]) rt.release(s);
      w.release();
      await rt.sync();
      expect(memoryStats('webgpu').inUseBytes, 'device memory after release').toBe(before);
    });
  }

  for (const block of [[4, 4], [16, 16], [1, 4]] as BlockShape[]) {
    it(`spmm-bsr ${block.join('x')}, batch 1 and 40`, async () => {
      const rows = 70, cols = 90;
      const a = randomSparse(rows, cols, 0.5, 'blocks', 5);
      const m = BsrMatrix.fromDense(a, rows, cols, block);
      const w = uploadBsr(rt, m);
      for (const batch of [1, 40]) {
        const x = randomDense(batch * cols, 6), bias = randomDense(rows, 7);
        const want = denseLinear(a, rows, cols, x, batch, bias);
        const xs = rt.upload(x), bs = rt.upload(bias);
        const problem = bsrSpmmProblem(m, batch);
        const candidates = coveredBy((s) => bsrSpmmCandidates(problem, s));
        expect(candidates.length).toBeGreaterThanOrEqual(3);
        for (const { variant } of candidates) {
          const chosen = planBsrSpmm(problem, forcing(rt.settings, { 'spmm-bsr': variant }));
          const y = bsrSpmmWith(rt, chosen.plan, w, xs, bs, batch);
          expectClose(await rt.read(y), want, scaled(want), `spmm-bsr ${block.join('x')} ${variant} batch ${batch}`);
          rt.release(y);
        }
        rt.release(xs);
        rt.release(bs);
      }
      w.release();
    });
  }

  const convCases: Array<[string, Conv2dGeometry]> = [
    ['padded, output rows 8 wide', geometry(2, 3, 6, 8, 9, 3, 1)],
    ['unpadded, output rows 5 wide (no shifted path)', geometry(1, 4, 7, 7, 6, 3, 0)],
  ];
  for (const [label, g] of convCases) {
    it(`sparse-conv: ${label}, CSR and BSR 4×4 / 8×8`, async () => {
      const cols = g.c * g.kh * g.kw;
      const wd = randomSparse(g.oc, cols, 0.3, 'random', cols);
      const xd = randomDense(g.n * g.c * g.h * g.w, 8), bd = randomDense(g.oc, 9);
      const want = cpuConv.conv2d(Float64Array.from(xd), Float64Array.from(wd), Float64Array.from(bd), g);
      const x = rt.upload(xd), b = rt.upload(bd);
      for (const m of [CsrMatrix.fromDense(wd, g.oc, cols), BsrMatrix.fromDense(wd, g.oc, cols, [4, 4]), BsrMatrix.fromDense(wd, g.oc, cols, [8, 8])]) {
        const w = m.format === 'csr' ? uploadCsr(rt, m) : uploadBsr(rt, m);
        const problem = sparseConvProblem(m, g);
        const candidates = coveredBy((s) => sparseConvCandidates(problem, s));
        expect(candidates.some((c) => c.variant.startsWith('shifted'))).toBe(g.ow % 4 === 0);
        const runs = candidates.map((c) => [c.variant, planSparseConv(problem, forcing(rt.settings, { 'sparse-conv': c.variant })).plan] as const);
        // BSR on the shifted path with its block values from a buffer (where they do not fit a texture).
        const shifted = candidates.find((c) => c.plan.path === 'shifted');
        const extra = m.format === 'bsr' && shifted ? [['shifted, values from a buffer', { ...shifted.plan, values: 'buffer' as const }] as const] : [];
        for (const [variant, plan] of [...runs, ...extra]) {
          const y = sparseConvWith(rt, plan, w, x, b, g);
          expectClose(await rt.read(y), want, scaled(want), `sparse-conv ${m.format} ${variant}`);
          rt.release(y);
        }
        w.release();
      }
      rt.release(x);
      rt.release(b);
    });
  }
});

describe('launchers plan with the runtime settings, and uploads follow the plan', () => {
  it('csrMatmul / bsrMatmul / sparseConv2d report the device plan', async () => {
    const records: PlanRecord[] = [];
    const saved = rt.settings;
    rt.settings = { ...saved, forced: {}, tuned: null, onPlan: (r) => records.push(r) };
    try {
      const a = randomSparse(16, 36, 0.3, 'random', 1);
      const csrW = uploadCsr(rt, CsrMatrix.fromDense(a, 16, 36));
      const bsrW = uploadBsr(rt, BsrMatrix.fromDense(a, 16, 36, [4, 4]));
      const x = rt.upload(randomDense(8 * 36, 2));
      const g = geometry(1, 4, 4, 4, 16, 3, 1);
      for (const y of [csrMatmul(rt, csrW, x, null, 8), bsrMatmul(rt, bsrW, x, null, 8), sparseConv2d(rt, csrW, x, null, g)]) rt.release(y);
      expect(records.map((r) => [r.family, r.variant, r.source])).toEqual([
        ['spmm-csr', planCsrSpmm(csrSpmmProblem(csrW.matrix as CsrMatrix, 8), saved).variant, 'rule'],
        ['spmm-bsr', planBsrSpmm(bsrSpmmProblem(bsrW.matrix as BsrMatrix, 8), saved).variant, 'rule'],
        ['sparse-conv', planSparseConv(sparseConvProblem(csrW.matrix, g), saved).variant, 'rule'],
      ]);
      rt.release(x);
      csrW.release();
      bsrW.release();
    } finally {
      rt.settings = saved;
    }
  });

  it('the upload holds the textures of the plan made for the nominal batch (none on the gpu profile)', () => {
    const a = randomSparse(16, 36, 0.3, 'random', 1);
    const saved = rt.settings;
    try {
      for (const profile of ['llvmpipe', 'gpu'] as const) {
        rt.settings = { ...saved, profile, forced: {}, tuned: null };
        const csrW = uploadCsr(rt, CsrMatrix.fromDense(a, 16, 36));
        const bsrW = uploadBsr(rt, BsrMatrix.fromDense(a, 16, 36, [4, 4]));
        expect(csrW.texture('cv') !== null, `${profile} CSR`).toBe(profile === 'llvmpipe');
        expect(bsrW.texture('vals') !== null, `${profile} BSR`).toBe(profile === 'llvmpipe');
        csrW.release();
        bsrW.release();
      }
      // A variant forced for the family that is no candidate at the nominal batch does not break the upload.
      rt.settings = { ...saved, forced: { 'spmm-csr': 'spmv' } };
      const w = uploadCsr(rt, CsrMatrix.fromDense(a, 16, 36));
      expect(w.texture('cv')).not.toBeNull();
      w.release();
    } finally {
      rt.settings = saved;
    }
  });
});

describe("toSparse 'auto' times the planners' kernels", () => {
  /** A 64 → 32 → 10 MLP with about 80 % of its weights zero. */
  function mlp(): Sequential {
    const layers = [new Linear(64, 32), new Linear(32, 10)];
    for (const l of layers) {
      const w = randomSparse(l.outFeatures, l.inFeatures, 0.2, 'random', l.inFeatures);
      l.replaceParameter('weight', tensor(w, [l.outFeatures, l.inFeatures]))?.dispose();
    }
    return new Sequential(layers[0]!, new ReLU(), layers[1]!);
  }

  it("'planned' records each sparse format's planned kernel; 'all' times every variant and keeps the fastest", async () => {
    setBackend('webgpu');
    const model = mlp().eval();
    const x = tensor(randomDense(8 * 64, 4), [8, 64]);
    const want = await noGrad(() => model.forward(x)).toArray();
    const planned = (await toSparse(model, { format: 'auto', batch: 8, reps: 1, blocks: [[4, 4]] })) as SparseSequential;
    for (const c of planned.choices) {
      expect(c.kernels?.csr).toMatch(/^spmm-csr \S+ \(rule\)$/);
      expect(c.kernels?.['bsr 4x4']).toMatch(/^spmm-bsr \S+ \(rule\)$/);
    }
    planned.dispose();

    const records: PlanRecord[] = [];
    const saved = rt.settings.onPlan;
    rt.settings.onPlan = (r) => records.push(r);
    let all: SparseSequential;
    try {
      all = (await toSparse(model, { format: 'auto', batch: 8, reps: 1, blocks: [[4, 4]], variants: 'all' })) as SparseSequential;
    } finally {
      rt.settings.onPlan = saved;
    }
    for (const c of all.choices) {
      for (const [label, family] of [['csr', 'spmm-csr'], ['bsr 4x4', 'spmm-bsr']] as const) {
        const rec = records.find((r) => r.family === family && (r.args as { rows: number }).rows === (c.name.endsWith('0') ? 32 : 10))!;
        const variants = sparseVariants(family, rec.args, rt.settings);
        const timed = Object.entries(c.variantTimings!).filter(([k]) => k.startsWith(`${label} `));
        expect(timed.map(([k]) => k.slice(label.length + 1)).sort()).toEqual([...variants].sort());
        const fastest = timed.reduce((a, b) => (b[1] < a[1] ? b : a));
        expect(c.kernels?.[label]).toBe(`${family} ${fastest[0].slice(label.length + 1)} (timed, fastest of ${variants.length})`);
        expect(c.timings[label]).toBeCloseTo(fastest[1], 9);
      }
    }
    const got = await noGrad(() => all.forward(x)).toArray();
    expectClose(got, want, scaled(want), 'toSparse auto, every variant');
    all.dispose();
    x.dispose();
    model.dispose();
  });

  it("a matrix's own tuned entry decides its plan at that problem only, and a forced variant still wins", async () => {
    setBackend('webgpu');
    const a = randomSparse(12, 40, 0.3, 'random', 3);
    const layer = new SparseLinear(CsrMatrix.fromDense(a, 12, 40), null, getBackend('webgpu'));
    const x8 = tensor(randomDense(8 * 40, 1), [8, 40]), x4 = tensor(randomDense(4 * 40, 2), [4, 40]);
    const key = csrSpmmProblemKey(csrSpmmProblem(layer.matrix as CsrMatrix, 8));
    layer.weight.storageFor('test').tuned = { 'spmm-csr': { [key]: { variant: 'buf-tb2-t256', ms: 1, candidates: { 'buf-tb2-t256': 1 } } } };
    const records: PlanRecord[] = [];
    const saved = rt.settings;
    rt.settings = { ...saved, onPlan: (r) => records.push(r) };
    try {
      const want8 = denseLinear(a, 12, 40, await x8.toArray(), 8);
      expectClose(await noGrad(() => layer.forward(x8)).toArray(), want8, scaled(want8), 'pinned variant');
      noGrad(() => layer.forward(x4)).dispose();
      rt.settings.forced = { 'spmm-csr': 'buf-tb1' };
      noGrad(() => layer.forward(x8)).dispose();
    } finally {
      rt.settings = saved;
    }
    expect(records.map((r) => [r.variant, r.source])).toEqual([
      ['buf-tb2-t256', 'tuned'],
      [planCsrSpmm(csrSpmmProblem(layer.matrix as CsrMatrix, 4), saved).variant, 'rule'],
      ['buf-tb1', 'forced'],
    ]);
    for (const t of [x8, x4]) t.dispose();
    layer.dispose();
  });
});
