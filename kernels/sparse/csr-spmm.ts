/**
 * CSR sparse × dense products for Linear layers: y[batch, out] = x[batch, in] · Wᵀ
 * with W [out, in] in CSR.
 *
 * Scheduling (row balancing). At upload, rows are cut into segments of at most
 * `maxSegment` non-zeros (so a single very long row is shared by several threads)
 * and the segments are sorted by length, longest first (Sputnik's row swizzle):
 * neighbouring invocations — which llvmpipe runs as SIMD lanes of one loop, and a
 * GPU as one warp — get equally long loops, and the longest work starts first.
 * Segments of a split row write partial sums; a small fix-up pass adds them.
 *
 * Batch ≥ 2 (SpMM): x is transposed once to XT [in, ⌈batch/4⌉] vec4s (layout.ts);
 * the grid is (vec4 batch column, segment), each invocation accumulates TB vec4s of
 * the batch for its segment: per non-zero it reads one index and one value and TB
 * contiguous vec4s of XT. It writes y in its [batch, out] layout directly.
 * Batch 1 (SpMV): one invocation per segment, scalar; or (CSR-vector) a group of 32
 * invocations per segment striding through its non-zeros, summed in workgroup memory.
 *
 * Device buffers: Seg (vec4<u32>: row, start, end, partial slot or NONE),
 * Cols (packed 16-bit pairs when in ≤ 65536), Vals, Splits (vec4<u32>: row, first
 * slot, slot count, 0) for the fix-up.
 *
 * Texture path (SpMM): the gathered operands — (column, value bits) pairs in an rg32uint
 * texture CV, W texels a row, and XT in an rgba32float texture — are read with textureLoad
 * instead of storage loads. Same schedule, same results; on llvmpipe it is ~6× faster,
 * because a divergent storage load there is a per-lane loop with a bounds check per
 * component; on a GPU storage buffers are the usual choice.
 *
 * Which of these runs, the batch tile and the workgroup size are planned per problem by
 * csr-plan.ts; `csrSpmmWith` runs any plan, `csrMatmul` runs the one planned for the device.
 */
import type { CsrMatrix } from '../../formats/csr.js';
import type { GpuRuntime, GpuStorage, GpuTexture } from '../../gpu/runtime.js';
import { type Program, programFamily } from '../../gpu/program.js';
import { CSR_NOMINAL_BATCH, type CsrLayout, VECTOR_LANES, csrSpmmCandidates, csrSpmmProblem, type CsrSpmmPlan, planCsrSpmm } from './csr-plan.js';
import { flatCoord, nonzeroTexture, transposeToTexture, transposeToVec4 } from './layout.js';
import { colIndexWgsl, GpuSparse, gridShape, uploadSettings, uploadU32, withMatrixTuning } from './storage.js';

const NONE = 0xffffffff;

/** A row schedule on the device: segment descriptors, split-row descriptors and their counts. */
interface CsrSegments {
  seg: GpuStorage;
  splits: GpuStorage;
  segments: number;
  slots: number;
  splitRows: number;
}

/** Cuts rows into segments of at most layout.maxSegment non-zeros (sorted when asked), on the host. */
function segmentWords(m: CsrMatrix, layout: CsrLayout): { seg: Uint32Array; splits: Uint32Array; slots: number } {
  const maxSeg = Math.max(1, layout.maxSegment);
  const segs: Array<[number, number, number, number]> = [];
  const splits: number[] = [];
  let slots = 0;
  for (let r = 0; r < m.rows; r++) {
    const start = m.rowPtr[r]!, end = m.rowPtr[r + 1]!;
    if (end - start <= maxSeg) {
      segs.push([r, start, end, NONE]);
      continue;
    }
    const count = Math.ceil((end - start) / maxSeg);
    splits.push(r, slots, count, 0);
    for (let s = 0; s < count; s++) segs.push([r, start + s * maxSeg, Math.min(end, start + (s + 1) * maxSeg), slots++]);
  }
  if (layout.sort) segs.sort((a, b) => b[2] - b[1] - (a[2] - a[1]) || a[0] - b[0]);
  const seg = new Uint32Array(segs.length * 4);
  segs.forEach((s, i) => seg.set(s, i * 4));
  return { seg, splits: Uint32Array.from(splits), slots };
}

