/**
 * BSR sparse × dense products for Linear layers: y[batch, out] = x[batch, in] · Wᵀ
 * with W [out, in] in r×c blocks.
 *
 * Register blocking: an invocation owns one block row (r output rows) and one vec4
 * column of the batch, i.e. an r × 4 micro-tile of yᵀ held in r vec4 accumulators.
 * Per stored block it loads the c vec4s of XT the block touches (four at a time) and
 * reuses each for the r rows: r·c FMAs on vec4s per c loads, against 1 per load in
 * CSR. Block values are read as vec4s (r·c is a multiple of 4 for every supported
 * shape). The block shape is a compile-time constant (one pipeline per shape), so
 * the micro-tile is fully unrolled.
 *
 * Block rows are sorted by their block count, longest first (as CSR rows are), so
 * neighbouring invocations run equally long loops.
 *
 * Texture path (as for CSR): the block values (an rgba32float texture, flat-indexed) and
 * XT are read with textureLoad instead of storage loads — on llvmpipe a divergent storage
 * load is a per-lane loop.
 *
 * The operands, batch tile and workgroup size are planned per problem by bsr-plan.ts;
 * `bsrSpmmWith` runs any plan, `bsrMatmul` the one planned for the device.
 */
import type { BsrMatrix } from '../../formats/bsr.js';
import type { GpuRuntime, GpuStorage, GpuTexture } from '../../gpu/runtime.js';
import { programFamily } from '../../gpu/program.js';
import { BSR_NOMINAL_BATCH, bsrSpmmCandidates, bsrSpmmProblem, type BsrSpmmPlan, planBsrSpmm } from './bsr-plan.js';
import { flatCoord, flatTextureWidth, transposeToTexture, transposeToVec4 } from './layout.js';
import { colIndexWgsl, GpuSparse, gridShape, uploadSettings, uploadU32, withMatrixTuning } from './storage.js';

const LANE = ['x', 'y', 'z', 'w'];

/** The block values as rgba32float texels, flat-indexed (layout.ts), or null when they do not fit. */
function uploadValsTexture(rt: GpuRuntime, m: BsrMatrix): GpuTexture | null {
  const texels = m.values.length / 4;
  const w = flatTextureWidth(rt, texels);
  if (!w) return null;
  const h = Math.ceil(texels / w);
  const data = new Float32Array(w * h * 4);
  data.set(m.values);
  return rt.uploadTexture('rgba32float', w, h, data);
}

/**
 * Uploads the matrix (block rows sorted longest first, indices, values) and, when `plan` reads
 * textures, the values texture; by default `plan` is the device's plan at a batch of
 * BSR_NOMINAL_BATCH. Plans made later for other batches build what they need on first use.
 */
export function uploadBsr(rt: GpuRuntime, m: BsrMatrix, plan?: BsrSpmmPlan): GpuSparse {
  const order = Array.from({ length: m.blockRows }, (_, i) => i);
  const len = (i: number) => m.blockRowPtr[i + 1]! - m.blockRowPtr[i]!;
  order.sort((a, b) => len(b) - len(a) || a - b);
  const w = new GpuSparse(rt, m, {
    order: uploadU32(rt, Uint32Array.from(order)),
    ptr: uploadU32(rt, m.blockRowPtr),
    cols: uploadU32(rt, m.packedColIdx()),
    vals: rt.upload(m.values),
  }, { blockRows: m.blockRows });
  if ((plan ?? bsrUploadPlan(rt, m)).operands === 'texture') bsrValuesTexture(w);
  return w;
}

function bsrUploadPlan(rt: GpuRuntime, m: BsrMatrix): BsrSpmmPlan {
  const problem = bsrSpmmProblem(m, BSR_NOMINAL_BATCH);
  const variants = bsrSpmmCandidates(problem, rt.settings).map((c) => c.variant);
  return planBsrSpmm(problem, uploadSettings(rt.settings, 'spmm-bsr', variants)).plan;
}

