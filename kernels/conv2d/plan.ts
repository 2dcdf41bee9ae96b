/**
 * The convolution planner: for one pass (forward, input gradient, weight gradient) of one
 * geometry, the programs that can run it on a device with given limits, and which one to run.
 * Pure: it reads the geometry, the fused epilogue and the kernel settings (device profile,
 * limits, forced variants, tuning table), never a device. kernels/conv2d.ts runs the plans.
 *
 * Variants (the names WGPRUNE_KERNEL and tuning tables use, per family conv-fwd,
 * conv-grad-input, conv-grad-weight):
 * - `empty`: nothing to multiply (no terms in the sums, or no outputs): a fill with zeros or
 *   the bias (after its ReLU), no GEMM.
 * - `window`, `window+pool` (forward): the texture GEMM reading x in place
 *   (kernels/conv2d/window-conv.ts), `+pool` with a 2×2 stride-2 max pooling in its stores.
 * - `shifted` (forward): the texture GEMM over shifted copies of x (kernels/conv2d/shifted-conv.ts).
 * - `im2col-texture` (forward): the texture GEMM over an im2col texture (kernels/conv2d/texture-conv.ts).
 * - `pointwise` (forward without bias, input gradient): a 1×1, stride-1, unpadded convolution
 *   is a batched matmul (kernels/matmul.ts plans its own program).
 * - `implicit-{rows}x{cols}-wg{x}x{y}[+split{s}]`: implicit GEMM on storage buffers
 *   (kernels/conv2d/implicit-gemm.ts), each invocation rows × cols outputs, workgroups of
 *   x × y invocations, and for the weight gradient the reduction split into s slices.
 * Any other pooling runs the pooling kernel after the convolution, whatever the variant.
 *
 * Rules per device profile: `llvmpipe` keeps the choices measured on Mesa llvmpipe (textures
 * for gathered operands, big register tiles); `gpu` never uses textures and keeps each
 * invocation at 64 accumulators or fewer in workgroups of 64 to 256 invocations.
 */
import type { Conv2dGeometry, Pool2dGeometry } from '../../gpu/types.js';
import type { KernelFamily, KernelSettings, PlannerLimits, ProfileName } from '../../gpu/profile.js';
import { choose, type Candidate, type Chosen } from '../choose.js';
import { convGemmDims, type ConvGemmConfig, type ConvGemmKind } from './implicit-gemm.js';
import { shiftedConvFits } from './shifted-conv.js';
import { textureConvFits } from './texture-conv.js';
import { windowConvFits, windowPoolFits } from './window-conv.js';

export type ConvPass = ConvGemmKind;
export const CONV_PASSES: readonly ConvPass[] = ['fwd', 'gradInput', 'gradWeight'];

/** The kernel family each pass is planned (and forced, and tuned) under. */
export const CONV_FAMILY: Record<ConvPass, KernelFamily> = { fwd: 'conv-fwd', gradInput: 'conv-grad-input', gradWeight: 'conv-grad-weight' };

/** What the forward pass fuses: bias per output channel, then ReLU, then max pooling of the result. */
export interface ConvOptions {
  bias: boolean;
  relu: boolean;
  pool: Pool2dGeometry | null;
}

/** One implicit-GEMM program and its split of the reduction. */
export interface ConvGemmPlan {
  config: ConvGemmConfig;
  /** k-slices (1: none; otherwise partial sums summed by kernels/matmul/splitk.ts). */
  splits: number;
  /** k per slice (a multiple of 4). */
  kChunk: number;
}

interface PlanCommon {
  pass: ConvPass;
  bias: boolean;
  relu: boolean;
  /** Max pooling of the output (forward only): in the convolution's stores when `poolFused`, else by the pooling kernel after it. */
  pool: Pool2dGeometry | null;
  poolFused: boolean;
}

/** How one pass runs (kernels/conv2d.ts's convWith runs any of them). */
export type ConvPlan = PlanCommon & (
  | { path: 'empty' }
  | { path: 'window' }
  | { path: 'shifted' }
  | { path: 'im2col-texture' }
  | { path: 'pointwise' }
  | { path: 'implicit'; gemm: ConvGemmPlan }
);

