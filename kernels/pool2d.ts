/**
 * NCHW 2-D max and average pooling, forward and backward, with PyTorch semantics:
 * max pooling treats padding as −inf, the first maximum in row-major window order
 * wins and NaN propagates; average pooling divides by the window clipped to the
 * padded input (count_include_pad) or to the input itself.
 *
 * Every kernel runs one invocation per element it writes, with no atomics: the
 * backward kernels run per *input* element and loop over the windows that cover it.
 * A "plane" is one (batch, channel) image; `argmax` holds, per output, the flat index
 * iy·w + ix of the chosen input within its plane, stored as f32 (−1 for a window
 * that lies entirely in the padding).
 */
import type { Pool2dGeometry } from '../gpu/types.js';
import type { GpuRuntime, GpuStorage } from '../gpu/runtime.js';
import { type ParamDecl, perElementMain, programFamily } from '../gpu/program.js';
import { udivWgsl } from './strided-index.js';

const WG = 64;

/** Parameters: the thread count `n`, then the geometry fields (i32: padding makes coordinates negative). */
const GEOMETRY = ['h', 'w', 'kh', 'kw', 'sh', 'sw', 'ph', 'pw', 'oh', 'ow'] as const;
const GEOMETRY_PARAMS: ParamDecl = [['n', 'u32'], ...GEOMETRY.map((k) => [k, 'i32'] as const)];

function poolParams(total: number, g: Pool2dGeometry): Record<string, number> {
  return { n: total, ...Object.fromEntries(GEOMETRY.map((k) => [k, g[k]])) };
}

/** Common entry: `i` is this invocation's element (threads past `n` return); the geometry as upper-cased lets. */
function entry(body: string): string {
  const lets = GEOMETRY.map((k) => `  let ${k.toUpperCase()} = P.${k};`).join('\n');
  return `${udivWgsl}\n${perElementMain(`${lets}\n${body}`)}`;
}

/**
 * Splits `i` over [planes, rows, cols] into `plane` and the i32 coordinates `y`, `x` (udiv: a
 * float division, where llvmpipe runs integer ones lane by lane).
 */
const planeCoords = (y: string, x: string, rows: string, cols: string) => `
  let rowIdx = udiv(i, u32(${cols}));
  let ${x} = i32(i - rowIdx * u32(${cols}));
  let planeU = udiv(rowIdx, u32(${rows}));
  let ${y} = i32(rowIdx - planeU * u32(${rows}));
  let plane = i32(planeU);`;

/** Splits `i` (over [planes, oh, ow]) into plane, oy, ox and the window's top-left input coordinate. */
const outputCoords = `${planeCoords('oy', 'ox', 'OH', 'OW')}
  let y0 = oy * SH - PH;
  let x0 = ox * SW - PW;`;

/** Splits `i` (over [planes, h, w]) into plane, iy, ix and the range of windows covering (iy, ix):
 *  window oy covers rows [oy·sh − ph, oy·sh − ph + kh), so oy ∈ [ceil((iy + ph − kh + 1)/sh), floor((iy + ph)/sh)] ∩ [0, oh). */
const inputCoords = `${planeCoords('iy', 'ix', 'H', 'W')}
  let oyBegin = max(0, ceilDiv(iy + PH - KH + 1, SH));
  let oyEnd = min(OH, (iy + PH) / SH + 1);
  let oxBegin = max(0, ceilDiv(ix + PW - KW + 1, SW));
  let oxEnd = min(OW, (ix + PW) / SW + 1);`;

/** ceil(a / b) for b > 0 and any sign of a (WGSL's integer division truncates toward zero). */
const ceilDivWgsl = `
fn ceilDiv(a: i32, b: i32) -> i32 { return select(-((-a) / b), (a + b - 1) / b, a > 0); }`;

