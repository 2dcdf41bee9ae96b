/**
 * NCHW conv2d launchers: forward, gradient w.r.t. the input and gradient w.r.t. the
 * weights. The forward pass runs the texture GEMM where the shapes fit the device's
 * textures: reading x in place (kernels/conv2d/window-conv.ts: stride 1, rows a multiple
 * of 4 wide), over shifted copies of x (conv2d/shifted-conv.ts: output rows a multiple of
 * 4 wide) or over an im2col texture (conv2d/texture-conv.ts). Otherwise, and for
 * the gradients, the main path is implicit GEMM on the register-blocked matmul skeleton
 * (kernels/conv2d/implicit-gemm.ts; no im2col buffer), and 1×1 stride-1 unpadded
 * convolutions go straight to the matmul kernels. The direct kernels below (one
 * invocation per output element) remain as `*Direct`, a reference and fallback.
 *
 * Layouts: x [n, c, h, w], weights [oc, c, kh, kw], y / gy [n, oc, oh, ow].
 * The geometry travels in `params` (see GEOMETRY); the WGSL never sees a shape.
 */
import type { Conv2dGeometry, Pool2dGeometry } from '../gpu/types.js';
import type { GpuRuntime, GpuStorage } from '../gpu/runtime.js';
import { geometryLets, geometryParams, perElementMain, type Program } from '../gpu/program.js';
import { matmul } from './matmul.js';
import { convGemmDims, convGemmParams, convGemmProgram, type ConvGemmConfig, type ConvGemmKind } from './conv2d/implicit-gemm.js';
import { splitReduceLaunch, splitReduceProgram } from './matmul/splitk.js';
import { textureConvFits, textureConvForward } from './conv2d/texture-conv.js';
import { shiftedConvFits, shiftedConvForward } from './conv2d/shifted-conv.js';
import { windowConvFits, windowConvForward, windowPoolFits } from './conv2d/window-conv.js';
import { maxPool2d } from './pool2d.js';

const WG = 64;

/** params[0] is the thread count; params[1..] the geometry fields in this order. */
const GEOMETRY = ['n', 'c', 'h', 'w', 'oc', 'kh', 'kw', 'sh', 'sw', 'ph', 'pw', 'dh', 'dw', 'oh', 'ow'] as const;

function convParams(total: number, g: Conv2dGeometry): number[] {
  return geometryParams(total, g, GEOMETRY);
}

/** Common entry: `i` is this invocation's output element, threads past `params[0]` return. */
function entry(body: string): string {
  return perElementMain(`${geometryLets(GEOMETRY)}\n${body}`);
}

// Forward: y[b, o, oy, ox] = bias[o] + Σ_{ci, ky, kx} x[b, ci, oy·sh − ph + ky·dh, ox·sw − pw + kx·dw] · w[o, ci, ky, kx],
// taps that fall into the padding contribute nothing; then max(y, 0) with `relu`.
function forwardProgram(hasBias: boolean, relu: boolean): Program {
  return {
    key: `conv2d:fwd:${hasBias ? 'bias' : 'nobias'}${relu ? '+relu' : ''}`,
    inputs: hasBias ? [{ name: 'X' }, { name: 'Wt' }, { name: 'Bias' }] : [{ name: 'X' }, { name: 'Wt' }],
    outputs: [{ name: 'Y' }],
    workgroupSize: [WG],
    body: () =>
      entry(`
  let idx = i32(i);
  let ox = idx % OW;
  let oy = (idx / OW) % OH;
  let o = (idx / (OW * OH)) % OC;
  let b = idx / (OW * OH * OC);
  let y0 = oy * SH - PH;
  let x0 = ox * SW - PW;
  var acc = ${hasBias ? 'Bias[o]' : '0.0'};
  for (var ci = 0; ci < C; ci++) {
    let xPlane = (b * C + ci) * H;
    let wPlane = (o * C + ci) * KH;
    for (var ky = 0; ky < KH; ky++) {
      let iy = y0 + ky * DH;
      if (iy < 0 || iy >= H) { continue; }
      let xRow = (xPlane + iy) * W;
      let wRow = (wPlane + ky) * KW;
      for (var kx = 0; kx < KW; kx++) {
        let ix = x0 + kx * DW;
        if (ix < 0 || ix >= W) { continue; }
        acc += X[xRow + ix] * Wt[wRow + kx];
      }
    }
  }
  Y[i] = ${relu ? 'max(acc, 0.0)' : 'acc'};`),
  };
}

