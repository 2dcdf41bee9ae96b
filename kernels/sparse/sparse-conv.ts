/**
 * Direct sparse convolution (Park et al. 2017, "Faster CNNs with direct sparse
 * convolutions"): the weights W [oc, c, kh, kw] are a sparse matrix [oc, c·kh·kw]
 * (CSR or BSR) and each stored weight (o, ci, ky, kx) multiplies a shifted window of
 * input plane ci — an implicit im2col: nothing is unfolded. A 1×1 convolution is
 * exactly an SpMM W[oc, c] · X_n[c, h·w] with the same loop.
 *
 * Where output rows are a multiple of 4 pixels wide, sparse-conv-shifted.ts can run instead
 * (one texel load per stored weight and output row of 4 pixels, over the dense
 * convolution's shifted copies of x); this file holds the general kernels. Which one runs
 * is planned per problem by conv-plan.ts: `sparseConvWith` runs any plan, `sparseConv2d`
 * the one planned for the device.
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
 *
 * Texture path (when the padded input fits one texture): instead of Xp, a "row quad"
 * texture Q is built straight from x — texel (x, plane·Hp + y) holds the padded input at
 * rows y, y + sh, y + 2sh, y + 3sh — so the four loads of `ld` become one textureLoad
 * (a vectorised gather on llvmpipe, where divergent storage loads are per-lane loops).
 */
import type { Conv2dGeometry } from '../../gpu/types.js';
import type { BsrMatrix } from '../../formats/bsr.js';
import type { CsrMatrix } from '../../formats/csr.js';
import type { GpuRuntime, GpuStorage, GpuTexture } from '../../gpu/runtime.js';
import { type ParamDecl, programFamily } from '../../gpu/program.js';
import { blockUpdateWgsl } from './bsr-spmm.js';
import { paddedGeometry, type PaddedInput as Padded, planSparseConv, sparseConvProblem, type SparseConvPlan } from './conv-plan.js';
import { flatCoord, nonzeroTexture } from './layout.js';
import { sortedCsrRows, sparseConvShifted } from './sparse-conv-shifted.js';
import { colIndexWgsl, type GpuSparse, uploadU32, withMatrixTuning } from './storage.js';

const padProgram = programFamily('sparse:conv-pad', () => ({
  inputs: [{ name: 'X' }],
  outputs: [{ name: 'Xp' }],
  workgroupSize: [256],
  params: [['n', 'u32'], ['h', 'i32'], ['w', 'i32'], ['hp', 'u32'], ['wp', 'u32'], ['ph', 'i32'], ['pw', 'i32']],
  body: () => `
@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linearIndex(gid, nwg);
  if (i >= P.n) { return; }
  let h = P.h; let w = P.w; let hp = P.hp; let wp = P.wp;
  let plane = i / (hp * wp);
  let y = i32((i / wp) % hp) - P.ph;
  let x = i32(i % wp) - P.pw;
  var v = 0.0;
  if (y >= 0 && y < h && x >= 0 && x < w) { v = X[plane * u32(h * w) + u32(y * w + x)]; }
  Xp[i] = v;
}`,
}));

/** Q: texel (x, plane·Hp + y) = padded input at rows y + j·sh (j = 0..3) of that plane, zero outside x. */
const quadProgram = programFamily('sparse:conv-quad', () => ({
  inputs: [{ name: 'X' }],
  outputs: [{ name: 'Q', type: 'texture_storage_2d<rgba32float, write>' }],
  workgroupSize: [16, 16],
  // rows: planes·Hp
  params: [['rows', 'u32'], ['h', 'i32'], ['w', 'i32'], ['hp', 'u32'], ['wp', 'u32'], ['ph', 'i32'], ['pw', 'i32'], ['sh', 'i32']],
  body: () => `
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let col = gid.x; let row = gid.y;
  let wp = P.wp;
  if (col >= wp || row >= P.rows) { return; }
  let h = P.h; let w = P.w; let hp = P.hp; let sh = P.sh;
  let plane = row / hp;
  let x = i32(col) - P.pw;
  var v = vec4<f32>(0.0);
  if (x >= 0 && x < w) {
    for (var j = 0; j < 4; j++) {
      let y = i32(row % hp) + j * sh - P.ph;
      if (y >= 0 && y < h) { v[j] = X[plane * u32(h * w) + u32(y * w + x)]; }
    }
  }
  textureStore(Q, vec2<u32>(col, row), v);
}`,
}));

