/**
 * The matmul planner (kernels/matmul/plan.ts): each profile's choice on a table of shapes
 * (no device), the `gpu` rule's promises (no textures, at most 64 accumulators per invocation,
 * within the device's workgroup limits), candidate names, problem keys, forcing and tuning;
 * then every candidate either profile offers, run on llvmpipe on small shapes and compared
 * with a float64 reference.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settingsFor, type KernelSettings, type PlanRecord, type ProfileName } from '../gpu/profile.js';
import { UnknownVariantError } from '../kernels/choose.js';
import {
  accumulators, GPU_MAX_ACCUMULATORS, matmulCandidates, matmulProblemKey, type MatmulPlan, planMatmul, SHARED_LADDER, usesTextures,
} from '../kernels/matmul/plan.js';
import { sharedStorageBytes, sharedWorkgroup } from '../kernels/matmul/shared-gemm.js';
import { planPrograms } from '../kernels/matmul.js';
import { acquireDevice } from '../gpu/device.js';
import { GpuRuntime } from '../gpu/runtime.js';
import { type Epilogue, geometry, MatmulChecker, type Spec } from './helpers/matmul.js';

const llvmpipe = settingsFor('llvmpipe');
const gpu = settingsFor('gpu');

/** Shapes and what each profile's rule takes for them (the llvmpipe column is the measured selection). */
const TABLE: Array<{ name: string; s: Spec; epi?: Epilogue; llvmpipe: string; gpu: string }> = [
  { name: '1024³', s: { m: 1024, k: 1024, n: 1024 }, llvmpipe: 'texture-4x4', gpu: 'shared-128x128-8x8-k8' },
  { name: '4096² × 4096', s: { m: 4096, k: 4096, n: 4096 }, llvmpipe: 'texture-4x4', gpu: 'shared-128x128-8x8-k8' },
  { name: '4096² × 8192 (k past the textures)', s: { m: 4096, k: 8192, n: 4096 }, llvmpipe: 'tiled-64x8', gpu: 'shared-128x128-8x8-k8' },
  { name: 'LeNet linear 128 × 400 → 120 (bias, ReLU)', s: { m: 128, k: 400, n: 120, transB: true }, epi: { bias: true, relu: true }, llvmpipe: 'texture-4x2', gpu: 'shared-32x32-4x4-k16' },
  { name: 'LeNet linear 128 × 84 → 10', s: { m: 128, k: 84, n: 10, transB: true }, epi: { bias: true }, llvmpipe: 'tiled-4x1', gpu: 'tiled-4x1' },
  { name: 'LeNet weight gradient 120 × 128 → 400', s: { m: 120, k: 128, n: 400, transA: true }, llvmpipe: 'texture-4x2', gpu: 'shared-32x32-4x4-k16' },
  { name: 'linear 256 × 2048 → 64', s: { m: 256, k: 2048, n: 64, transB: true }, epi: { bias: true, relu: true }, llvmpipe: 'rows-4x4+split8', gpu: 'shared-32x32-4x4-k16+split8' },
  { name: 'm == 1, B [k, n]', s: { m: 1, k: 800, n: 500 }, llvmpipe: 'gemv-axpy+split3', gpu: 'gemv-axpy' },
  { name: 'm == 1, Bᵀ [n, k]', s: { m: 1, k: 800, n: 500, transB: true }, epi: { bias: true }, llvmpipe: 'gemv-dot4+split3', gpu: 'gemv-dot4' },
  { name: 'n == 1', s: { m: 500, k: 800, n: 1 }, llvmpipe: 'gemv-dot4+split3', gpu: 'gemv-dot4' },
  { name: 'm == 1, long k', s: { m: 1, k: 8192, n: 64 }, llvmpipe: 'gemv-axpy+split32', gpu: 'gemv-axpy+split32' },
  { name: 'long k, small output', s: { m: 10, k: 4096, n: 10 }, llvmpipe: 'tiled-4x1+split16', gpu: 'tiled-4x1+split16' },
  { name: 'long k, 64 × 64 output', s: { m: 64, k: 4096, n: 64 }, llvmpipe: 'texture-2x2', gpu: 'shared-32x32-4x4-k16+split16' },
  { name: 'batched 8 × 256 × 64 × 256', s: { batch: 8, m: 256, k: 64, n: 256 }, llvmpipe: 'tiled-32x8', gpu: 'shared-128x64-8x4-k16' },
  { name: 'batched, B broadcast', s: { batch: 4, m: 64, k: 32, n: 64, broadcast: 'b' }, llvmpipe: 'tiled-8x2', gpu: 'shared-32x32-4x4-k16' },
  { name: 'Aᵀ·B 512²', s: { m: 512, k: 256, n: 512, transA: true }, llvmpipe: 'texture-4x4', gpu: 'shared-64x64-4x4-k16' },
  { name: 'Aᵀ·Bᵀ batched, ragged', s: { batch: 2, m: 300, k: 77, n: 130, transA: true, transB: true }, llvmpipe: 'tiled-4x1', gpu: 'shared-32x32-4x4-k16' },
  { name: 'tiny 16 × 16', s: { m: 16, k: 64, n: 16 }, llvmpipe: 'tiled-4x1', gpu: 'shared-32x32-4x4-k16' },
  { name: 'tiny 8 × 8', s: { m: 8, k: 8, n: 8 }, llvmpipe: 'tiled-4x1', gpu: 'tiled-4x1' },
];