export function conv2dForwardDirect(rt: GpuRuntime, x: GpuStorage, w: GpuStorage, bias: GpuStorage | null, g: Conv2dGeometry, relu = false): GpuStorage {
  const total = g.n * g.oc * g.oh * g.ow;
  const out = rt.alloc(total);
  const inputs = bias ? [x, w, bias] : [x, w];
  rt.run(forwardProgram(bias !== null, relu), inputs, [out], convParams(total, g), Math.ceil(total / WG));
  return out;
}

// Input gradient, one invocation per x element (b, ci, iy, ix). Output row oy reads
// iy through tap ky when oy·sh − ph + ky·dh = iy, i.e. oy = (iy + ph − ky·dh) / sh,
// which must divide exactly and land in [0, oh); likewise for columns.
const gradInputProgram: Program = {
  key: 'conv2d:gradInput',
  inputs: [{ name: 'GY' }, { name: 'Wt' }],
  outputs: [{ name: 'GX' }],
  workgroupSize: [WG],
  body: () =>
    entry(`
  let idx = i32(i);
  let ix = idx % W;
  let iy = (idx / W) % H;
  let ci = (idx / (W * H)) % C;
  let b = idx / (W * H * C);
  var acc = 0.0;
  for (var o = 0; o < OC; o++) {
    let gyPlane = (b * OC + o) * OH;
    let wPlane = (o * C + ci) * KH;
    for (var ky = 0; ky < KH; ky++) {
      let ty = iy + PH - ky * DH;
      if (ty < 0 || ty % SH != 0) { continue; }
      let oy = ty / SH;
      if (oy >= OH) { continue; }
      let gyRow = (gyPlane + oy) * OW;
      let wRow = (wPlane + ky) * KW;
      for (var kx = 0; kx < KW; kx++) {
        let tx = ix + PW - kx * DW;
        if (tx < 0 || tx % SW != 0) { continue; }
        let ox = tx / SW;
        if (ox >= OW) { continue; }
        acc += GY[gyRow + ox] * Wt[wRow + kx];
      }
    }
  }
  GX[i] = acc;`),
};

export function conv2dGradInputDirect(rt: GpuRuntime, gy: GpuStorage, w: GpuStorage, g: Conv2dGeometry): GpuStorage {
  const total = g.n * g.c * g.h * g.w;
  const out = rt.alloc(total);
  rt.run(gradInputProgram, [gy, w], [out], convParams(total, g), Math.ceil(total / WG));
  return out;
}