/** The block values as a flat rgba32float texture ('vals'), built on first use; null when they do not fit. */
export function bsrValuesTexture(w: GpuSparse): GpuTexture | null {
  return w.cachedTexture('vals', () => uploadValsTexture(w.rt, w.matrix as BsrMatrix));
}

/**
 * The unrolled micro-tile update for one stored block `k` (WGSL statements): row i
 * of the block updates accumulator a{i}_{t} for each of the `tb` batch vec4s t, so
 * every block value loaded serves tb vec4 FMAs and every input vec4 serves r.
 * `xOf(j, t)` is the input vec4 for block column j and batch group t.
 */
export function blockUpdateWgsl(r: number, c: number, xOf: (j: number, t: number) => string, tb = 1, valOf = (v: string) => `Vals[${v}]`): string {
  const lines: string[] = [`    let vb = k * ${(r * c) / 4}u;`];
  const declared = new Set<number>();
  for (let j0 = 0; j0 < c; j0 += 4) {
    const cw = Math.min(4, c - j0);
    for (let j = j0; j < j0 + cw; j++) for (let t = 0; t < tb; t++) lines.push(`    let x${j}_${t} = ${xOf(j, t)};`);
    for (let i = 0; i < r; i++) {
      for (let j = j0; j < j0 + cw; j++) {
        const v = Math.floor((i * c + j) / 4);
        if (!declared.has(v)) {
          declared.add(v);
          lines.push(`    let wv${v} = ${valOf(`vb + ${v}u`)};`);
        }
      }
      for (let t = 0; t < tb; t++) {
        // elements (i, j0..j0+cw) of the block, flat index i·c + j
        const terms = Array.from({ length: cw }, (_, q) => {
          const flat = i * c + j0 + q;
          return `wv${Math.floor(flat / 4)}.${LANE[flat % 4]} * x${j0 + q}_${t}`;
        });
        lines.push(`    a${i}_${t} += ${terms.join(' + ')};`);
      }
    }
  }
  return lines.join('\n');
}

interface SpmmConfig { r: number; c: number; tb: number; bits: 16 | 32; bias: boolean; wg: [number, number]; valsWidth: number }

/** valsWidth > 0: the texture path (block values and XT read with textureLoad). */
const spmmProgram = programFamily('sparse:bsr-spmm', ({ r, c, tb, bits, bias, wg, valsWidth }: SpmmConfig) => {
  const rs = Array.from({ length: r }, (_, i) => i);
  const ts = Array.from({ length: tb }, (_, i) => i);
  const tex = valsWidth > 0;
  const xOf = tex
    ? (j: number, t: number) => `textureLoad(XT, vec2<u32>(o${t}, xb + ${j}u), 0)`
    : (j: number, t: number) => `XT[(xb + ${j}u) * nb4 + o${t}]`;
  const valOf = tex ? (v: string) => `textureLoad(Vals, ${flatCoord(v, valsWidth)}, 0)` : undefined;
  return {
    inputs: [
      { name: 'Order', type: 'array<u32>' }, { name: 'Ptr', type: 'array<u32>' }, { name: 'Cols', type: 'array<u32>' },
      { name: 'Vals', type: tex ? 'texture_2d<f32>' : 'array<vec4<f32>>' }, { name: 'XT', type: tex ? 'texture_2d<f32>' : 'array<vec4<f32>>' },
      ...(bias ? [{ name: 'Bias' }] : []),
    ],
    outputs: [{ name: 'Y' }],
    workgroupSize: wg,
    params: [['blockRows', 'u32'], ['nb4', 'u32'], ['batch', 'u32'], ['rows', 'u32']],
    body: () => `
${colIndexWgsl(bits)}
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let nb4 = P.nb4; let batch = P.batch; let rows = P.rows;
  let g = gid.x; let oi = gid.y + gid.z * 65535u * WG_Y;
  if (g * ${tb}u >= nb4 || oi >= P.blockRows) { return; }
  let br = Order[oi];
  // A partial last group reads a clamped column; its extra lanes are not stored.
${ts.map((t) => `  let o${t} = min(g * ${tb}u + ${t}u, nb4 - 1u);`).join('\n')}
${rs.flatMap((i) => ts.map((t) => `  var a${i}_${t} = vec4<f32>(0.0);`)).join('\n')}
  for (var k = Ptr[br]; k < Ptr[br + 1u]; k++) {
    let xb = colAt(k) * ${c}u;
${blockUpdateWgsl(r, c, xOf, tb, valOf)}
  }
${rs.flatMap((i) => ts.map((t) => `  store(br * ${r}u + ${i}u, g * ${tb}u + ${t}u, batch, rows, a${i}_${t});`)).join('\n')}
}
fn store(row: u32, b4: u32, batch: u32, rows: u32, acc: vec4<f32>) {
  if (row >= rows || b4 >= P.nb4) { return; }
  let v = acc${bias ? ' + vec4<f32>(Bias[row])' : ''};
  for (var j = 0u; j < 4u; j++) {
    let b = b4 * 4u + j;
    if (b < batch) { Y[b * rows + row] = v[j]; }
  }
}`,
  };
});

