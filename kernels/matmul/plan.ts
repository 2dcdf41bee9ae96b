/**
 * The matmul planner: every program that can run a product on this device (the candidates),
 * and the device profile's rule for which one runs. Pure: geometry and settings in, a plan out.
 *
 * Candidates (variant names, stable across shapes wherever the program applies):
 * - `rows-RxT`: the row-texture GEMM (matmul/rows-gemm.ts), 4R × 4T outputs per invocation;
 * - `texture-RxT`: the texture GEMM (matmul/texture-gemm.ts), 4R × 4T outputs per invocation;
 * - `tiled-TMxTN`: the register-blocked kernel (matmul/tiled.ts), TM rows × TN vec4 column
 *   groups (TM × 4·TN outputs) per invocation, one entry per tile of TILE_LADDER;
 * - `gemv-dotR` / `gemv-axpy`: matrix–vector kernels (matmul/gemv.ts) when m == 1 or n == 1;
 * - `shared-BMxBN-TMxTN-kBK`: the workgroup-memory GEMM (matmul/shared-gemm.ts), a BM × BN block
 *   per workgroup, TM × TN outputs per invocation, BK k-steps staged per round;
 * - `…+splitS`: the same program over S k-slices whose partial sums matmul/splitk.ts reduces
 *   (offered next to the unsplit one when the profile's split rule asks for S > 1 slices).
 *
 * Rules:
 * - `llvmpipe` (measured on llvmpipe, 2 cores): the fewer storage loads per multiply-add the
 *   better, so big outputs get very large per-invocation tiles (64 × 32), smaller outputs step
 *   down the ladder until there are enough invocations to fill the SIMD lanes of both cores;
 *   small outputs with a long k split k; m == 1 or n == 1 goes to the gemv kernels. Unbatched
 *   products that fit the device's textures go to the texture GEMMs first: they avoid storage
 *   loads altogether (the row-texture GEMM for A·Bᵀ with rows of a multiple of 64, the texture
 *   GEMM for the rest).
 * - `gpu` (common WebGPU practice on discrete and integrated GPUs, not measured here): storage
 *   buffers only; the workgroup-memory GEMM for every output big enough to give a block per
 *   workgroup, its block the largest that still yields enough workgroups to fill the device;
 *   gemv for vectors; split-K when the output is too small to fill the device and k is long;
 *   the small register tile for tiny outputs. Never more than 64 accumulators per invocation.
 */
import type { MatmulGeometry } from '../../gpu/types.js';
import type { KernelSettings, PlannerLimits, ProfileName } from '../../gpu/profile.js';
import { type Candidate, type Chosen, choose } from '../choose.js';
import type { GemvConfig } from './gemv.js';
import { allowedModes, type MatmulEpilogue } from './layout.js';
import { type RowsGemmConfig, rowsGemmFits, rowsGemmPlan, rowsGemmSlices } from './rows-gemm.js';
import { type SharedGemmConfig, type SharedGemmShape, sharedFits } from './shared-gemm.js';
import { type TextureGemmConfig, textureGemmFits } from './texture-gemm.js';
import type { TiledConfig } from './tiled.js';

export type TexturePlan = TextureGemmConfig & { kind: 'texture'; split: false };
export type RowsPlan = RowsGemmConfig & { kind: 'rows' };

export interface MatmulPlan {
  program: TiledConfig | GemvConfig | TexturePlan | RowsPlan | SharedGemmConfig;
  /** k-slices (1: no split-K; otherwise partial sums reduced by the split-K kernel). */
  splits: number;
  /** k per slice (a multiple of 4). */
  kChunk: number;
}

// ---------------------------------------------------------------------------------------------
// The programs' shapes

/** Per-invocation tile (rows × vec4 column groups) and workgroup, largest first. */
export const TILE_LADDER: ReadonlyArray<Pick<TiledConfig, 'tm' | 'tn' | 'wgX' | 'wgY'>> = [
  { tm: 64, tn: 8, wgX: 8, wgY: 2 }, // only for outputs of at least HUGE_OUTPUTS elements (see below)
  { tm: 32, tn: 8, wgX: 8, wgY: 4 },
  { tm: 16, tn: 4, wgX: 8, wgY: 8 },
  { tm: 8, tn: 2, wgX: 8, wgY: 8 },
  { tm: 4, tn: 1, wgX: 16, wgY: 8 },
];

