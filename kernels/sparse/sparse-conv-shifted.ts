/**
 * Direct sparse convolution over the dense convolution's shifted copies of x
 * (conv2d/shifted-conv.ts), for outputs whose rows are a multiple of 4 pixels wide.
 *
 * A shifted-copy texel holds the 4 input values that one weight (ci, ky, kx) multiplies
 * for 4 neighbouring output pixels of one row, so a stored weight costs one textureLoad
 * per output row it serves: an invocation owns R output rows × 4 columns of one output
 * channel (CSR) or of r channels (BSR r×c), held in vec4 accumulators, and for each
 * stored weight adds v · S[base + off(col) + j·rowStep] to row j. off(col) =
 * kx·perCopy + (ci·images·HP + ky·dh)·OW4 is the part that depends on the weight alone
 * (precomputed per geometry), base = (image·HP + oy0·sh)·OW4 + ox4 the part that depends
 * on the invocation alone. The row-quad path in sparse-conv.ts instead read one texel per
 * weight for 4 output pixels and built its input per weight column: 4× the loads per FMA.
 *
 * Grid: x the pixel groups (ox4, row group) of one channel slot, y the slots, z the
 * images of a chunk; workgroups are as wide in x as there are pixel groups (up to 64),
 * so a small output plane does not leave lanes idle.
 */
import type { Conv2dGeometry } from '../../gpu/types.js';
import type { BsrMatrix } from '../../formats/bsr.js';
import type { CsrMatrix } from '../../formats/csr.js';
import type { GpuRuntime, GpuStorage } from '../../gpu/runtime.js';
import { chunkImages, paddedRows, shiftedCopies, stepOffsets } from '../conv2d/shifted-conv.js';
import { type ParamDecl, programFamily } from '../../gpu/program.js';
import { blockUpdateWgsl, bsrValuesTexture } from './bsr-spmm.js';
import type { SparseConvPlan } from './conv-plan.js';
import { flatCoord, flatTextureWidth, nonzeroTexture } from './layout.js';
import { colIndexWgsl, type GpuSparse, gridShape, uploadU32 } from './storage.js';

/**
 * off(col) for each (padded) weight column, for a chunk of `images` images: the dense shifted
 * conv's per-k-step offsets (a weight column is a k-step), zero for BSR's padding columns.
 */
function shiftedOffsets(cols: number, g: Conv2dGeometry, images: number): Uint32Array {
  const ow4 = g.ow / 4;
  const t = new Uint32Array(cols);
  t.set(stepOffsets(g, images * paddedRows(g) * ow4, ow4));
  return t;
}

// Parameters: pixel groups per slot, slots, oh, ow4, row step (sh·OW4), image plane (HP·OW4), oc, img0.
const PARAMS: ParamDecl = [['groups', 'u32'], ['slots', 'u32'], ['oh', 'u32'], ['ow4', 'u32'], ['rowStep', 'u32'], ['plane', 'u32'], ['oc', 'u32'], ['img0', 'u32']];
const head = (rows: number) => `
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let p = gid.x; let slot = gid.y; let n = gid.z;
  if (p >= P.groups || slot >= P.slots) { return; }
  let ow4 = P.ow4; let step = P.rowStep;
  let ox4 = p % ow4; let oy0 = (p / ow4) * ${rows}u;
  let base = n * P.plane + oy0 * step + ox4;`;

/** Shifted-copy texels for rows 0…R−1 at offset `o` (a WGSL expression). */
const texel = (o: string, j: number, width: number) => `textureLoad(S, ${flatCoord(`${o} + ${j}u * step`, width)}, 0)`;

const store = `
fn put(o: u32, oy0: u32, ox4: u32, n: u32, j: u32, acc: vec4<f32>) {
  let oh = P.oh;
  if (oy0 + j < oh) { Y[(((P.img0 + n) * P.oc + o) * oh + oy0 + j) * P.ow4 + ox4] = acc; }
}`;