// Max pooling forward. NaN propagates: the first NaN in the window is taken and the scan stops.
// Without indices (inference) the argmax output is left out.
const maxForwardProgram = programFamily('maxpool2d:fwd', ({ indices }: { indices: boolean }) => ({
  inputs: [{ name: 'X' }],
  outputs: [{ name: 'Y' }, ...(indices ? [{ name: 'ARGMAX' }] : [])],
  workgroupSize: [WG],
  params: GEOMETRY_PARAMS,
  body: () =>
    `
// −inf built at run time: WGSL rejects infinities in constant expressions.
var<private> NEG_INF_BITS: u32 = 0xff800000u;` +
    entry(`${outputCoords}
  var best = bitcast<f32>(NEG_INF_BITS);
  var bestIdx = -1;
  let base = plane * H * W;
  for (var ky = 0; ky < KH; ky++) {
    let iy = y0 + ky;
    if (iy < 0 || iy >= H) { continue; }
    var stop = false;
    for (var kx = 0; kx < KW; kx++) {
      let ix = x0 + kx;
      if (ix < 0 || ix >= W) { continue; }
      let v = X[base + iy * W + ix];
      let nan = !(v == v);
      if (v > best || nan || bestIdx < 0) {
        best = v;
        bestIdx = iy * W + ix;
        if (nan) { stop = true; break; }
      }
    }
    if (stop) { break; }
  }
  Y[i] = best;${indices ? '\n  ARGMAX[i] = f32(bestIdx);' : ''}`),
}));

/**
 * WGSL `fn name(best, v) -> type`: max pooling's running-maximum update, lane by lane: a
 * candidate replaces the maximum when greater or NaN, unless the maximum is already NaN
 * (shared with the conv GEMM's pooled stores, kernels/matmul/texture-gemm.ts).
 */
export function maxPickWgsl(name: string, type: string): string {
  return `fn ${name}(best: ${type}, v: ${type}) -> ${type} { return select(best, v, ((v > best) | (v != v)) & (best == best)); }`;
}

/**
 * Inference max pooling 2×2, stride 2, no padding, over inputs of even height and a width
 * a multiple of 8: one invocation per 4 outputs, from 4 aligned vec4 loads (2 rows × 8
 * columns) — on llvmpipe a quarter of the per-lane storage loads of the general kernel, and
 * no per-window index math. Same semantics: NaN propagates (a NaN replaces a number, never
 * the reverse), and a later value replaces the running maximum only when greater.
 */
const maxPool2x2Program = programFamily('maxpool2d:fwd:2x2vec4', () => ({
  inputs: [{ name: 'X', type: 'array<vec4<f32>>' }],
  outputs: [{ name: 'Y', type: 'array<vec4<f32>>' }],
  workgroupSize: [WG],
  // output vec4s, OW/4, W/4
  params: [['n', 'u32'], ['ow4', 'u32'], ['w4', 'u32']],
  body: () => `${udivWgsl}
${maxPickWgsl('pick', 'vec4<f32>')}
${perElementMain(`  let ow4 = P.ow4; let w4 = P.w4;
  let row = udiv(i, ow4); let ox4 = i - row * ow4;
  let top = row * 2u * w4 + ox4 * 2u;
  let a0 = X[top]; let a1 = X[top + 1u]; let b0 = X[top + w4]; let b1 = X[top + w4 + 1u];
  var best = vec4<f32>(a0.x, a0.z, a1.x, a1.z);
  best = pick(best, vec4<f32>(a0.y, a0.w, a1.y, a1.w));
  best = pick(best, vec4<f32>(b0.x, b0.z, b1.x, b1.z));
  best = pick(best, vec4<f32>(b0.y, b0.w, b1.y, b1.w));
  Y[i] = best;`)}`,
}));

const isVec4Pool2x2 = (g: Pool2dGeometry) =>
  g.kh === 2 && g.kw === 2 && g.sh === 2 && g.sw === 2 && g.ph === 0 && g.pw === 0 && g.h % 2 === 0 && g.w % 8 === 0;

export function maxPool2d(rt: GpuRuntime, x: GpuStorage, g: Pool2dGeometry, indices = true): { out: GpuStorage; argmax: GpuStorage | null } {
  const total = g.n * g.c * g.oh * g.ow;
  const out = rt.alloc(total);
  if (!indices && isVec4Pool2x2(g)) {
    rt.run(maxPool2x2Program({}), [x], [out], { n: total / 4, ow4: g.ow / 4, w4: g.w / 4 }, Math.ceil(total / 4 / WG));
    return { out, argmax: null };
  }
  const argmax = indices ? rt.alloc(total) : null;
  rt.run(maxForwardProgram({ indices }), [x], argmax ? [out, argmax] : [out], poolParams(total, g), Math.ceil(total / WG));
  return { out, argmax };
}

