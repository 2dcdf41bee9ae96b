/**
 * Direct NCHW conv2d kernels: forward, gradient w.r.t. the input and gradient
 * w.r.t. the weights. One invocation per output element, a plain loop over the
 * reduction, no atomics (simple first versions; tiled kernels come later).
 *
 * Layouts: x [n, c, h, w], weights [oc, c, kh, kw], y / gy [n, oc, oh, ow].
 * The geometry travels in `params` (see GEOMETRY); the WGSL never sees a shape.
 */
import type { Conv2dGeometry } from '../engine/backend.js';
import type { GpuRuntime, GpuStorage } from '../engine/webgpu/runtime.js';
import type { Program } from './program.js';

const WG = 64;

/** params[0] is the thread count; params[1..] the geometry fields in this order. */
const GEOMETRY = ['n', 'c', 'h', 'w', 'oc', 'kh', 'kw', 'sh', 'sw', 'ph', 'pw', 'dh', 'dw', 'oh', 'ow'] as const;

function convParams(total: number, g: Conv2dGeometry): number[] {
  return [total, ...GEOMETRY.map((k) => g[k])];
}

/** WGSL `let` declarations reading the geometry as i32 (signed: padding makes coordinates negative). */
const geometryLets = GEOMETRY.map((k, i) => `  let ${k.toUpperCase()} = pi(${i + 1}u);`).join('\n');

/** Common entry: `i` is this invocation's output element, threads past `params[0]` return. */
function entry(body: string): string {
  return `
@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linearIndex(gid, nwg);
  if (i >= pu(0u)) { return; }
${geometryLets}
${body}
}`;
}

// Forward: y[b, o, oy, ox] = bias[o] + Σ_{ci, ky, kx} x[b, ci, oy·sh − ph + ky·dh, ox·sw − pw + kx·dw] · w[o, ci, ky, kx],
// taps that fall into the padding contribute nothing.
function forwardProgram(hasBias: boolean): Program {
  return {
    key: `conv2d:fwd:${hasBias ? 'bias' : 'nobias'}`,
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
  Y[i] = acc;`),
  };
}

export function conv2dForward(rt: GpuRuntime, x: GpuStorage, w: GpuStorage, bias: GpuStorage | null, g: Conv2dGeometry): GpuStorage {
  const total = g.n * g.oc * g.oh * g.ow;
  const out = rt.alloc(total);
  const inputs = bias ? [x, w, bias] : [x, w];
  rt.run(forwardProgram(bias !== null), inputs, [out], convParams(total, g), Math.ceil(total / WG));
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

export function conv2dGradInput(rt: GpuRuntime, gy: GpuStorage, w: GpuStorage, g: Conv2dGeometry): GpuStorage {
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

export function conv2dGradWeight(rt: GpuRuntime, x: GpuStorage, gy: GpuStorage, g: Conv2dGeometry): GpuStorage {
  const total = g.oc * g.c * g.kh * g.kw;
  const out = rt.alloc(total);
  rt.run(gradWeightProgram, [x, gy], [out], convParams(total, g), Math.ceil(total / WG));
  return out;
}