function plan(s: Spec, epi: Epilogue, settings: KernelSettings) {
  return planMatmul(geometry(s), epi, settings);
}

describe('profile rules on a table of shapes', () => {
  for (const row of TABLE) {
    it(`${row.name}: llvmpipe ${row.llvmpipe}, gpu ${row.gpu}`, () => {
      expect(plan(row.s, row.epi ?? {}, llvmpipe).variant).toBe(row.llvmpipe);
      const chosen = plan(row.s, row.epi ?? {}, gpu);
      expect(chosen.variant).toBe(row.gpu);
      expect(chosen.record.source).toBe('rule');
      expect(accumulators(chosen.plan)).toBeLessThanOrEqual(GPU_MAX_ACCUMULATORS);
      expect(usesTextures(chosen.plan)).toBe(false);
    });
  }

  it('gpu: never a texture program, never more than 64 accumulators, on a grid of shapes and limits', () => {
    const sizes = [1, 3, 4, 17, 64, 100, 128, 500, 1024, 4096];
    const settings = [gpu, settingsFor('gpu', { maxComputeInvocationsPerWorkgroup: 64, maxComputeWorkgroupStorageSize: 8192 })];
    let n = 0;
    for (const st of settings)
      for (const batch of [1, 5]) for (const m of sizes) for (const k of sizes) for (const nn of sizes) for (const transA of [false, true]) {
        const chosen = planMatmul(geometry({ batch, m, k, n: nn, transA, transB: !transA }), { bias: true }, st);
        const what = `${JSON.stringify({ batch, m, k, nn, transA })} → ${chosen.variant}`;
        if (accumulators(chosen.plan) > GPU_MAX_ACCUMULATORS || usesTextures(chosen.plan)) expect.fail(what);
        const p = chosen.plan.program;
        if (p.kind === 'shared') {
          const [x, y] = sharedWorkgroup(p);
          if (x * y > st.limits.maxComputeInvocationsPerWorkgroup || sharedStorageBytes(p) > st.limits.maxComputeWorkgroupStorageSize) expect.fail(`${what}: past the limits`);
        }
        n++;
      }
    expect(n).toBe(2 * 2 * 10 * 10 * 10 * 2);
  });

  it('gpu: the workgroup limits decide which workgroup-memory blocks are candidates', () => {
    const s = geometry({ m: 1024, k: 1024, n: 1024 });
    const names = (st: KernelSettings) => matmulCandidates(s, {}, st).map((c) => c.variant).filter((v) => v.startsWith('shared-'));
    expect(names(gpu)).toEqual(SHARED_LADDER.map((b) => `shared-${b.bm}x${b.bn}-${b.tm}x${b.tn}-k${b.bk}`));
    // 8 KiB of workgroup storage: not the 128 × 64 block (12 KiB of slabs).
    expect(names(settingsFor('gpu', { maxComputeWorkgroupStorageSize: 8192 }))).not.toContain('shared-128x64-8x4-k16');
    // 64 invocations per workgroup: only the 8 × 8-invocation block.
    const small = settingsFor('gpu', { maxComputeInvocationsPerWorkgroup: 64 });
    expect(names(small)).toEqual(['shared-32x32-4x4-k16']);
    expect(planMatmul(s, {}, small).variant).toBe('shared-32x32-4x4-k16');
  });

  it('llvmpipe: textures are not considered when the device has none', () => {
    const noTex = settingsFor('llvmpipe', { maxTextureDimension2D: 0 });
    const a = planMatmul(geometry({ m: 1024, k: 1024, n: 1024 }), {}, noTex);
    expect(a.variant).toBe('tiled-64x8');
    expect(matmulCandidates(geometry({ m: 1024, k: 1024, n: 1024 }), {}, noTex).some((c) => usesTextures(c.plan))).toBe(false);
    // The big tile's program does not depend on the shape.
    const b = planMatmul(geometry({ m: 2048, k: 512, n: 2048 }), {}, noTex);
    expect(planPrograms(b.plan)[0]!.key).toBe(planPrograms(a.plan)[0]!.key);
  });
});