// Weight gradient, one invocation per weight element (o, ci, ky, kx):
// gw = Σ_{b, oy, ox} gy[b, o, oy, ox] · x[b, ci, oy·sh − ph + ky·dh, ox·sw − pw + kx·dw].
// The valid oy range (input row inside [0, h)) is computed up front instead of testing every row.
const gradWeightProgram: Program = {
  key: 'conv2d:gradWeight',
  inputs: [{ name: 'X' }, { name: 'GY' }],
  outputs: [{ name: 'GW' }],
  workgroupSize: [WG],
  body: () =>
    `
// Smallest o >= 0 with o·s + off >= 0, and one past the largest with o·s + off < size, clipped to [0, count].
fn firstValid(off: i32, s: i32) -> i32 { return select(0, (-off + s - 1) / s, off < 0); }
fn endValid(off: i32, s: i32, size: i32, count: i32) -> i32 {
  if (off >= size) { return 0; }
  return min(count, (size - 1 - off) / s + 1);
}` +
    entry(`
  let idx = i32(i);
  let kx = idx % KW;
  let ky = (idx / KW) % KH;
  let ci = (idx / (KW * KH)) % C;
  let o = idx / (KW * KH * C);
  let yOff = ky * DH - PH;
  let xOff = kx * DW - PW;
  let oyBegin = firstValid(yOff, SH);
  let oyEnd = endValid(yOff, SH, H, OH);
  let oxBegin = firstValid(xOff, SW);
  let oxEnd = endValid(xOff, SW, W, OW);
  var acc = 0.0;
  for (var b = 0; b < N; b++) {
    let xPlane = (b * C + ci) * H;
    let gyPlane = (b * OC + o) * OH;
    for (var oy = oyBegin; oy < oyEnd; oy++) {
      let xRow = (xPlane + oy * SH + yOff) * W + xOff;
      let gyRow = (gyPlane + oy) * OW;
      for (var ox = oxBegin; ox < oxEnd; ox++) {
        acc += GY[gyRow + ox] * X[xRow + ox * SW];
      }
    }
  }
  GW[i] = acc;`),
};

export function conv2dGradWeightDirect(rt: GpuRuntime, x: GpuStorage, gy: GpuStorage, g: Conv2dGeometry): GpuStorage {
  const total = g.oc * g.c * g.kh * g.kw;
  const out = rt.alloc(total);
  rt.run(gradWeightProgram, [x, gy], [out], convParams(total, g), Math.ceil(total / WG));
  return out;
}

// ---- implicit GEMM (main path) ----

/** Per-invocation tiles for the convolution GEMMs (at most 16 × 16: bigger ones compile slowly on llvmpipe). */
const CONV_TILES: ReadonlyArray<Pick<ConvGemmConfig, 'tm' | 'tn' | 'wgX' | 'wgY'>> = [
  { tm: 16, tn: 4, wgX: 16, wgY: 4 },
  { tm: 16, tn: 4, wgX: 8, wgY: 8 },
  { tm: 8, tn: 4, wgX: 16, wgY: 4 },
  { tm: 8, tn: 2, wgX: 8, wgY: 8 },
  { tm: 4, tn: 2, wgX: 16, wgY: 4 },
  { tm: 2, tn: 2, wgX: 16, wgY: 4 },
];

export interface ConvPlan {
  config: ConvGemmConfig;
  splits: number;
  kChunk: number;
}

/** Chooses tile, vec4 modes, bounds checks and split-K for one convolution pass (`relu`: forward only, fused into the stores). */
export function selectConvGemm(kind: ConvGemmKind, g: Conv2dGeometry, bias: boolean, maxInvocations = 1024, relu = false): ConvPlan {
  if (relu && kind !== 'fwd') throw new Error(`conv2d: a fused ReLU belongs to the forward pass, not ${kind}`);
  const d = convGemmDims(kind, g);
  const fits = CONV_TILES.filter((t) => t.wgX * t.wgY <= maxInvocations);
  const waste = (t: (typeof CONV_TILES)[number]) =>
    (Math.ceil(d.m / (t.tm * t.wgY)) * t.tm * t.wgY * Math.ceil(d.n / (4 * t.tn * t.wgX)) * 4 * t.tn * t.wgX) / (d.m * d.n);
  const threads = (t: (typeof CONV_TILES)[number]) => d.batch * Math.ceil(d.m / t.tm) * Math.ceil(d.n / (4 * t.tn));
  const tile = fits.find((t) => waste(t) <= 1.34 && threads(t) >= 64) ?? [...fits].sort((x, y) => waste(x) - waste(y))[0]!;
  let splits = 1, kChunk = d.k;
  if (kind === 'gradWeight' && d.m * d.n < 128 * 128 && d.k >= 1024) {
    const want = Math.min(32, Math.floor(d.k / 512));
    if (want >= 2) {
      kChunk = Math.ceil(d.k / want / 4) * 4;
      splits = Math.ceil(d.k / kChunk);
    }
  }
  const config: ConvGemmConfig = {
    kind, ...tile, aVec: kind === 'fwd' && d.k % 4 === 0, cVec: d.n % 4 === 0,
    checked: d.m % (tile.tm * tile.wgY) !== 0 || d.n % (4 * tile.tn * tile.wgX) !== 0,
    split: splits > 1, bias: kind === 'fwd' && bias, relu,
  };
  return { config, splits, kChunk };
}