/** 1×1, stride 1, no padding: the convolution is a plain (batched) matmul. */
export function isPointwise(g: Conv2dGeometry): boolean {
  return g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.ph === 0 && g.pw === 0;
}

/** The pointwise (matmul) path applies: a 1×1 forward pass without bias (the matmul's bias is per column of its output, a pixel here), or a 1×1 input gradient. */
function pointwiseApplies(pass: ConvPass, g: Conv2dGeometry, o: ConvOptions): boolean {
  return isPointwise(g) && (pass === 'gradInput' || (pass === 'fwd' && !o.bias));
}

/** Nothing to multiply: the sums have no terms (forward: no input channels; input gradient: no output channels; weight gradient: no images) or there are no outputs. */
export function isEmptyPass(pass: ConvPass, g: Conv2dGeometry): boolean {
  const d = convGemmDims(pass, g);
  return d.k === 0 || d.batch * d.m * d.n === 0;
}

/**
 * Input channels from which the llvmpipe rule reads x in place (the window path) where it fits:
 * on 1-channel inputs the shifted copies measured 1.3x faster (1 → 8 at 32×32); from 3 channels
 * the window was 1.0-1.3x faster (3 → 16 at 32×32: 1.3x).
 */
export const WINDOW_MIN_CHANNELS = 3;

type Tile = Pick<ConvGemmConfig, 'tm' | 'tn' | 'wgX' | 'wgY'>;

/**
 * The llvmpipe ladder: per-invocation tiles of up to 16 × 16 outputs (bigger ones compile
 * slowly on llvmpipe, which vectorises across invocations and rewards big register tiles),
 * 64 invocations a workgroup.
 */
export const LLVMPIPE_TILES: readonly Tile[] = [
  { tm: 16, tn: 4, wgX: 16, wgY: 4 },
  { tm: 16, tn: 4, wgX: 8, wgY: 8 },
  { tm: 8, tn: 4, wgX: 16, wgY: 4 },
  { tm: 8, tn: 2, wgX: 8, wgY: 8 },
  { tm: 4, tn: 2, wgX: 16, wgY: 4 },
  { tm: 2, tn: 2, wgX: 16, wgY: 4 },
];

/**
 * The gpu ladder: at most 64 accumulators an invocation (8 × 8; more spills registers on GPUs),
 * 64 to 256 invocations a workgroup, largest block first.
 */
export const GPU_TILES: readonly Tile[] = [
  { tm: 8, tn: 2, wgX: 16, wgY: 16 },
  { tm: 8, tn: 2, wgX: 16, wgY: 8 },
  { tm: 4, tn: 2, wgX: 16, wgY: 8 },
  { tm: 4, tn: 1, wgX: 16, wgY: 8 },
  { tm: 2, tn: 1, wgX: 16, wgY: 4 },
];

/** Outputs one invocation of a tile accumulates. */
export const accumulators = (t: Tile) => t.tm * 4 * t.tn;

/** Workgroups the gpu rule wants a pass to fill (two per compute unit on a 64-unit GPU) before it steps down to smaller tiles or splits k. */
const GPU_MIN_WORKGROUPS = 128;

/** Normalises the options of a pass: the backward passes take none. */
function optionsFor(pass: ConvPass, options: Partial<ConvOptions>): ConvOptions {
  const o = { bias: !!options.bias, relu: !!options.relu, pool: options.pool ?? null };
  if (pass !== 'fwd' && (o.bias || o.relu || o.pool)) {
    throw new Error(`conv2d: a fused ReLU belongs to the forward pass, and so do its bias and pooling; not ${pass}`);
  }
  return o;
}

/** The tuning-table key of a problem: the geometry and, for the forward pass, what it fuses. */
export function convProblemKey(pass: ConvPass, g: Conv2dGeometry, options: Partial<ConvOptions> = {}): string {
  const o = optionsFor(pass, options);
  let key = `n${g.n}.c${g.c}.${g.h}x${g.w}.oc${g.oc}.k${g.kh}x${g.kw}.s${g.sh}x${g.sw}.p${g.ph}x${g.pw}.d${g.dh}x${g.dw}`;
  if (o.bias) key += '+bias';
  if (o.relu) key += '+relu';
  if (o.pool) key += `+pool${o.pool.kh}x${o.pool.kw}.s${o.pool.sh}x${o.pool.sw}.p${o.pool.ph}x${o.pool.pw}`;
  return key;
}