// Max pooling backward: gx[plane, iy, ix] = Σ over covering windows whose argmax is iy·w + ix of gy.
const maxGradProgram = programFamily('maxpool2d:grad', () => ({
  inputs: [{ name: 'GY' }, { name: 'ARGMAX' }],
  outputs: [{ name: 'GX' }],
  workgroupSize: [WG],
  params: GEOMETRY_PARAMS,
  body: () =>
    ceilDivWgsl +
    entry(`${inputCoords}
  let me = f32(iy * W + ix);
  var acc = 0.0;
  for (var oy = oyBegin; oy < oyEnd; oy++) {
    let row = (plane * OH + oy) * OW;
    for (var ox = oxBegin; ox < oxEnd; ox++) {
      if (ARGMAX[row + ox] == me) { acc += GY[row + ox]; }
    }
  }
  GX[i] = acc;`),
}));

export function maxPool2dGrad(rt: GpuRuntime, gy: GpuStorage, argmax: GpuStorage, g: Pool2dGeometry): GpuStorage {
  const total = g.n * g.c * g.h * g.w;
  const out = rt.alloc(total);
  rt.run(maxGradProgram({}), [gy, argmax], [out], poolParams(total, g), Math.ceil(total / WG));
  return out;
}

/** Divisor of the window with top-left (y0, x0): clipped to the padded input, then (unless padding counts) to the input. */
function divisorWgsl(countIncludePad: boolean): string {
  const area = countIncludePad
    ? '(yEnd - y0) * (xEnd - x0)'
    : '(min(yEnd, H) - max(y0, 0)) * (min(xEnd, W) - max(x0, 0))';
  return `
fn divisor(y0: i32, x0: i32, H: i32, W: i32, KH: i32, KW: i32, PH: i32, PW: i32) -> f32 {
  let yEnd = min(y0 + KH, H + PH);
  let xEnd = min(x0 + KW, W + PW);
  return f32(${area});
}`;
}

const avgForwardProgram = programFamily('avgpool2d:fwd', ({ countIncludePad }: { countIncludePad: boolean }) => ({
  inputs: [{ name: 'X' }],
  outputs: [{ name: 'Y' }],
  workgroupSize: [WG],
  params: GEOMETRY_PARAMS,
  body: () =>
    divisorWgsl(countIncludePad) +
    entry(`${outputCoords}
  let base = plane * H * W;
  var acc = 0.0;
  for (var iy = max(y0, 0); iy < min(y0 + KH, H); iy++) {
    for (var ix = max(x0, 0); ix < min(x0 + KW, W); ix++) {
      acc += X[base + iy * W + ix];
    }
  }
  Y[i] = acc / divisor(y0, x0, H, W, KH, KW, PH, PW);`),
}));

export function avgPool2d(rt: GpuRuntime, x: GpuStorage, g: Pool2dGeometry, countIncludePad: boolean): GpuStorage {
  const total = g.n * g.c * g.oh * g.ow;
  const out = rt.alloc(total);
  rt.run(avgForwardProgram({ countIncludePad }), [x], [out], poolParams(total, g), Math.ceil(total / WG));
  return out;
}

// Average pooling backward: each covering window passes back gy / its divisor.
const avgGradProgram = programFamily('avgpool2d:grad', ({ countIncludePad }: { countIncludePad: boolean }) => ({
  inputs: [{ name: 'GY' }],
  outputs: [{ name: 'GX' }],
  workgroupSize: [WG],
  params: GEOMETRY_PARAMS,
  body: () =>
    ceilDivWgsl +
    divisorWgsl(countIncludePad) +
    entry(`${inputCoords}
  var acc = 0.0;
  for (var oy = oyBegin; oy < oyEnd; oy++) {
    let row = (plane * OH + oy) * OW;
    for (var ox = oxBegin; ox < oxEnd; ox++) {
      acc += GY[row + ox] / divisor(oy * SH - PH, ox * SW - PW, H, W, KH, KW, PH, PW);
    }
  }
  GX[i] = acc;`),
}));

export function avgPool2dGrad(rt: GpuRuntime, gy: GpuStorage, g: Pool2dGeometry, countIncludePad: boolean): GpuStorage {
  const total = g.n * g.c * g.h * g.w;
  const out = rt.alloc(total);
  rt.run(avgGradProgram({ countIncludePad }), [gy], [out], poolParams(total, g), Math.ceil(total / WG));
  return out;
}