/** Runs one convolution pass with a given plan (tests force variants through this). */
export function convGemmWith(rt: GpuRuntime, plan: ConvPlan, a: GpuStorage, b: GpuStorage, bias: GpuStorage | null, g: Conv2dGeometry): GpuStorage {
  const c = plan.config;
  const d = convGemmDims(c.kind, g);
  const out = rt.alloc(d.batch * d.m * d.n);
  if (out.size === 0) return out;
  if (!!bias !== c.bias) throw new Error(`conv2d: the plan ${c.kind} ${c.bias ? 'expects' : 'takes no'} bias`);
  if (plan.splits > 1 !== c.split) throw new Error('conv2d: split-K plans need a partial-sum program and vice versa');
  if (d.k === 0) throw new Error('conv2d: empty reduction');
  const z = d.batch * plan.splits;
  if (z > rt.limits.maxComputeWorkgroupsPerDimension) throw new Error(`conv2d: batch ${d.batch} × ${plan.splits} k-slices exceeds the adapter's workgroup limit`);
  const target = plan.splits > 1 ? rt.alloc(z * d.m * d.n) : out;
  const grid: [number, number, number] = [Math.ceil(d.n / (4 * c.tn * c.wgX)), Math.ceil(d.m / (c.tm * c.wgY)), z];
  rt.run(convGemmProgram(c), bias ? [a, b, bias] : [a, b], [target], convGemmParams(g, c.kind, plan.splits, plan.kChunk), grid);
  if (plan.splits > 1) {
    const rc = { vec: d.n % 4 === 0, bias: false, relu: false };
    const { params, workgroups } = splitReduceLaunch(rc, d.batch, d.m, d.n, plan.splits);
    rt.run(splitReduceProgram(rc), [target], [out], params, workgroups);
    rt.release(target);
  }
  return out;
}

/**
 * A pass whose sums have no terms (forward: no input channels; input gradient: no output
 * channels; weight gradient: no images) but whose output is not empty: the direct kernels
 * write the bias or zeros, where the GEMM paths need a reduction of at least one term.
 */
function emptyReduction(kind: ConvGemmKind, g: Conv2dGeometry): boolean {
  const d = convGemmDims(kind, g);
  return d.k === 0 && d.batch * d.m * d.n > 0;
}

/** 1×1, stride 1, no padding: the convolution is a plain (batched) matmul. */
export function isPointwise(g: Conv2dGeometry): boolean {
  return g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.ph === 0 && g.pw === 0;
}

/** Input channels from which conv2dForward reads x in place (kernels/conv2d/window-conv.ts) where it fits. */
export const WINDOW_MIN_CHANNELS = 3;

/**
 * y = conv(x, w) + bias, then ReLU when `relu`: every path applies it in its GEMM's store
 * epilogue (no separate pass over y). Then, when `pool` is given, max pooling of y with that
 * geometry: in the window GEMM's stores for 2×2 stride 2, else by the pooling kernel.
 */
