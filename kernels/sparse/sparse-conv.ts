/**
 * Direct sparse convolution (Park et al. 2017, "Faster CNNs with direct sparse
 * convolutions"): the weights W [oc, c, kh, kw] are a sparse matrix [oc, c·kh·kw]
 * (CSR or BSR) and each stored weight (o, ci, ky, kx) multiplies a shifted window of
 * input plane ci — an implicit im2col: nothing is unfolded. A 1×1 convolution is
 * exactly an SpMM W[oc, c] · X_n[c, h·w] with the same loop.
 *
 * The input is copied once into a zero-padded buffer Xp [n, c, Hp, Wp] (skipped when
 * there is no padding and the output height is a multiple of 4), so the inner loop
 * has no bounds checks: a stored weight in column col adds v · Xp[base + off(col)],
 * with off(col) = ci·Hp·Wp + ky·dh·Wp + kx·dw from a small per-geometry table.
 *
 * Invocation: one output column ox and four output rows oy0..oy0+3 (a vec4) of one
 * image; neighbouring invocations take neighbouring ox, so llvmpipe's SIMD lanes read
 * contiguous input and write contiguous output, and share the sparse row's loop.
 * CSR: one output channel per invocation, channels sorted by non-zero count.
 * BSR r×c: r output channels per invocation (r vec4 accumulators), each input vec4
 * reused r times.
 */
import type { Conv2dGeometry } from '../../engine/backend.js';
import type { BsrMatrix } from '../../engine/sparse/bsr.js';
import type { CsrMatrix } from '../../engine/sparse/csr.js';
import type { GpuRuntime, GpuStorage } from '../../engine/webgpu/runtime.js';
import type { Program } from '../program.js';
import { blockUpdateWgsl } from './bsr-spmm.js';
import { colIndexWgsl, type GpuSparse, uploadU32 } from './storage.js';

const WG = 64;

interface Padded { hp: number; wp: number; direct: boolean }

function paddedGeometry(g: Conv2dGeometry): Padded {
  const oh4 = Math.ceil(g.oh / 4) * 4;
  const needH = (oh4 - 1) * g.sh + (g.kh - 1) * g.dh + 1;
  const direct = g.ph === 0 && g.pw === 0 && oh4 === g.oh;
  return { hp: direct ? g.h : Math.max(g.h + 2 * g.ph, needH), wp: g.w + 2 * g.pw, direct };
}

function padProgram(): Program {
  return {
    key: 'sparse:conv-pad',
    inputs: [{ name: 'X' }],
    outputs: [{ name: 'Xp' }],
    workgroupSize: [256],
    // params: total, h, w, hp, wp, ph, pw
    body: () => `
@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linearIndex(gid, nwg);
  if (i >= pu(0u)) { return; }
  let h = pi(1u); let w = pi(2u); let hp = pu(3u); let wp = pu(4u);
  let plane = i / (hp * wp);
  let y = i32((i / wp) % hp) - pi(5u);
  let x = i32(i % wp) - pi(6u);
  var v = 0.0;
  if (y >= 0 && y < h && x >= 0 && x < w) { v = X[plane * u32(h * w) + u32(y * w + x)]; }
  Xp[i] = v;
}`,
  };
}

/** off(col) for every (padded) column of the weight matrix. */
function offsetTable(cols: number, g: Conv2dGeometry, p: Padded): Uint32Array {
  const t = new Uint32Array(cols);
  const k = g.kh * g.kw;
  for (let col = 0; col < Math.min(cols, g.c * k); col++) {
    const ci = Math.floor(col / k), ky = Math.floor(col / g.kw) % g.kh, kx = col % g.kw;
    t[col] = ci * p.hp * p.wp + ky * g.dh * p.wp + kx * g.dw;
  }
  return t;
}

// Shared WGSL: thread → (image, channel slot, ox, oy quad); the input vec4 at offset o.
const common = `
fn ld(o: u32) -> vec4<f32> {
  let s = pu(6u);
  return vec4<f32>(Xp[o], Xp[o + s], Xp[o + 2u * s], Xp[o + 3u * s]);
}
fn put(plane: u32, oy0: u32, ox: u32, acc: vec4<f32>) {
  let oh = pu(2u); let ow = pu(3u);
  for (var j = 0u; j < 4u; j++) {
    if (oy0 + j < oh) { Y[(plane * oh + oy0 + j) * ow + ox] = acc[j]; }
  }
}`;
// params: 0 pixel groups (ow·⌈oh/4⌉), 1 channel slots, 2 oh, 3 ow, 4 sh, 5 sw, 6 sh·Wp, 7 c·Hp·Wp, 8 Wp, 9 oc
const pixel = `
  let p = gid.x; let slot = gid.y; let n = gid.z;
  if (p >= pu(0u) || slot >= pu(1u)) { return; }
  let ow = pu(3u);
  let ox = p % ow; let oy0 = (p / ow) * 4u;
  let base = n * pu(7u) + oy0 * pu(6u) + ox * pu(5u);`;