function quadTexture(rt: GpuRuntime, x: GpuStorage, g: Conv2dGeometry, p: Padded): GpuTexture | null {
  const rows = g.n * g.c * p.hp;
  const q = rt.allocTexture('rgba32float', p.wp, rows, true);
  if (!q) return null;
  rt.run(quadProgram({}), [x], [q], { rows, h: g.h, w: g.w, hp: p.hp, wp: p.wp, ph: g.ph, pw: g.pw, sh: g.sh }, [Math.ceil(p.wp / 16), Math.ceil(rows / 16), 1]);
  return q;
}

/**
 * off(col) for every (padded) column of the weight matrix: a flat offset into Xp, or for
 * the texture path the texel offset packed as (row offset << 16) | column offset.
 */
function offsetTable(cols: number, g: Conv2dGeometry, p: Padded, packed: boolean): Uint32Array {
  const t = new Uint32Array(cols);
  const k = g.kh * g.kw;
  for (let col = 0; col < Math.min(cols, g.c * k); col++) {
    const ci = Math.floor(col / k), ky = Math.floor(col / g.kw) % g.kh, kx = col % g.kw;
    t[col] = packed ? (((ci * p.hp + ky * g.dh) << 16) | (kx * g.dw)) >>> 0 : ci * p.hp * p.wp + ky * g.dh * p.wp + kx * g.dw;
  }
  return t;
}

// Shared WGSL: thread → (image, channel slot, ox, oy quad); the input vec4 at offset o.
const ldStorage = `
fn ld(o: u32) -> vec4<f32> {
  let s = P.rowStep;
  return vec4<f32>(Xp[o], Xp[o + s], Xp[o + 2u * s], Xp[o + 3u * s]);
}`;
// Texture path: "base" is the invocation's texel (packed like the offsets), o a packed offset.
const ldTexture = `
fn ld(o: u32) -> vec4<f32> {
  return textureLoad(Xp, vec2<u32>(o & 0xffffu, o >> 16u), 0);
}`;
const common = (tex: boolean) => `${tex ? ldTexture : ldStorage}
fn put(plane: u32, oy0: u32, ox: u32, acc: vec4<f32>) {
  let oh = P.oh; let ow = P.ow;
  for (var j = 0u; j < 4u; j++) {
    if (oy0 + j < oh) { Y[(plane * oh + oy0 + j) * ow + ox] = acc[j]; }
  }
}`;
// Parameters: pixel groups (ow·⌈oh/4⌉), channel slots, oh, ow, sh, sw, rowStep (sh·Wp), plane (c·Hp·Wp), Wp, oc, planeRows (c·Hp).
const PARAMS: ParamDecl = [['groups', 'u32'], ['slots', 'u32'], ['oh', 'u32'], ['ow', 'u32'], ['sh', 'u32'], ['sw', 'u32'], ['rowStep', 'u32'], ['plane', 'u32'], ['wp', 'u32'], ['oc', 'u32'], ['planeRows', 'u32']];
const pixel = (tex: boolean) => `
  let p = gid.x; let slot = gid.y; let n = gid.z;
  if (p >= P.groups || slot >= P.slots) { return; }
  let ow = P.ow;
  let ox = p % ow; let oy0 = (p / ow) * 4u;
  let base = ${tex ? '((n * P.planeRows + oy0 * P.sh) << 16u) + ox * P.sw' : 'n * P.plane + oy0 * P.rowStep + ox * P.sw'};`;