export function conv2dForward(rt: GpuRuntime, x: GpuStorage, w: GpuStorage, bias: GpuStorage | null, g: Conv2dGeometry, relu = false, pool: Pool2dGeometry | null = null): GpuStorage {
  if (emptyReduction('fwd', g)) {
    // No input channels: y is the bias (or zero), as a sum over nothing (the GEMM paths need k ≥ 1).
    const y = conv2dForwardDirect(rt, x, w, bias, g, relu);
    if (!pool) return y;
    const { out } = maxPool2d(rt, y, pool, false);
    rt.release(y);
    return out;
  }
  // The window path from 3 input channels: on 1-channel inputs the shifted copies measured 1.3x faster
  // (1 -> 8 at 32x32); from 3 channels the window was 1.0-1.3x faster (3 -> 16 at 32x32: 1.3x).
  const window = g.c >= WINDOW_MIN_CHANNELS && windowConvFits(rt, g);
  if (!pool) return convOnly(rt, x, w, bias, g, relu, window);
  // 2×2 max pooling in the window GEMM's stores: the full-size output is never written.
  if (window && windowPoolFits(g, pool)) return windowConvForward(rt, x, w, bias, g, Infinity, { relu, pool: true });
  const y = convOnly(rt, x, w, bias, g, relu, window);
  const { out } = maxPool2d(rt, y, pool, false);
  rt.release(y);
  return out;
}

function convOnly(rt: GpuRuntime, x: GpuStorage, w: GpuStorage, bias: GpuStorage | null, g: Conv2dGeometry, relu: boolean, window: boolean): GpuStorage {
  // Texture GEMM reading x in place for stride-1 convolutions over rows a multiple of 4 wide
  // (kernels/conv2d/window-conv.ts), else over shifted copies of x where output rows are
  // (kernels/conv2d/shifted-conv.ts), else over an im2col texture (kernels/conv2d/texture-conv.ts).
  if (window) return windowConvForward(rt, x, w, bias, g, Infinity, { relu });
  if (shiftedConvFits(rt, g)) return shiftedConvForward(rt, x, w, bias, g, Infinity, relu);
  if (textureConvFits(rt, g)) return textureConvForward(rt, x, w, bias, g, Infinity, relu);
  if (isPointwise(g) && !bias) {
    // Y[b] [oc, h·w] = W [oc, c] · X[b] [c, h·w]  (the matmul's bias is per column, so a biased 1×1 conv stays on implicit GEMM)
    const hw = g.h * g.w;
    return matmul(rt, w, x, { batch: g.n, m: g.oc, k: g.c, n: hw, transA: false, transB: false, aBatchStride: 0, bBatchStride: g.c * hw }, { relu });
  }
  return convGemmWith(rt, selectConvGemm('fwd', g, !!bias, rt.limits.maxComputeInvocationsPerWorkgroup, relu), w, x, bias, g);
}

export function conv2dGradInput(rt: GpuRuntime, gy: GpuStorage, w: GpuStorage, g: Conv2dGeometry): GpuStorage {
  if (emptyReduction('gradInput', g)) return conv2dGradInputDirect(rt, gy, w, g);
  if (isPointwise(g)) {
    // gX[b] [c, h·w] = Wᵀ [c, oc] · gY[b] [oc, h·w]   (W stored [oc, c]: the transposed-A variant)
    const hw = g.h * g.w;
    return matmul(rt, w, gy, { batch: g.n, m: g.c, k: g.oc, n: hw, transA: true, transB: false, aBatchStride: 0, bBatchStride: g.oc * hw });
  }
  return convGemmWith(rt, selectConvGemm('gradInput', g, false, rt.limits.maxComputeInvocationsPerWorkgroup), w, gy, null, g);
}

export function conv2dGradWeight(rt: GpuRuntime, x: GpuStorage, gy: GpuStorage, g: Conv2dGeometry): GpuStorage {
  if (emptyReduction('gradWeight', g)) return conv2dGradWeightDirect(rt, x, gy, g);
  return convGemmWith(rt, selectConvGemm('gradWeight', g, false, rt.limits.maxComputeInvocationsPerWorkgroup), gy, x, null, g);
}