export function implicitVariant(t: Tile, splits: number): string {
  return `implicit-${t.tm}x${4 * t.tn}-wg${t.wgX}x${t.wgY}${splits > 1 ? `+split${splits}` : ''}`;
}

type Dims = ReturnType<typeof convGemmDims>;

/** Whether a tile's workgroup and grid (with `splits` k-slices) stay within the device's limits. */
function tileFits(t: Tile, d: Dims, lim: PlannerLimits, splits: number): boolean {
  const maxGroups = lim.maxComputeWorkgroupsPerDimension;
  return t.wgX <= lim.maxComputeWorkgroupSizeX && t.wgY <= lim.maxComputeWorkgroupSizeY && t.wgX * t.wgY <= lim.maxComputeInvocationsPerWorkgroup &&
    Math.ceil(d.n / (4 * t.tn * t.wgX)) <= maxGroups && Math.ceil(d.m / (t.tm * t.wgY)) <= maxGroups && d.batch * splits <= maxGroups;
}

/** Padded outputs over real ones: how much of the grid computes nothing. */
const waste = (t: Tile, d: Dims) =>
  (Math.ceil(d.m / (t.tm * t.wgY)) * t.tm * t.wgY * Math.ceil(d.n / (4 * t.tn * t.wgX)) * 4 * t.tn * t.wgX) / (d.m * d.n);
const invocations = (t: Tile, d: Dims) => d.batch * Math.ceil(d.m / t.tm) * Math.ceil(d.n / (4 * t.tn));
const workgroups = (t: Tile, d: Dims) => d.batch * Math.ceil(d.m / (t.tm * t.wgY)) * Math.ceil(d.n / (4 * t.tn * t.wgX));

/** Slices of `k` for a wanted count: chunks a multiple of 4 long, as many slices as they need. */
function splitOf(k: number, want: number): { splits: number; kChunk: number } {
  const kChunk = Math.ceil(k / want / 4) * 4;
  return { splits: Math.ceil(k / kChunk), kChunk };
}

/**
 * The llvmpipe rule's split of the weight gradient's reduction (batch × output pixels): outputs
 * under 128 × 128 with k ≥ 1024 split into k / 512 slices, at most 32.
 */
function llvmpipeSplit(d: Dims): number {
  if (d.m * d.n >= 128 * 128 || d.k < 1024) return 1;
  const want = Math.min(32, Math.floor(d.k / 512));
  return want >= 2 ? want : 1;
}

/** Split counts offered for a weight gradient: the llvmpipe rule's, then powers of two with slices of at least 64 terms. */
function splitOptions(d: Dims): Array<{ splits: number; kChunk: number }> {
  const out = new Map<number, { splits: number; kChunk: number }>();
  for (const want of [llvmpipeSplit(d), 2, 4, 8, 16, 32, 64]) {
    if (want < 2 || d.k / want < 64) continue;
    const s = splitOf(d.k, want);
    if (s.splits >= 2 && !out.has(s.splits)) out.set(s.splits, s);
  }
  return [...out.values()];
}

function gemmPlan(pass: ConvPass, d: Dims, t: Tile, o: ConvOptions, split: { splits: number; kChunk: number }): ConvGemmPlan {
  const config: ConvGemmConfig = {
    kind: pass, ...t, aVec: pass === 'fwd' && d.k % 4 === 0, cVec: d.n % 4 === 0,
    checked: d.m % (t.tm * t.wgY) !== 0 || d.n % (4 * t.tn * t.wgX) !== 0,
    split: split.splits > 1, bias: pass === 'fwd' && o.bias, relu: pass === 'fwd' && o.relu,
  };
  return { config, ...split };
}

/** Every tile of both ladders, once. */
const ALL_TILES: readonly Tile[] = [...LLVMPIPE_TILES, ...GPU_TILES.filter((t) => !LLVMPIPE_TILES.some((u) => implicitVariant(u, 1) === implicitVariant(t, 1)))];