/** The matrix's row schedule for `layout`, built and uploaded on first use. */
function csrSegments(w: GpuSparse, layout: CsrLayout): CsrSegments {
  const key = `csr-seg:${layout.sort ? 'sorted' : 'rows'}:${layout.maxSegment}`;
  const host = w.memo(key, () => segmentWords(w.matrix as CsrMatrix, layout));
  return {
    seg: w.cached(`${key}:seg`, () => uploadU32(w.rt, host.seg)),
    splits: w.cached(`${key}:splits`, () => uploadU32(w.rt, host.splits)),
    segments: host.seg.length / 4,
    slots: host.slots,
    splitRows: host.splits.length / 4,
  };
}

/** The (column, value bits) texture CV ('cv'), built on first use; null when it does not fit. */
function csrPairTexture(w: GpuSparse): GpuTexture | null {
  return w.cachedTexture('cv', () => nonzeroTexture(w.rt, w.matrix as CsrMatrix, (col) => col));
}

/**
 * Uploads the matrix (columns, values) with the row schedule and textures of `plan`; by default
 * the plan the device's settings give for a batch of CSR_NOMINAL_BATCH. Plans made later for
 * other batches build what they need on first use.
 */
export function uploadCsr(rt: GpuRuntime, m: CsrMatrix, plan?: CsrSpmmPlan): GpuSparse {
  const w = new GpuSparse(rt, m, { cols: uploadU32(rt, m.packedColIdx()), vals: rt.upload(m.values) }, {});
  const p = plan ?? csrUploadPlan(rt, m);
  csrSegments(w, p.layout);
  if (p.operands === 'texture') csrPairTexture(w);
  return w;
}

/** The plan a matrix is uploaded for: the device's plan at the nominal batch. */
function csrUploadPlan(rt: GpuRuntime, m: CsrMatrix): CsrSpmmPlan {
  const problem = csrSpmmProblem(m, CSR_NOMINAL_BATCH);
  const variants = csrSpmmCandidates(problem, rt.settings).map((c) => c.variant);
  return planCsrSpmm(problem, uploadSettings(rt.settings, 'spmm-csr', variants)).plan;
}

/** The inner loop's reads: from storage buffers, or from the CV and XT textures (cvWidth texels a row). */
function gatherWgsl(cvWidth: number): { inputs: Program['inputs']; prefix: string; load: (o: string) => string } {
  if (cvWidth === 0) {
    return {
      inputs: [{ name: 'Cols', type: 'array<u32>' }, { name: 'Vals' }, { name: 'XT', type: 'array<vec4<f32>>' }],
      prefix: 'let v = Vals[k];\n    let row = colAt(k) * nb4;',
      load: (o) => `XT[row + ${o}]`,
    };
  }
  return {
    inputs: [{ name: 'CV', type: 'texture_2d<u32>' }, { name: 'XT', type: 'texture_2d<f32>' }],
    prefix: `let cv = textureLoad(CV, ${flatCoord('k', cvWidth)}, 0);\n    let v = bitcast<f32>(cv.y);`,
    load: (o) => `textureLoad(XT, vec2<u32>(${o}, cv.x), 0)`,
  };
}

/** SpMM: TB vec4 batch columns per invocation; cvWidth > 0 selects the texture path. */
/** `bits`: the column index width, for the storage path only (the texture path reads no index). */
interface SpmmConfig { bits?: 16 | 32; tb: number; bias: boolean; wg: [number, number]; cvWidth: number }

const spmmProgram = programFamily('sparse:csr-spmm', ({ bits, tb, bias, wg, cvWidth }: SpmmConfig) => {
  const t = Array.from({ length: tb }, (_, i) => i);
  const g = gatherWgsl(cvWidth);
  return {
    inputs: [{ name: 'Seg', type: 'array<vec4<u32>>' }, ...g.inputs, ...(bias ? [{ name: 'Bias' }] : [])],
    outputs: [{ name: 'Y' }, { name: 'Part', type: 'array<vec4<f32>>' }],
    workgroupSize: wg,
    // groups: ⌈nb4/TB⌉
    params: [['nseg', 'u32'], ['nb4', 'u32'], ['batch', 'u32'], ['rows', 'u32'], ['groups', 'u32']],
    body: () => `
${cvWidth ? '' : colIndexWgsl(bits!)}
fn emit(s: vec4<u32>, b4: u32, acc: vec4<f32>) {
  let nb4 = P.nb4;
  if (b4 >= nb4) { return; }
  if (s.w != 0xffffffffu) { Part[s.w * nb4 + b4] = acc; return; }
  let batch = P.batch; let rows = P.rows;
  let v = acc${bias ? ' + vec4<f32>(Bias[s.x])' : ''};
  for (var j = 0u; j < 4u; j++) {
    let b = b4 * 4u + j;
    if (b < batch) { Y[b * rows + s.x] = v[j]; }
  }
}
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let nseg = P.nseg; let nb4 = P.nb4;
  let g = gid.x; let si = gid.y + gid.z * 65535u * WG_Y;
  if (g >= P.groups || si >= nseg) { return; }
  let s = Seg[si];
  let b0 = g * ${tb}u;
  // Clamp reads of a partial last group into range; its extra lanes are not written.
${t.map((i) => `  let o${i} = min(b0 + ${i}u, nb4 - 1u);`).join('\n')}
${t.map((i) => `  var a${i} = vec4<f32>(0.0);`).join('\n')}
  for (var k = s.y; k < s.z; k++) {
    ${g.prefix}
${t.map((i) => `    a${i} += v * ${g.load(`o${i}`)};`).join('\n')}
  }
${t.map((i) => `  emit(s, b0 + ${i}u, a${i});`).join('\n')}
}`,
  };
});