/**
 * The workgroup-memory GEMM's blocks, largest first. 256 invocations for the three big ones
 * (16 × 16), 64 for the small one; 16 to 64 accumulators per invocation; slabs of 4–12 KiB,
 * within WebGPU's default 16 KiB of workgroup storage.
 */
export const SHARED_LADDER: readonly SharedGemmShape[] = [
  { bm: 128, bn: 128, tm: 8, tn: 8, bk: 8 },
  { bm: 128, bn: 64, tm: 8, tn: 4, bk: 16 },
  { bm: 64, bn: 64, tm: 4, tn: 4, bk: 16 },
  { bm: 32, bn: 32, tm: 4, tn: 4, bk: 16 },
];

/**
 * The texture GEMM's blocks (texels of m × texels of n per invocation), largest first,
 * with the invocations each needs. Measured on llvmpipe (2 cores, bench/RESULTS.md):
 * 16 × 16 ran 1024³ at 19 GFLOP/s against 16 for 16 × 8 and 13 for 8 × 8, but on
 * LeNet-sized outputs (128 × 100) 16 × 8 was fastest.
 */
export const TEXTURE_LADDER: ReadonlyArray<{ r: number; t: number; minThreads: number }> = [
  { r: 4, t: 4, minThreads: 4 * 64 },
  { r: 4, t: 2, minThreads: 64 },
  { r: 2, t: 2, minThreads: 64 },
];

/** Texture GEMM blocks offered as candidates: the ladder and the smallest block. */
const TEXTURE_BLOCKS: ReadonlyArray<{ r: number; t: number }> = [...TEXTURE_LADDER, { r: 1, t: 1 }];

/** Row-texture GEMM blocks offered as candidates (the rule's own block is always added). */
const ROWS_BLOCKS: ReadonlyArray<{ r: number; t: number }> = [{ r: 4, t: 4 }, { r: 4, t: 2 }, { r: 2, t: 2 }, { r: 1, t: 1 }];

/** The dot-form gemv's outputs per invocation offered as candidates (the rule takes 4). */
const GEMV_ROWS = [4, 2, 1] as const;

/** The most accumulators (f32 values) per invocation the `gpu` rule allows: more spill registers on GPUs. */
export const GPU_MAX_ACCUMULATORS = 64;

/** Accumulators (f32) one invocation of the plan's program keeps. */
export function accumulators(plan: MatmulPlan): number {
  const p = plan.program;
  switch (p.kind) {
    case 'tiled': return p.tm * 4 * p.tn;
    case 'gemv': return p.form === 'dot' ? p.r : 4;
    case 'texture':
    case 'rows': return 16 * p.r * p.t;
    case 'shared': return p.tm * p.tn;
  }
}

/** Whether the program reads its operands through textures (the `gpu` rule never takes one). */
export function usesTextures(plan: MatmulPlan): boolean {
  return plan.program.kind === 'texture' || plan.program.kind === 'rows';
}

// ---------------------------------------------------------------------------------------------
// Completing a program for a geometry

/**
 * Tiles above 16 × 16 per invocation are only used where LLVM (llvmpipe's JIT) compiles
 * them quickly: plain A·B with vec4 loads and stores and no bounds checks. Transposed or
 * clamped variants of the 32 × 32 and 64 × 32 tiles took 10 s to minutes to compile here.
 */
export function bigTileAllowed(c: Pick<TiledConfig, 'tm' | 'tn' | 'transA' | 'transB' | 'aMode' | 'bMode' | 'cVec' | 'checked'>): boolean {
  if (c.tm * c.tn <= 64) return true;
  return !c.transA && !c.transB && c.aMode === 'vecK' && c.bMode === 'vecMN' && c.cVec && !c.checked;
}

/**
 * The 64 × 32 tile is the fastest on llvmpipe but takes LLVM 20 s (idle 2-core host) to over
 * a minute (busy host) to compile cold (Mesa's on-disk shader cache makes later runs instant);
 * it is kept for products whose output has at least this many elements, where one call
 * already costs ~0.1 s.
 */