describe('candidates', () => {
  it('have unique names and cover every program family that applies', () => {
    const g = geometry({ m: 256, k: 1024, n: 64, transB: true });
    for (const st of [llvmpipe, gpu]) {
      const names = matmulCandidates(g, { bias: true }, st).map((c) => c.variant);
      expect(new Set(names).size).toBe(names.length);
      for (const prefix of ['rows-', 'texture-', 'tiled-', 'shared-']) expect(names.some((v) => v.startsWith(prefix)), prefix).toBe(true);
    }
    // Split variants sit next to the unsplit ones where the profile splits k.
    const names = matmulCandidates(geometry({ m: 10, k: 4096, n: 10 }), {}, llvmpipe).map((c) => c.variant);
    expect(names).toContain('tiled-4x1');
    expect(names).toContain('tiled-4x1+split16');
    expect(names).toContain('shared-32x32-4x4-k16+split16');
  });
  it('put the epilogue in unsplit programs and leave it to the reduction in split ones', () => {
    for (const c of matmulCandidates(geometry({ m: 12, k: 2048, n: 20 }), { bias: true, relu: true }, gpu)) {
      const p = c.plan.program;
      if (c.plan.splits === 1) expect(p.epilogue, c.variant).toEqual({ bias: true, relu: true });
      else if (p.kind !== 'rows') expect(p.epilogue, c.variant).toEqual({});
      expect(c.plan.kChunk % 4 === 0 || c.plan.splits === 1, c.variant).toBe(true);
    }
  });
  it('problem keys name the geometry, uncommon batch strides and the epilogue', () => {
    expect(matmulProblemKey(geometry({ m: 1024, k: 1024, n: 1024 }), { bias: true, relu: true })).toBe('b1 m1024 k1024 n1024 nn bias relu');
    expect(matmulProblemKey(geometry({ batch: 3, m: 8, k: 4, n: 2, transA: true, broadcast: 'b' }), {})).toBe('b3 m8 k4 n2 tn sb0');
    expect(matmulProblemKey(geometry({ m: 8, k: 4, n: 2, transB: true }), { relu: true })).toBe('b1 m8 k4 n2 nt relu');
  });
});

describe('forced and tuned variants', () => {
  const s = geometry({ m: 64, k: 64, n: 64 });
  it('a forced variant is taken wherever it is a candidate', () => {
    const st = settingsFor('llvmpipe', {}, { forced: { matmul: 'shared-64x64-4x4-k16' } });
    const chosen = planMatmul(s, {}, st);
    expect(chosen.variant).toBe('shared-64x64-4x4-k16');
    expect(chosen.plan.program.kind).toBe('shared');
    expect(chosen.record.source).toBe('forced');
  });
  it('an unknown forced variant fails naming the candidates', () => {
    const st = settingsFor('llvmpipe', {}, { forced: { matmul: 'x' } });
    expect(() => planMatmul(s, {}, st)).toThrow(UnknownVariantError);
    expect(() => planMatmul(s, {}, st)).toThrow(/matmul: variant 'x' was forced but does not apply to b1 m64 k64 n64 nn; its candidates are .*texture-4x4.*tiled-16x4.*shared-32x32-4x4-k16/);
    // A variant that exists elsewhere but not for this shape: the gemv kernels need m == 1 or n == 1.
    expect(() => planMatmul(s, {}, settingsFor('gpu', {}, { forced: { matmul: 'gemv-dot4' } }))).toThrow(/gemv-dot4/);
  });
  it('a tuning table overrides the rule for the problems it covers; every plan is reported with its arguments', () => {
    const records: PlanRecord[] = [];
    const key = matmulProblemKey(s, { bias: true });
    const st: KernelSettings = {
      ...settingsFor('gpu', {}, { tuned: { adapter: 'test', entries: { matmul: { [key]: { variant: 'tiled-8x2', ms: 0.5, candidates: { 'tiled-8x2': 0.5, 'shared-32x32-4x4-k16': 0.7 } } } } } }),
      onPlan: (r) => records.push(r),
    };
    expect(planMatmul(s, { bias: true }, st).variant).toBe('tiled-8x2');
    expect(planMatmul(s, {}, st).variant).toBe('shared-32x32-4x4-k16');
    expect(records.map((r) => r.source)).toEqual(['tuned', 'rule']);
    expect(records[0]!.args).toEqual({ g: s, epilogue: { bias: true } });
  });
});