function csrProgram(bits: 16 | 32, bias: boolean): Program {
  return {
    key: `sparse:conv-csr:i${bits}:${bias ? 'bias' : 'nobias'}`,
    inputs: [{ name: 'Rows', type: 'array<vec4<u32>>' }, { name: 'Cols', type: 'array<u32>' }, { name: 'Vals' }, { name: 'Off', type: 'array<u32>' }, { name: 'Xp' }, ...(bias ? [{ name: 'Bias' }] : [])],
    outputs: [{ name: 'Y' }],
    workgroupSize: [WG],
    body: () => `${colIndexWgsl(bits)}${common}
@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {${pixel}
  let r = Rows[slot];
  var acc = vec4<f32>(${bias ? 'Bias[r.x]' : '0.0'});
  for (var k = r.y; k < r.z; k++) { acc += Vals[k] * ld(base + Off[colAt(k)]); }
  put(n * pu(9u) + r.x, oy0, ox, acc);
}`,
  };
}

function bsrProgram(r: number, c: number, bits: 16 | 32, bias: boolean): Program {
  const rs = Array.from({ length: r }, (_, i) => i);
  return {
    key: `sparse:conv-bsr:${r}x${c}:i${bits}:${bias ? 'bias' : 'nobias'}`,
    inputs: [
      { name: 'Order', type: 'array<u32>' }, { name: 'Ptr', type: 'array<u32>' }, { name: 'Cols', type: 'array<u32>' },
      { name: 'Vals', type: 'array<vec4<f32>>' }, { name: 'Off', type: 'array<u32>' }, { name: 'Xp' }, ...(bias ? [{ name: 'Bias' }] : []),
    ],
    outputs: [{ name: 'Y' }],
    workgroupSize: [WG],
    body: () => `${colIndexWgsl(bits)}${common}
@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {${pixel}
  let br = Order[slot];
${rs.map((i) => `  var a${i}_0 = vec4<f32>(0.0);`).join('\n')}
  for (var k = Ptr[br]; k < Ptr[br + 1u]; k++) {
    let xb = colAt(k) * ${c}u;
${blockUpdateWgsl(r, c, (j) => `ld(base + Off[xb + ${j}u])`)}
  }
  let oc = pu(9u);
${rs.map((i) => `  if (br * ${r}u + ${i}u < oc) { put(n * oc + br * ${r}u + ${i}u, oy0, ox, a${i}_0${bias ? ` + vec4<f32>(Bias[br * ${r}u + ${i}u])` : ''}); }`).join('\n')}
}`,
  };
}

/** CSR rows (vec4: row, start, end, 0) sorted by length, for the convolution (no row splitting). */
function convRows(rt: GpuRuntime, m: CsrMatrix): GpuStorage {
  const rows = Array.from({ length: m.rows }, (_, i) => i).sort((a, b) => m.rowLength(b) - m.rowLength(a) || a - b);
  const words = new Uint32Array(m.rows * 4);
  rows.forEach((r, i) => words.set([r, m.rowPtr[r]!, m.rowPtr[r + 1]!, 0], i * 4));
  return uploadU32(rt, words);
}

export function sparseConv2d(rt: GpuRuntime, w: GpuSparse, x: GpuStorage, bias: GpuStorage | null, g: Conv2dGeometry): GpuStorage {
  const m = w.matrix;
  if (m.rows !== g.oc || m.cols !== g.c * g.kh * g.kw) {
    throw new Error(`sparseConv2d: weight matrix ${m.rows}x${m.cols} does not match [oc=${g.oc}, c·kh·kw=${g.c * g.kh * g.kw}]`);
  }
  const p = paddedGeometry(g);
  let xp = x;
  if (!p.direct) {
    const total = g.n * g.c * p.hp * p.wp;
    xp = rt.alloc(total);
    rt.run(padProgram(), [x], [xp], [total, g.h, g.w, p.hp, p.wp, g.ph, g.pw], Math.ceil(total / 256));
  }
  const cols = m.format === 'bsr' ? m.paddedCols : m.cols;
  const off = w.cached(`conv-off:${cols}:${g.c}:${g.kh}x${g.kw}:${g.dh}x${g.dw}:${p.hp}x${p.wp}`, () => uploadU32(rt, offsetTable(cols, g, p)));
  const y = rt.alloc(g.n * g.oc * g.oh * g.ow);
  const groups = g.ow * Math.ceil(g.oh / 4);
  const b = bias ? [bias] : [];
  if (g.n > 65535) throw new Error(`sparseConv2d: batch ${g.n} exceeds the adapter's workgroup limit`);
  if (m.format === 'csr') {
    const rows = w.cached('conv-rows', () => convRows(rt, m));
    const params = [groups, m.rows, g.oh, g.ow, g.sh, g.sw, g.sh * p.wp, g.c * p.hp * p.wp, p.wp, g.oc];
    rt.run(csrProgram(m.indexBits, !!bias), [rows, w.buffer('cols'), w.buffer('vals'), off, xp, ...b], [y], params, [Math.ceil(groups / WG), m.rows, g.n]);
  } else {
    const bm = m as BsrMatrix;
    const params = [groups, bm.blockRows, g.oh, g.ow, g.sh, g.sw, g.sh * p.wp, g.c * p.hp * p.wp, p.wp, g.oc];
    const ins = [w.buffer('order'), w.buffer('ptr'), w.buffer('cols'), w.buffer('vals'), off, xp, ...b];
    rt.run(bsrProgram(bm.block[0], bm.block[1], bm.indexBits, !!bias), ins, [y], params, [Math.ceil(groups / WG), bm.blockRows, g.n]);
  }
  if (xp !== x) rt.release(xp);
  return y;
}