interface SpmvConfig { bits: 16 | 32; bias: boolean; threads: number }

const spmvProgram = programFamily('sparse:csr-spmv', ({ bits, bias, threads }: SpmvConfig) => ({
  inputs: [{ name: 'Seg', type: 'array<vec4<u32>>' }, { name: 'Cols', type: 'array<u32>' }, { name: 'Vals' }, { name: 'X' }, ...(bias ? [{ name: 'Bias' }] : [])],
  outputs: [{ name: 'Y' }, { name: 'Part' }],
  workgroupSize: [threads],
  params: [['nseg', 'u32']],
  body: () => `
${colIndexWgsl(bits)}
@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let si = linearIndex(gid, nwg);
  if (si >= P.nseg) { return; }
  let s = Seg[si];
  var acc = 0.0;
  for (var k = s.y; k < s.z; k++) { acc += Vals[k] * X[colAt(k)]; }
  if (s.w != 0xffffffffu) { Part[s.w] = acc; } else { Y[s.x] = acc${bias ? ' + Bias[s.x]' : ''}; }
}`,
}));

/**
 * SpMV with a group of VECTOR_LANES invocations per row segment (CSR-vector, Bell & Garland
 * 2009): the lanes stride through the segment's non-zeros, so neighbouring invocations read
 * neighbouring columns and values, and add their partial sums in workgroup memory.
 */
const spmvVectorProgram = programFamily('sparse:csr-spmv-vector', ({ bits, bias, threads }: SpmvConfig) => {
  const lanes = VECTOR_LANES;
  return {
    inputs: [{ name: 'Seg', type: 'array<vec4<u32>>' }, { name: 'Cols', type: 'array<u32>' }, { name: 'Vals' }, { name: 'X' }, ...(bias ? [{ name: 'Bias' }] : [])],
    outputs: [{ name: 'Y' }, { name: 'Part' }],
    workgroupSize: [threads],
    params: [['nseg', 'u32']],
    body: () => `
${colIndexWgsl(bits)}
var<workgroup> red: array<f32, ${threads}>;
@compute @workgroup_size(WG_X)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let lane = lid.x % ${lanes}u;
  let si = (wid.x + wid.y * nwg.x) * ${threads / lanes}u + lid.x / ${lanes}u;
  let live = si < P.nseg;
  var acc = 0.0;
  if (live) {
    let s = Seg[si];
    for (var k = s.y + lane; k < s.z; k += ${lanes}u) { acc += Vals[k] * X[colAt(k)]; }
  }
  red[lid.x] = acc;
  workgroupBarrier();
  for (var half = ${lanes / 2}u; half > 0u; half = half >> 1u) {
    if (lane < half) { red[lid.x] += red[lid.x + half]; }
    workgroupBarrier();
  }
  if (live && lane == 0u) {
    let s = Seg[si];
    if (s.w != 0xffffffffu) { Part[s.w] = red[lid.x]; } else { Y[s.x] = red[lid.x]${bias ? ' + Bias[s.x]' : ''}; }
  }
}`,
  };
});