/**
 * Every program that can run this pass on a device with `settings.limits`, whatever the
 * profile (a tuner measures them all; the profile's rule picks one without measuring).
 */
export function convCandidates(pass: ConvPass, g: Conv2dGeometry, options: Partial<ConvOptions>, settings: KernelSettings): Candidate<ConvPlan>[] {
  const o = optionsFor(pass, options);
  const lim = settings.limits;
  const common: PlanCommon = { pass, ...o, poolFused: false };
  if (isEmptyPass(pass, g)) return [{ variant: 'empty', plan: { ...common, path: 'empty' } }];
  const out: Candidate<ConvPlan>[] = [];
  if (pass === 'fwd') {
    if (windowConvFits(g, lim)) {
      if (o.pool && windowPoolFits(g, o.pool)) out.push({ variant: 'window+pool', plan: { ...common, poolFused: true, path: 'window' } });
      out.push({ variant: 'window', plan: { ...common, path: 'window' } });
    }
    if (shiftedConvFits(g, lim)) out.push({ variant: 'shifted', plan: { ...common, path: 'shifted' } });
    if (textureConvFits(g, lim)) out.push({ variant: 'im2col-texture', plan: { ...common, path: 'im2col-texture' } });
  }
  if (pointwiseApplies(pass, g, o)) out.push({ variant: 'pointwise', plan: { ...common, path: 'pointwise' } });
  const d = convGemmDims(pass, g);
  const splits = pass === 'gradWeight' ? [{ splits: 1, kChunk: d.k }, ...splitOptions(d)] : [{ splits: 1, kChunk: d.k }];
  for (const s of splits) {
    for (const t of ALL_TILES) {
      if (tileFits(t, d, lim, s.splits)) out.push({ variant: implicitVariant(t, s.splits), plan: { ...common, path: 'implicit', gemm: gemmPlan(pass, d, t, o, s) } });
    }
  }
  return out;
}

type Rule = { variant: string; why: string };

/** The llvmpipe ladder's tile: the biggest with at most 34 % padding and 64 invocations (both cores' SIMD lanes), else the least padded. */
function llvmpipeTile(d: Dims, lim: PlannerLimits, splits: number): Tile | undefined {
  const fits = LLVMPIPE_TILES.filter((t) => tileFits(t, d, lim, splits));
  return fits.find((t) => waste(t, d) <= 1.34 && invocations(t, d) >= 64) ?? [...fits].sort((x, y) => waste(x, d) - waste(y, d))[0];
}

/** Measured on Mesa llvmpipe (2 cores); the figures are in the comments of each path's file. */
function llvmpipeRule(pass: ConvPass, g: Conv2dGeometry, o: ConvOptions, lim: PlannerLimits): Rule {
  if (isEmptyPass(pass, g)) return { variant: 'empty', why: 'nothing to multiply: a fill' };
  if (pass === 'fwd') {
    const window = g.c >= WINDOW_MIN_CHANNELS && windowConvFits(g, lim);
    if (window && o.pool && windowPoolFits(g, o.pool)) return { variant: 'window+pool', why: 'x read in place through a texture, 2×2 pooling in the stores' };
    // x in place (the shifted copies were 15 % of a 64→64 and ~40 % of a 16→16 3×3 convolution at batch 256),
    // else shifted copies (the im2col pass was 60 % of a 64→64 3×3 convolution at batch 32), else im2col in a
    // texture (from 8 output channels: LeNet-5's conv1, 6 channels, ran 0.6× as fast through textures).
    if (window) return { variant: 'window', why: `stride 1, rows a multiple of 4 wide, ${WINDOW_MIN_CHANNELS}+ input channels: x read in place through a texture` };
    if (shiftedConvFits(g, lim)) return { variant: 'shifted', why: 'output rows a multiple of 4 wide: texture GEMM over shifted copies of x' };
    if (textureConvFits(g, lim)) return { variant: 'im2col-texture', why: 'texture GEMM over an im2col texture' };
  }
  // Not measured against implicit GEMM: a matmul reads both operands in place, with no gather at all.
  if (pointwiseApplies(pass, g, o)) return { variant: 'pointwise', why: '1×1, stride 1, no padding: a matmul' };
  const d = convGemmDims(pass, g);
  const want = pass === 'gradWeight' ? llvmpipeSplit(d) : 1;
  const split = want > 1 ? splitOf(d.k, want) : { splits: 1, kChunk: d.k };
  const tile = llvmpipeTile(d, lim, split.splits);
  if (!tile) return { variant: 'none', why: 'no tile fits the device limits' };
  const why = split.splits > 1 ? `implicit GEMM; the long reduction (${d.k}) over few outputs split in ${split.splits}` : 'implicit GEMM';
  return { variant: implicitVariant(tile, split.splits), why };
}