// ---------------------------------------------------------------------------------------------
// Every candidate on the device

/**
 * Small shapes that between them reach every kind of candidate: the row-texture GEMM (A·Bᵀ, k a
 * multiple of 64), the texture GEMM, both gemv forms, the big register tiles (exact 128 × 256
 * outputs, plain A·B), ragged and transposed workgroup-memory blocks, split-K (long k, small output),
 * batches with a broadcast operand.
 */
const DEVICE_SHAPES: Array<{ s: Spec; epi?: Epilogue }> = [
  { s: { m: 128, k: 8, n: 256 } },
  { s: { m: 20, k: 64, n: 36, transB: true }, epi: { bias: true, relu: true } },
  { s: { m: 20, k: 512, n: 12, transB: true }, epi: { bias: true } },
  { s: { m: 13, k: 1040, n: 7, transA: true }, epi: { relu: true } },
  { s: { m: 36, k: 1032, n: 40, transA: true, transB: true }, epi: { bias: true, relu: true } },
  { s: { m: 1, k: 40, n: 33 }, epi: { bias: true } },
  { s: { m: 19, k: 12, n: 1 } },
  { s: { m: 1, k: 1100, n: 10, transB: true }, epi: { bias: true, relu: true } },
  { s: { m: 70, k: 21, n: 66 } },
  { s: { batch: 3, m: 9, k: 6, n: 5, transA: true, transB: true, broadcast: 'b' }, epi: { bias: true } },
  { s: { batch: 2, m: 40, k: 16, n: 36, broadcast: 'a' } },
];

describe('every candidate of either profile against the reference (llvmpipe)', () => {
  let rt: GpuRuntime;
  const checker = new MatmulChecker(() => rt, 4321);
  beforeAll(async () => {
    rt = new GpuRuntime(await acquireDevice());
  });
  afterAll(() => rt?.destroy());

  it('runs each distinct plan once per shape', async () => {
    const profiles: ProfileName[] = ['llvmpipe', 'gpu'];
    const seen = new Set<string>();
    const kinds = new Set<string>();
    let runs = 0;
    for (const { s, epi = {} } of DEVICE_SHAPES) {
      const plans = new Map<string, { variant: string; plan: MatmulPlan }>();
      for (const profile of profiles) {
        // The device's own limits, with each profile's rules.
        const st: KernelSettings = { ...rt.settings, profile, forced: {}, tuned: null };
        for (const c of matmulCandidates(geometry(s), epi, st)) plans.set(JSON.stringify(c.plan), c);
      }
      for (const { variant, plan } of plans.values()) {
        // Register tiles above 8 × 8 per invocation take LLVM seconds each to compile cold (the 64 × 32
        // tile ~20 s): each runs once here, on its first shape; kernels-matmul.test.ts covers the
        // layouts and load modes of the 16 × 16 tile.
        const p = plan.program;
        if (p.kind === 'tiled' && p.tm * p.tn > 16 && seen.has(variant.replace(/\+split\d+$/, '+split'))) continue;
        await checker.check(s, plan, epi, variant);
        seen.add(variant.replace(/\+split\d+$/, '+split'));
        kinds.add(`${plan.program.kind}${plan.splits > 1 ? '+split' : ''}`);
        runs++;
      }
    }
    // Every program family, split where it can split, and every rung of both ladders was reached.
    expect([...kinds].sort()).toEqual(['gemv', 'gemv+split', 'rows', 'rows+split', 'shared', 'shared+split', 'texture', 'tiled', 'tiled+split']);
    for (const v of ['tiled-64x8', 'tiled-32x8', 'tiled-16x4', 'tiled-8x2', 'tiled-4x1', 'gemv-dot4', 'gemv-dot2', 'gemv-dot1', 'gemv-axpy',
      'texture-4x4', 'texture-4x2', 'texture-2x2', 'texture-1x1', ...SHARED_LADDER.map((b) => `shared-${b.bm}x${b.bn}-${b.tm}x${b.tn}-k${b.bk}`)]) {
      expect(seen.has(v), v).toBe(true);
    }
    expect(runs).toBeGreaterThan(100);
  }, 600_000);
});