/** Adds the partial sums of split rows: one invocation per (split row, batch element). */
const fixupProgram = programFamily('sparse:csr-fixup', ({ bias }: { bias: boolean }) => ({
  inputs: [{ name: 'Splits', type: 'array<vec4<u32>>' }, { name: 'Part' }, ...(bias ? [{ name: 'Bias' }] : [])],
  outputs: [{ name: 'Y' }],
  workgroupSize: [64],
  // n: split rows · batch; stride: floats a slot
  params: [['n', 'u32'], ['batch', 'u32'], ['stride', 'u32'], ['rows', 'u32']],
  body: () => `
@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linearIndex(gid, nwg);
  if (i >= P.n) { return; }
  let batch = P.batch; let stride = P.stride;
  let sp = Splits[i / batch]; let b = i % batch;
  var acc = ${bias ? 'Bias[sp.x]' : '0.0'};
  for (var s = 0u; s < sp.z; s++) { acc += Part[(sp.y + s) * stride + b]; }
  Y[b * P.rows + sp.x] = acc;
}`,
}));

/** y[batch, rows] = x · Wᵀ (+ bias) with the kernel the device's settings plan for this matrix and batch. */
export function csrMatmul(rt: GpuRuntime, w: GpuSparse, x: GpuStorage, bias: GpuStorage | null, batch: number): GpuStorage {
  const stats = w.memo('csr-stats', () => csrSpmmProblem(w.matrix as CsrMatrix, 1));
  return csrSpmmWith(rt, planCsrSpmm({ ...stats, batch }, withMatrixTuning(rt.settings, w, 'spmm-csr')).plan, w, x, bias, batch);
}

/** y[batch, rows] = x · Wᵀ (+ bias) with `plan` (any candidate of csrSpmmCandidates for this problem). */
export function csrSpmmWith(rt: GpuRuntime, plan: CsrSpmmPlan, w: GpuSparse, x: GpuStorage, bias: GpuStorage | null, batch: number): GpuStorage {
  const m = w.matrix as CsrMatrix;
  if (m.format !== 'csr') throw new Error('csrSpmmWith: the matrix is not CSR');
  if (plan.kernel !== 'spmm' && batch !== 1) throw new Error(`csrSpmmWith: the SpMV plan runs batch 1, not ${batch}`);
  const rows = m.rows;
  const y = rt.alloc(batch * rows);
  const { seg, splits, segments: nseg, slots, splitRows: nsplit } = csrSegments(w, plan.layout);
  const b = bias ? [bias] : [];
  const bits = m.indexBits;
  let stride: number;
  let part: GpuStorage;
  if (plan.kernel !== 'spmm') {
    stride = 1;
    part = rt.alloc(Math.max(1, slots));
    const ins = [seg, w.buffer('cols'), w.buffer('vals'), x, ...b];
    if (plan.kernel === 'spmv') rt.run(spmvProgram({ bits, bias: !!bias, threads: plan.threads }), ins, [y, part], { nseg }, Math.ceil(nseg / plan.threads));
    else rt.run(spmvVectorProgram({ bits, bias: !!bias, threads: plan.threads }), ins, [y, part], { nseg }, Math.ceil(nseg / (plan.threads / VECTOR_LANES)));
  } else {
    const nb4 = Math.ceil(batch / 4);
    stride = nb4 * 4;
    const tb = plan.tb;
    const groups = Math.ceil(nb4 / tb);
    const wg = gridShape(groups, plan.threads);
    let cv: GpuTexture | null = null, xtTex: GpuTexture | null = null;
    if (plan.operands === 'texture') {
      cv = csrPairTexture(w);
      xtTex = cv ? transposeToTexture(rt, x, batch, m.cols) : null;
      if (!cv || !xtTex) {
        rt.release(y);
        throw new Error(`csrSpmmWith: the texture plan does not fit this device (${m.nnz} non-zeros, ${m.cols} columns, batch ${batch}); plan with the device's settings`);
      }
    }
    const xt = xtTex ?? transposeToVec4(rt, x, batch, m.cols);
    const gathered = cv ? [cv, xt] : [w.buffer('cols'), w.buffer('vals'), xt];
    part = rt.alloc(Math.max(1, slots) * stride);
    const gy = Math.ceil(nseg / wg[1]);
    const grid: [number, number, number] = [Math.ceil(groups / wg[0]), Math.min(gy, 65535), Math.ceil(gy / 65535)];
    rt.run(spmmProgram({ bits: cv ? undefined : bits, tb, bias: !!bias, wg, cvWidth: cv ? cv.width : 0 }), [seg, ...gathered, ...b], [y, part], { nseg, nb4, batch, rows, groups }, grid);
    if (xtTex) rt.releaseTexture(xtTex);
    else rt.release(xt as GpuStorage);
  }
  if (nsplit > 0) rt.run(fixupProgram({ bias: !!bias }), [splits, part, ...b], [y], { n: nsplit * batch, batch, stride, rows }, Math.ceil((nsplit * batch) / 64));
  rt.release(part);
  return y;
}