export const HUGE_OUTPUTS = 1024 * 1024;

/** Invocations wanted before a bigger tile is worth it (2 cores × 8 lanes, a few rounds each). */
const MIN_THREADS = 64;

export function fitsLimits(wgX: number, wgY: number, lim: PlannerLimits): boolean {
  return wgX * wgY <= lim.maxComputeInvocationsPerWorkgroup && wgX <= lim.maxComputeWorkgroupSizeX && wgY <= lim.maxComputeWorkgroupSizeY;
}

/** Completes a tiled configuration for a geometry: load modes, vec4 stores, bounds checks. */
export function tiledFor(g: MatmulGeometry, tile: Pick<TiledConfig, 'tm' | 'tn' | 'wgX' | 'wgY'>, epilogue: MatmulEpilogue, split = false): TiledConfig {
  const modes = allowedModes(g);
  let aMode = modes.a[0]!;
  if (aMode === 'vecMN' && tile.tm % 4 !== 0) aMode = 'scalar';
  const cVec = g.n % 4 === 0;
  const checked = g.m % (tile.tm * tile.wgY) !== 0 || g.n % (4 * tile.tn * tile.wgX) !== 0;
  return { kind: 'tiled', ...tile, transA: g.transA, transB: g.transB, aMode, bMode: modes.b[0]!, cVec, checked, split, epilogue: split ? {} : epilogue };
}

export function gemvFor(g: MatmulGeometry, epilogue: MatmulEpilogue, split = false, r = 4, wg = 64): GemvConfig {
  const side = g.n === 1 ? 'n1' : 'm1';
  const L = side === 'n1' ? g.m : g.n;
  // The matrix operand and whether it is contiguous along k.
  const dot = side === 'n1' ? !g.transA : g.transB;
  const stridesAligned = g.aBatchStride % 4 === 0 && g.bBatchStride % 4 === 0;
  const vec = stridesAligned && (dot ? g.k % 4 === 0 : L % 4 === 0);
  const outs = dot ? r : 4;
  return { kind: 'gemv', side, form: dot ? 'dot' : 'axpy', vec, r, wg, checked: L % (wg * outs) !== 0, split, epilogue: split ? {} : epilogue };
}

/** Completes a workgroup-memory GEMM configuration for a geometry: vec4 loads and stores, bounds checks. */
export function sharedFor(g: MatmulGeometry, shape: SharedGemmShape, epilogue: MatmulEpilogue, split = false): SharedGemmConfig {
  const modes = allowedModes(g);
  return {
    kind: 'shared', ...shape, transA: g.transA, transB: g.transB,
    aVec: modes.a[0] !== 'scalar', bVec: modes.b[0] !== 'scalar', cVec: g.n % 4 === 0,
    checked: g.m % shape.bm !== 0 || g.n % shape.bn !== 0,
    split, epilogue: split ? {} : epilogue,
  };
}

/**
 * The texture GEMM takes every unbatched product whose operands fit the device's
 * textures and whose output fills at least MIN_THREADS invocations of an 8 × 8 block.
 */
export function textureFor(g: MatmulGeometry, epilogue: MatmulEpilogue, lim: PlannerLimits): TexturePlan | null {
  if (!textureApplies(g, lim)) return null;
  const block = textureBlock(g.m, g.n);
  return block ? { kind: 'texture', ...block, epilogue, split: false } : null;
}

/** Whether the texture GEMM can run this product on this device (any block). */
function textureApplies(g: MatmulGeometry, lim: PlannerLimits): boolean {
  return !!lim.maxTextureDimension2D && textureGemmFits(g, lim.maxTextureDimension2D) && g.m >= 4 && g.n >= 4 && fitsLimits(8, 8, lim);
}