interface CsrConfig { rows: number; bias: boolean; ovWidth: number; sWidth: number; wg: [number, number] }

const csrProgram = programFamily('sparse:conv-shifted-csr', ({ rows, bias, ovWidth, sWidth, wg }: CsrConfig) => {
  const js = Array.from({ length: rows }, (_, j) => j);
  return {
    inputs: [{ name: 'Rows', type: 'array<vec4<u32>>' }, { name: 'OV', type: 'texture_2d<u32>' }, { name: 'S', type: 'texture_2d<f32>' }, ...(bias ? [{ name: 'Bias' }] : [])],
    outputs: [{ name: 'Y', type: 'array<vec4<f32>>' }],
    workgroupSize: wg,
    params: PARAMS,
    body: () => `${store}${head(rows)}
  let r = Rows[slot];
${js.map((j) => `  var a${j} = vec4<f32>(${bias ? 'Bias[r.x]' : '0.0'});`).join('\n')}
  for (var k = r.y; k < r.z; k++) {
    let ov = textureLoad(OV, ${flatCoord('k', ovWidth)}, 0);
    let v = bitcast<f32>(ov.y); let o = base + ov.x;
${js.map((j) => `    a${j} += v * ${texel('o', j, sWidth)};`).join('\n')}
  }
${js.map((j) => `  put(r.x, oy0, ox4, n, ${j}u, a${j});`).join('\n')}
}`,
  };
});

interface BsrConfig { r: number; c: number; rows: number; bits: 16 | 32; bias: boolean; valsWidth: number; sWidth: number; wg: [number, number] }

const bsrProgram = programFamily('sparse:conv-shifted-bsr', ({ r, c, rows, bits, bias, valsWidth, sWidth, wg }: BsrConfig) => {
  const rs = Array.from({ length: r }, (_, i) => i);
  const js = Array.from({ length: rows }, (_, j) => j);
  const valOf = valsWidth > 0 ? (v: string) => `textureLoad(Vals, ${flatCoord(v, valsWidth)}, 0)` : undefined;
  return {
    inputs: [
      { name: 'Order', type: 'array<u32>' }, { name: 'Ptr', type: 'array<u32>' }, { name: 'Cols', type: 'array<u32>' },
      { name: 'Vals', type: valsWidth > 0 ? 'texture_2d<f32>' : 'array<vec4<f32>>' }, { name: 'Off', type: 'array<u32>' },
      { name: 'S', type: 'texture_2d<f32>' }, ...(bias ? [{ name: 'Bias' }] : []),
    ],
    outputs: [{ name: 'Y', type: 'array<vec4<f32>>' }],
    workgroupSize: wg,
    params: PARAMS,
    body: () => `${colIndexWgsl(bits)}${store}${head(rows)}
  let br = Order[slot];
${rs.flatMap((i) => js.map((j) => `  var a${i}_${j} = vec4<f32>(0.0);`)).join('\n')}
  for (var k = Ptr[br]; k < Ptr[br + 1u]; k++) {
    let xb = colAt(k) * ${c}u;
${blockUpdateWgsl(r, c, (q, j) => texel(`base + Off[xb + ${q}u]`, j, sWidth), rows, valOf)}
  }
  let oc = P.oc;
${rs.map((i) => `  if (br * ${r}u + ${i}u < oc) {
${js.map((j) => `    put(br * ${r}u + ${i}u, oy0, ox4, n, ${j}u, a${i}_${j}${bias ? ` + vec4<f32>(Bias[br * ${r}u + ${i}u])` : ''});`).join('\n')}
  }`).join('\n')}
}`,
  };
});

/** CSR rows (vec4: row, start, end, 0), longest first, so neighbouring slots run equally long loops. */
export function sortedCsrRows(rt: GpuRuntime, m: CsrMatrix): GpuStorage {
  const rows = Array.from({ length: m.rows }, (_, i) => i).sort((a, b) => m.rowLength(b) - m.rowLength(a) || a - b);
  const words = new Uint32Array(m.rows * 4);
  rows.forEach((r, i) => words.set([r, m.rowPtr[r]!, m.rowPtr[r + 1]!, 0], i * 4));
  return uploadU32(rt, words);
}