/** y[batch, rows] = x · Wᵀ (+ bias) with the kernel the device's settings plan for this matrix and batch. */
export function bsrMatmul(rt: GpuRuntime, w: GpuSparse, x: GpuStorage, bias: GpuStorage | null, batch: number): GpuStorage {
  return bsrSpmmWith(rt, planBsrSpmm(bsrSpmmProblem(w.matrix as BsrMatrix, batch), withMatrixTuning(rt.settings, w, 'spmm-bsr')).plan, w, x, bias, batch);
}

/** y[batch, rows] = x · Wᵀ (+ bias) with `plan` (any candidate of bsrSpmmCandidates for this problem). */
export function bsrSpmmWith(rt: GpuRuntime, plan: BsrSpmmPlan, w: GpuSparse, x: GpuStorage, bias: GpuStorage | null, batch: number): GpuStorage {
  const m = w.matrix as BsrMatrix;
  if (m.format !== 'bsr') throw new Error('bsrSpmmWith: the matrix is not BSR');
  const [r, c] = m.block;
  const nb4 = Math.ceil(batch / 4);
  let vt: GpuTexture | null = null, xtTex: GpuTexture | null = null;
  if (plan.operands === 'texture') {
    vt = bsrValuesTexture(w);
    xtTex = vt ? transposeToTexture(rt, x, batch, m.cols, m.paddedCols) : null;
    if (!vt || !xtTex) throw new Error(`bsrSpmmWith: the texture plan does not fit this device (${m.nnzBlocks} blocks, ${m.paddedCols} columns, batch ${batch}); plan with the device's settings`);
  }
  const y = rt.alloc(batch * m.rows);
  const xt = xtTex ?? transposeToVec4(rt, x, batch, m.cols, m.paddedCols);
  const tb = plan.tb;
  const groups = Math.ceil(nb4 / tb);
  const wg = gridShape(groups, plan.threads);
  const gy = Math.ceil(m.blockRows / wg[1]);
  const grid: [number, number, number] = [Math.ceil(groups / wg[0]), Math.min(gy, 65535), Math.ceil(gy / 65535)];
  const ins = [w.buffer('order'), w.buffer('ptr'), w.buffer('cols'), vt ?? w.buffer('vals'), xt, ...(bias ? [bias] : [])];
  rt.run(spmmProgram({ r, c, tb, bits: m.indexBits, bias: !!bias, wg, valsWidth: vt ? vt.width : 0 }), ins, [y], { blockRows: m.blockRows, nb4, batch, rows: m.rows }, grid);
  if (xtTex) rt.releaseTexture(xtTex);
  else rt.release(xt as GpuStorage);
  return y;
}