/** The largest block of TEXTURE_LADDER whose invocation count an m × n output fills, or null. */
export function textureBlock(m: number, n: number): { r: number; t: number } | null {
  for (const { r, t, minThreads } of TEXTURE_LADDER) {
    if (Math.ceil(m / (4 * r)) * Math.ceil(n / (4 * t)) >= minThreads) return { r, t };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Split-K per profile

interface Slices {
  splits: number;
  kChunk: number;
}

const NO_SPLIT = (k: number): Slices => ({ splits: 1, kChunk: k });

function slices(k: number, want: number): Slices {
  const kChunk = Math.ceil(k / want / 4) * 4;
  return { splits: Math.ceil(k / kChunk), kChunk };
}

/** llvmpipe: splits k when the output alone cannot keep both cores busy. */
function llvmpipeSplits(outputs: number, k: number, maxZ: number, batch: number): Slices {
  if (outputs >= 64 * 64 || k < 512) return NO_SPLIT(k);
  const want = Math.min(32, Math.floor(k / 256), Math.floor(maxZ / batch));
  if (want < 2) return NO_SPLIT(k);
  return slices(k, want);
}

/**
 * Outputs that fill a GPU: 64 blocks of 64 × 64 (a workgroup or more per compute unit on
 * devices with up to ~64 of them). Smaller outputs with a long k split it.
 */
const GPU_FILL_OUTPUTS = 64 * 64 * 64;
/** Workgroups the `gpu` rule wants before it takes a bigger block. */
const GPU_MIN_WORKGROUPS = 64;

/** gpu: splits k (slices of at least 256) towards GPU_FILL_OUTPUTS outputs in flight. */
function gpuSplits(outputs: number, k: number, maxZ: number, batch: number): Slices {
  if (outputs >= GPU_FILL_OUTPUTS || k < 1024) return NO_SPLIT(k);
  const want = Math.min(32, Math.floor(k / 256), Math.ceil(GPU_FILL_OUTPUTS / outputs), Math.floor(maxZ / batch));
  if (want < 2) return NO_SPLIT(k);
  return slices(k, want);
}

function profileSplits(profile: ProfileName, g: MatmulGeometry, lim: PlannerLimits): Slices {
  const f = profile === 'gpu' ? gpuSplits : llvmpipeSplits;
  return f(g.batch * g.m * g.n, g.k, lim.maxComputeWorkgroupsPerDimension, g.batch);
}

// ---------------------------------------------------------------------------------------------
// Names, candidates, key

/** The variant name of a plan (what WGPRUNE_KERNEL, tuning tables and plan records use). */
export function variantName(plan: MatmulPlan): string {
  const p = plan.program;
  const base = p.kind === 'tiled' ? `tiled-${p.tm}x${p.tn}`
    : p.kind === 'gemv' ? (p.form === 'dot' ? `gemv-dot${p.r}` : 'gemv-axpy')
      : p.kind === 'texture' ? `texture-${p.r}x${p.t}`
        : p.kind === 'rows' ? `rows-${p.r}x${p.t}`
          : `shared-${p.bm}x${p.bn}-${p.tm}x${p.tn}-k${p.bk}`;
  return plan.splits > 1 ? `${base}+split${plan.splits}` : base;
}

/** The problem's key (tuning tables and plan records): `b1 m1024 k1024 n1024 nn bias relu`. */
export function matmulProblemKey(g: MatmulGeometry, epilogue: MatmulEpilogue): string {
  const parts = [`b${g.batch}`, `m${g.m}`, `k${g.k}`, `n${g.n}`, `${g.transA ? 't' : 'n'}${g.transB ? 't' : 'n'}`];
  // Batch strides other than packed matrices (a broadcast operand, a strided view) change the program.
  if (g.batch > 1 && g.aBatchStride !== g.m * g.k) parts.push(`sa${g.aBatchStride}`);
  if (g.batch > 1 && g.bBatchStride !== g.k * g.n) parts.push(`sb${g.bBatchStride}`);
  if (epilogue.bias) parts.push('bias');
  if (epilogue.relu) parts.push('relu');
  return parts.join(' ');
}

/** Every program that can run this product within the device's limits, named (see the file comment). */
export function matmulCandidates(g: MatmulGeometry, epilogue: MatmulEpilogue, settings: KernelSettings): Candidate<MatmulPlan>[] {
  const lim = settings.limits;
  const out: Candidate<MatmulPlan>[] = [];
  const add = (plan: MatmulPlan) => {
    const variant = variantName(plan);
    if (!out.some((c) => c.variant === variant)) out.push({ variant, plan });
  };
  const ep = { ...(epilogue.bias ? { bias: true } : {}), ...(epilogue.relu ? { relu: true } : {}) };
  const sl = profileSplits(settings.profile, g, lim);
  // Unsplit, then split when the profile's rule would split this k.
  const both = (make: (split: boolean) => MatmulPlan['program']) => {
    add({ program: make(false), splits: 1, kChunk: g.k });
    if (sl.splits > 1) add({ program: make(true), splits: sl.splits, kChunk: sl.kChunk });
  };

  if (lim.maxTextureDimension2D && rowsGemmFits(g, lim.maxTextureDimension2D)) {
    const own = rowsGemmPlan(g.m, g.k, g.n);
    for (const { r, t } of [{ r: own.r, t: own.t }, ...ROWS_BLOCKS]) {
      // The row-texture GEMM ignores its epilogue when it writes partial sums (the reduction applies it).
      const rows = (split: boolean): RowsPlan => ({ kind: 'rows', r, t, epilogue: ep, split, vec4: g.n % 4 === 0 });
      add({ program: rows(false), splits: 1, kChunk: g.k });
      const { splits, kChunk4 } = rowsGemmSlices(g.m, g.k, g.n, r, t);
      if (splits > 1) add({ program: rows(true), splits, kChunk: kChunk4 * 4 });
    }
  }
  if (textureApplies(g, lim)) {
    for (const { r, t } of TEXTURE_BLOCKS) add({ program: { kind: 'texture', r, t, epilogue: ep, split: false }, splits: 1, kChunk: g.k });
  }
  if (g.m === 1 || g.n === 1) {
    const wg = Math.min(64, lim.maxComputeWorkgroupSizeX, lim.maxComputeInvocationsPerWorkgroup);
    for (const r of GEMV_ROWS) {
      const first = gemvFor(g, ep, false, r, wg);
      if (first.form === 'axpy' && r !== GEMV_ROWS[0]) break;
      both((split) => gemvFor(g, ep, split, r, wg));
    }
  }
  for (const tile of TILE_LADDER) {
    if (!fitsLimits(tile.wgX, tile.wgY, lim) || !bigTileAllowed(tiledFor(g, tile, ep))) continue;
    both((split) => tiledFor(g, tile, ep, split));
  }
  for (const shape of SHARED_LADDER) {
    if (!sharedFits(shape, lim)) continue;
    both((split) => sharedFor(g, shape, ep, split));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The profiles' rules

/** The llvmpipe profile's choice (the measured rules in the file comment). */
export function llvmpipeChoice(g: MatmulGeometry, epilogue: MatmulEpilogue, lim: PlannerLimits): { plan: MatmulPlan; why: string } {
  // A·Bᵀ with both operands row-major (a linear layer's forward): row textures by copy, no conversion
  // (matmul/rows-gemm.ts; 1.3-2× the texture GEMM on 256 × 256 × 256 to 256 × 2048 × 64, and k up to 4× longer).
  if (lim.maxTextureDimension2D && rowsGemmFits(g, lim.maxTextureDimension2D)) {
    const { r, t, splits, kChunk4 } = rowsGemmPlan(g.m, g.k, g.n);
    const plan: MatmulPlan = { program: { kind: 'rows', r, t, epilogue, split: splits > 1, vec4: g.n % 4 === 0 }, splits, kChunk: kChunk4 * 4 };
    return { plan, why: 'A·Bᵀ with rows a multiple of 64 long: row textures by copy' };
  }
  const texture = textureFor(g, epilogue, lim);
  if (texture) return { plan: { program: texture, splits: 1, kChunk: g.k }, why: 'unbatched product that fits the textures: gathered texture loads' };
  const outputs = g.batch * g.m * g.n;
  const { splits, kChunk } = llvmpipeSplits(outputs, g.k, lim.maxComputeWorkgroupsPerDimension, g.batch);
  const splitWhy = splits > 1 ? `, k split ${splits} ways (the output cannot fill both cores)` : '';
  if (g.m === 1 || g.n === 1) {
    const wg = Math.min(64, lim.maxComputeWorkgroupSizeX, lim.maxComputeInvocationsPerWorkgroup);
    return { plan: { program: gemvFor(g, epilogue, splits > 1, 4, wg), splits, kChunk }, why: `matrix–vector product${splitWhy}` };
  }
  let tile = TILE_LADDER[TILE_LADDER.length - 1]!;
  for (const t of TILE_LADDER) {
    if (!fitsLimits(t.wgX, t.wgY, lim)) continue;
    if (t.tm * t.tn > 256 && outputs < HUGE_OUTPUTS) continue;
    const threads = g.batch * Math.ceil(g.m / t.tm) * Math.ceil(g.n / (4 * t.tn));
    // Also refuse tiles that would mostly compute padding.
    const waste = (Math.ceil(g.m / (t.tm * t.wgY)) * t.tm * t.wgY * Math.ceil(g.n / (4 * t.tn * t.wgX)) * 4 * t.tn * t.wgX) / (g.m * g.n);
    if (threads >= MIN_THREADS && waste <= 1.5 && bigTileAllowed(tiledFor(g, t, epilogue, splits > 1))) {
      tile = t;
      break;
    }
  }
  return { plan: { program: tiledFor(g, tile, epilogue, splits > 1), splits, kChunk }, why: `the largest register tile that fills the cores${splitWhy}` };
}

/** The gpu profile's choice (see the file comment): storage buffers only, at most 64 accumulators per invocation. */
export function gpuChoice(g: MatmulGeometry, epilogue: MatmulEpilogue, lim: PlannerLimits): { plan: MatmulPlan; why: string } {
  const outputs = g.batch * g.m * g.n;
  const { splits, kChunk } = gpuSplits(outputs, g.k, lim.maxComputeWorkgroupsPerDimension, g.batch);
  const split = splits > 1;
  const splitWhy = split ? `, k split ${splits} ways (the output alone cannot fill the device)` : '';
  if (g.m === 1 || g.n === 1) {
    const wg = Math.min(64, lim.maxComputeWorkgroupSizeX, lim.maxComputeInvocationsPerWorkgroup);
    return { plan: { program: gemvFor(g, epilogue, split, 4, wg), splits, kChunk }, why: `matrix–vector product${splitWhy}` };
  }
  const fitting = SHARED_LADDER.filter((s) => sharedFits(s, lim));
  const smallest = fitting[fitting.length - 1];
  // Outputs under half the smallest block on a side would mostly stage padding: the small register tile instead.
  if (smallest && g.m >= smallest.bm / 2 && g.n >= smallest.bn / 2) {
    for (const s of fitting) {
      const workgroups = g.batch * Math.ceil(g.m / s.bm) * Math.ceil(g.n / s.bn) * splits;
      const waste = (Math.ceil(g.m / s.bm) * s.bm * Math.ceil(g.n / s.bn) * s.bn) / (g.m * g.n);
      if ((workgroups >= GPU_MIN_WORKGROUPS && waste <= 1.5) || s === smallest) {
        return { plan: { program: sharedFor(g, s, epilogue, split), splits, kChunk }, why: `workgroup-memory GEMM, the largest block giving ${GPU_MIN_WORKGROUPS} workgroups${splitWhy}` };
      }
    }
  }
  const small = TILE_LADDER.filter((t) => t.tm * 4 * t.tn <= GPU_MAX_ACCUMULATORS && fitsLimits(t.wgX, t.wgY, lim));
  const tile = small[small.length - 1] ?? TILE_LADDER[TILE_LADDER.length - 1]!;
  return { plan: { program: tiledFor(g, tile, epilogue, split), splits, kChunk }, why: `output smaller than a workgroup-memory block: the small register tile${splitWhy}` };
}

/** The plan for a product on this device: forced, tuned or the profile's rule (kernels/choose.ts). */
export function planMatmul(g: MatmulGeometry, epilogue: MatmulEpilogue, settings: KernelSettings): Chosen<MatmulPlan> {
  const ep = { ...(epilogue.bias ? { bias: true } : {}), ...(epilogue.relu ? { relu: true } : {}) };
  const candidates = matmulCandidates(g, ep, settings);
  const rule = () => {
    const { plan, why } = (settings.profile === 'gpu' ? gpuChoice : llvmpipeChoice)(g, ep, settings.limits);
    return { variant: variantName(plan), why };
  };
  return choose(settings, 'matmul', matmulProblemKey(g, ep), candidates, rule, { g, epilogue: ep });
}