/**
 * y = conv2d(x, W) (+ bias) for sparse W over shifted copies of x, chunked over images
 * when their copies exceed one texture, with the plan's row tile R and BSR value operand
 * (a plan of the shifted path: conv-plan.ts checked that it applies).
 */
export function sparseConvShifted(rt: GpuRuntime, plan: SparseConvPlan, w: GpuSparse, x: GpuStorage, bias: GpuStorage | null, g: Conv2dGeometry): GpuStorage {
  const m = w.matrix;
  const width = flatTextureWidth(rt, 1)!;
  const chunk = chunkImages(rt, g, width);
  const cols = m.format === 'bsr' ? m.paddedCols : m.cols;
  const geom = `${cols}:${g.c}x${g.h}x${g.w}:${g.kh}x${g.kw}:s${g.sh}x${g.sw}:p${g.ph}x${g.pw}:d${g.dh}x${g.dw}`;
  const ov = (images: number) => w.cachedTexture(`conv-shifted-ov:${geom}:${images}`, () => {
    const offsets = shiftedOffsets(cols, g, images);
    return nonzeroTexture(rt, m as CsrMatrix, (col) => offsets[col]!);
  });
  // CSR needs its (offset, value) texture; an all-zero matrix has none.
  if (chunk < 1 || g.ow % 4 !== 0 || (m.format === 'csr' && (m.nnz === 0 || !ov(Math.min(chunk, g.n))))) {
    throw new Error(`sparseConvWith: the shifted-copies plan does not apply to this convolution on this device; plan with the device's settings`);
  }
  const [r, c] = m.format === 'csr' ? [1, 1] : (m as BsrMatrix).block;
  const rows = plan.rowTile;
  const ow4 = g.ow / 4, hp = paddedRows(g);
  const groups = ow4 * Math.ceil(g.oh / rows);
  const slots = m.format === 'csr' ? m.rows : (m as BsrMatrix).blockRows;
  const wg = gridShape(groups);
  if (g.n > 65535 || Math.ceil(slots / wg[1]) > 65535) throw new Error(`sparseConv2d: ${g.n} images × ${slots} filter rows exceed the adapter's dispatch limits`);
  const y = rt.alloc(g.n * g.oc * g.oh * g.ow);
  const b = bias ? [bias] : [];
  for (let img0 = 0; img0 < g.n; img0 += chunk) {
    const images = Math.min(chunk, g.n - img0);
    const s = shiftedCopies(rt, x, g, width, img0, images);
    const params = { groups, slots, oh: g.oh, ow4, rowStep: g.sh * ow4, plane: hp * ow4, oc: g.oc, img0 };
    const grid: [number, number, number] = [Math.ceil(groups / wg[0]), Math.ceil(slots / wg[1]), images];
    if (m.format === 'csr') {
      const sortedRows = w.cached('conv-rows', () => sortedCsrRows(rt, m));
      const ovt = ov(images)!;
      rt.run(csrProgram({ rows, bias: !!bias, ovWidth: ovt.width, sWidth: width, wg }), [sortedRows, ovt, s, ...b], [y], params, grid);
    } else {
      const bm = m as BsrMatrix;
      const off = w.cached(`conv-shifted-off:${geom}:${images}`, () => uploadU32(rt, shiftedOffsets(cols, g, images)));
      const vt = plan.values === 'texture' ? bsrValuesTexture(w) : null;
      const ins = [w.buffer('order'), w.buffer('ptr'), w.buffer('cols'), vt ?? w.buffer('vals'), off, s, ...b];
      rt.run(bsrProgram({ r, c, rows, bits: bm.indexBits, bias: !!bias, valsWidth: vt?.width ?? 0, sWidth: width, wg }), ins, [y], params, grid);
    }
    rt.releaseTexture(s);
  }
  return y;
}