/** The input binding: the padded buffer Xp, or the row-quad texture (bound under the same name). */
const xpBinding = (tex: boolean) => ({ name: 'Xp', type: tex ? 'texture_2d<f32>' : 'array<f32>' });

/**
 * CSR: storage path reads Vals, Cols and Off per non-zero; the texture path reads one
 * texel of OV (packed texel offset, value bits) per non-zero, `ovWidth` texels a row.
 */
// `bits`: the column index width, for the storage path only (the texture path reads no index).
const csrProgram = programFamily('sparse:conv-csr', ({ bits, bias, ovWidth, threads }: { bits?: 16 | 32; bias: boolean; ovWidth: number; threads: number }) => {
  const tex = ovWidth > 0;
  const sparse = tex
    ? [{ name: 'OV', type: 'texture_2d<u32>' }]
    : [{ name: 'Cols', type: 'array<u32>' }, { name: 'Vals' }, { name: 'Off', type: 'array<u32>' }];
  const step = tex
    ? `let ov = textureLoad(OV, ${flatCoord('k', ovWidth)}, 0); acc += bitcast<f32>(ov.y) * ld(base + ov.x);`
    : 'acc += Vals[k] * ld(base + Off[colAt(k)]);';
  return {
    inputs: [{ name: 'Rows', type: 'array<vec4<u32>>' }, ...sparse, xpBinding(tex), ...(bias ? [{ name: 'Bias' }] : [])],
    outputs: [{ name: 'Y' }],
    workgroupSize: [threads],
    params: PARAMS,
    body: () => `${tex ? '' : colIndexWgsl(bits!)}${common(tex)}
@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {${pixel(tex)}
  let r = Rows[slot];
  var acc = vec4<f32>(${bias ? 'Bias[r.x]' : '0.0'});
  for (var k = r.y; k < r.z; k++) { ${step} }
  put(n * P.oc + r.x, oy0, ox, acc);
}`,
  };
});


interface BsrConfig { r: number; c: number; bits: 16 | 32; bias: boolean; tex: boolean; threads: number }

const bsrProgram = programFamily('sparse:conv-bsr', ({ r, c, bits, bias, tex, threads }: BsrConfig) => {
  const rs = Array.from({ length: r }, (_, i) => i);
  return {
    inputs: [
      { name: 'Order', type: 'array<u32>' }, { name: 'Ptr', type: 'array<u32>' }, { name: 'Cols', type: 'array<u32>' },
      { name: 'Vals', type: 'array<vec4<f32>>' }, { name: 'Off', type: 'array<u32>' }, xpBinding(tex), ...(bias ? [{ name: 'Bias' }] : []),
    ],
    outputs: [{ name: 'Y' }],
    workgroupSize: [threads],
    params: PARAMS,
    body: () => `${colIndexWgsl(bits)}${common(tex)}
@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {${pixel(tex)}
  let br = Order[slot];
${rs.map((i) => `  var a${i}_0 = vec4<f32>(0.0);`).join('\n')}
  for (var k = Ptr[br]; k < Ptr[br + 1u]; k++) {
    let xb = colAt(k) * ${c}u;
${blockUpdateWgsl(r, c, (j) => `ld(base + Off[xb + ${j}u])`)}
  }
  let oc = P.oc;
${rs.map((i) => `  if (br * ${r}u + ${i}u < oc) { put(n * oc + br * ${r}u + ${i}u, oy0, ox, a${i}_0${bias ? ` + vec4<f32>(Bias[br * ${r}u + ${i}u])` : ''}); }`).join('\n')}
}`,
  };
});

/** y = conv2d(x, W) (+ bias) for sparse W with the kernel the device's settings plan for this problem. */
export function sparseConv2d(rt: GpuRuntime, w: GpuSparse, x: GpuStorage, bias: GpuStorage | null, g: Conv2dGeometry): GpuStorage {
  return sparseConvWith(rt, planSparseConv(sparseConvProblem(w.matrix, g), withMatrixTuning(rt.settings, w, 'sparse-conv')).plan, w, x, bias, g);
}