/**
 * The gpu ladder's tile and split: the biggest tile with at most 34 % padding that fills
 * GPU_MIN_WORKGROUPS workgroups — for the weight gradient counting its k-slices (a small output
 * over a long reduction splits k, slices of at least 256 terms, at most 64, before it shrinks the
 * tile: bigger tiles reuse each load more) — else the smallest with at most 34 % padding, else
 * the least padded.
 */
function gpuChoice(pass: ConvPass, d: Dims, lim: PlannerLimits): { tile: Tile; split: { splits: number; kChunk: number } } | undefined {
  const fits = GPU_TILES.filter((t) => tileFits(t, d, lim, 1));
  const lean = fits.filter((t) => waste(t, d) <= 1.34);
  const wantFor = (t: Tile) => {
    let want = 1;
    while (pass === 'gradWeight' && workgroups(t, d) * want < GPU_MIN_WORKGROUPS && want < 64 && d.k / (2 * want) >= 256) want *= 2;
    return want;
  };
  const tile = lean.find((t) => workgroups(t, d) * wantFor(t) >= GPU_MIN_WORKGROUPS) ?? lean[lean.length - 1] ?? [...fits].sort((x, y) => waste(x, d) - waste(y, d))[0];
  if (!tile) return undefined;
  const want = wantFor(tile);
  const split = want > 1 ? splitOf(d.k, want) : { splits: 1, kChunk: d.k };
  return tileFits(tile, d, lim, split.splits) ? { tile, split } : undefined;
}

/** Published WebGPU practice for discrete and integrated GPUs (not measured in this project). */
function gpuRule(pass: ConvPass, g: Conv2dGeometry, o: ConvOptions, lim: PlannerLimits): Rule {
  if (isEmptyPass(pass, g)) return { variant: 'empty', why: 'nothing to multiply: a fill' };
  if (pointwiseApplies(pass, g, o)) return { variant: 'pointwise', why: '1×1, stride 1, no padding: a matmul' };
  const d = convGemmDims(pass, g);
  const c = gpuChoice(pass, d, lim);
  if (!c) return { variant: 'none', why: 'no tile fits the device limits' };
  const { tile, split } = c;
  const why = `implicit GEMM on storage buffers, ${accumulators(tile)} accumulators an invocation, ${tile.wgX * tile.wgY} invocations a workgroup` +
    (split.splits > 1 ? `; the reduction (${d.k} terms) split in ${split.splits} to fill the GPU` : '');
  return { variant: implicitVariant(tile, split.splits), why };
}

/** The profile's choice without measuring (the rule `planConv` falls back to). */
export function convRule(profile: ProfileName, pass: ConvPass, g: Conv2dGeometry, options: Partial<ConvOptions>, limits: PlannerLimits): Rule {
  const o = optionsFor(pass, options);
  return profile === 'gpu' ? gpuRule(pass, g, o, limits) : llvmpipeRule(pass, g, o, limits);
}

/** The plan for one pass: forced variant, else the tuning table's winner, else the profile's rule. */
export function planConv(pass: ConvPass, g: Conv2dGeometry, options: Partial<ConvOptions>, settings: KernelSettings): Chosen<ConvPlan> {
  const o = optionsFor(pass, options);
  const candidates = convCandidates(pass, g, o, settings);
  return choose(settings, CONV_FAMILY[pass], convProblemKey(pass, g, o), candidates, () => convRule(settings.profile, pass, g, o, settings.limits), { pass, g, options: o });
}