/** y = conv2d(x, W) (+ bias) with `plan` (any candidate of sparseConvCandidates for this problem). */
export function sparseConvWith(rt: GpuRuntime, plan: SparseConvPlan, w: GpuSparse, x: GpuStorage, bias: GpuStorage | null, g: Conv2dGeometry): GpuStorage {
  const m = w.matrix;
  if (m.rows !== g.oc || m.cols !== g.c * g.kh * g.kw) {
    throw new Error(`sparseConv2d: weight matrix ${m.rows}x${m.cols} does not match [oc=${g.oc}, c·kh·kw=${g.c * g.kh * g.kw}]`);
  }
  if (plan.path === 'shifted') return sparseConvShifted(rt, plan, w, x, bias, g);
  const p = paddedGeometry(g);
  const cols = m.format === 'bsr' ? m.paddedCols : m.cols;
  const geom = `${cols}:${g.c}:${g.kh}x${g.kw}:${g.dh}x${g.dw}:${p.hp}x${p.wp}`;
  const tex = plan.path === 'quad';
  // The quad path reads the row-quad texture (and, for CSR, the OV texture).
  const ov = tex && m.format === 'csr' ? w.cachedTexture(`conv-ov:${geom}`, () => {
    const offsets = offsetTable(cols, g, p, true);
    return nonzeroTexture(rt, m, (col) => offsets[col]!);
  }) : null;
  const q = tex && (m.format === 'bsr' || ov) ? quadTexture(rt, x, g, p) : null;
  if (tex && !q) throw new Error(`sparseConvWith: the row-quad plan does not fit this convolution on this device; plan with the device's settings`);
  let xp = x;
  if (!q && !p.direct) {
    const total = g.n * g.c * p.hp * p.wp;
    xp = rt.alloc(total);
    rt.run(padProgram({}), [x], [xp], { n: total, h: g.h, w: g.w, hp: p.hp, wp: p.wp, ph: g.ph, pw: g.pw }, Math.ceil(total / 256));
  }
  const y = rt.alloc(g.n * g.oc * g.oh * g.ow);
  const groups = g.ow * Math.ceil(g.oh / 4);
  const b = bias ? [bias] : [];
  if (g.n > 65535) throw new Error(`sparseConv2d: batch ${g.n} exceeds the adapter's workgroup limit`);
  const slots = m.format === 'csr' ? m.rows : (m as BsrMatrix).blockRows;
  const params = { groups, slots, oh: g.oh, ow: g.ow, sh: g.sh, sw: g.sw, rowStep: g.sh * p.wp, plane: g.c * p.hp * p.wp, wp: p.wp, oc: g.oc, planeRows: g.c * p.hp };
  const off = () => w.cached(`conv-off:${q ? 'packed' : 'flat'}:${geom}`, () => uploadU32(rt, offsetTable(cols, g, p, !!q)));
  const threads = tex ? 64 : plan.threads;
  if (m.format === 'csr') {
    const rows = w.cached('conv-rows', () => sortedCsrRows(rt, m));
    const sparse = q ? [ov!] : [w.buffer('cols'), w.buffer('vals'), off()];
    rt.run(csrProgram({ bits: q ? undefined : m.indexBits, bias: !!bias, ovWidth: q ? ov!.width : 0, threads }), [rows, ...sparse, q ?? xp, ...b], [y], params, [Math.ceil(groups / threads), m.rows, g.n]);
  } else {
    const bm = m as BsrMatrix;
    const ins = [w.buffer('order'), w.buffer('ptr'), w.buffer('cols'), w.buffer('vals'), off(), q ?? xp, ...b];
    rt.run(bsrProgram({ r: bm.block[0], c: bm.block[1], bits: bm.indexBits, bias: !!bias, tex: !!q, threads }), ins, [y], params, [Math.ceil(groups / threads), bm.blockRows, g.n]);
  }
  if (q) rt.releaseTexture(q);
  if (xp !== x) rt.release(xp);
  return y;
}
