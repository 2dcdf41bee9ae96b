/**
 * The workgroup-memory GEMM: each workgroup computes a BM × BN block of C. Per k-step of BK,
 * its invocations stage a BM × BK slab of op(A) and a BK × BN slab of op(B) in `var<workgroup>`
 * memory (each element loaded from storage once per workgroup, `vec4` loads where the
 * operand's contiguous dimension allows), then every invocation accumulates its TM × TN
 * outputs (TN/4 `vec4` accumulators per row) from workgroup memory.
 *
 * This is the usual tiling on GPUs, where workgroup memory is fast on-chip memory shared by a
 * compute unit. (On CPU rasterizers such as llvmpipe it is plain memory behind barriers, and the
 * register-blocked kernel of matmul/tiled.ts is faster; this one is correct there, only slow.)
 *
 * Same geometry as the tiled kernel: A·B, Aᵀ·B, A·Bᵀ, Aᵀ·Bᵀ, batches and split-K slices along z
 * (z = batch · SPLITS + slice), batch strides (0 broadcasts), the fused bias + ReLU epilogue or
 * split-K partial sums, bounds-checked stores when the blocks overhang m or n. Slabs past the end
 * of k (or of the slice) are zero-filled, so k needs no alignment.
 *
 * Workgroup memory holds the slabs k-major as `vec4`s: As[kk · BM/4 + row/4] holds rows
 * row … row+3 of op(A) at k-step kk, Bs[kk · BN/4 + col/4] columns col … col+3 of op(B).
 */
import { programFamily } from '../../gpu/program.js';
import type { PlannerLimits } from '../../gpu/profile.js';
import { MATMUL_PARAMS, type MatmulEpilogue, paramLets, splitFree, XYZW } from './layout.js';
import { ind, range } from './gemm-core.js';

export interface SharedGemmConfig {
  kind: 'shared';
  /** Rows and columns of C per workgroup. */
  bm: number;
  bn: number;
  /** Rows and columns of C per invocation (multiples of 4). */
  tm: number;
  tn: number;
  /** k-steps staged in workgroup memory per round (a multiple of 4). */
  bk: number;
  transA: boolean;
  transB: boolean;
  /** vec4 loads of A: along k (A [m, k], k % 4 == 0) or along m (Aᵀ [k, m], m % 4 == 0); batch stride % 4 == 0. */
  aVec: boolean;
  /** vec4 loads of B: along n (B [k, n], n % 4 == 0) or along k (Bᵀ [n, k], k % 4 == 0); batch stride % 4 == 0. */
  bVec: boolean;
  /** n % 4 == 0: C (and the bias) are bound as vec4 arrays. */
  cVec: boolean;
  /** Blocks may overhang m or n: loads and stores are guarded. */
  checked: boolean;
  /** Writes partial sums of one k-slice per z (split-K); no epilogue. */
  split: boolean;
  epilogue: MatmulEpilogue;
}

/** Block and per-invocation shape (the part a planner picks; layouts follow from the geometry). */
export type SharedGemmShape = Pick<SharedGemmConfig, 'bm' | 'bn' | 'tm' | 'tn' | 'bk'>;

/** Invocations along x (columns) and y (rows) of one workgroup. */
export function sharedWorkgroup(c: SharedGemmShape): [number, number] {
  return [c.bn / c.tn, c.bm / c.tm];
}

/** Bytes of workgroup memory the two slabs take. */
export function sharedStorageBytes(c: SharedGemmShape): number {
  return 4 * c.bk * (c.bm + c.bn);
}

/** Whether a block shape is well formed and fits the device's workgroup limits. */
export function sharedFits(c: SharedGemmShape, lim: PlannerLimits): boolean {
  const [x, y] = sharedWorkgroup(c);
  return c.tm % 4 === 0 && c.tn % 4 === 0 && c.bk % 4 === 0 && c.bm % c.tm === 0 && c.bn % c.tn === 0 &&
    x * y <= lim.maxComputeInvocationsPerWorkgroup && x <= lim.maxComputeWorkgroupSizeX && y <= lim.maxComputeWorkgroupSizeY &&
    sharedStorageBytes(c) <= lim.maxComputeWorkgroupStorageSize;
}

/** A short description of a config for error messages. */
function describe(c: SharedGemmConfig): string {
  const epi = c.split ? 'split' : `${c.epilogue.bias ? 'bias' : 'nobias'}${c.epilogue.relu ? '+relu' : ''}`;
  return `shared ${c.bm}x${c.bn}:t${c.tm}x${c.tn}:k${c.bk}:${c.transA ? 'T' : 'N'}${c.transB ? 'T' : 'N'}:a=${c.aVec ? 'vec4' : 'f32'}:b=${c.bVec ? 'vec4' : 'f32'}:c=${c.cVec ? 'vec4' : 'f32'}:${c.checked ? 'checked' : 'exact'}:${epi}`;
}

function validate(c: SharedGemmConfig): void {
  const [x, y] = sharedWorkgroup(c);
  if (c.tm % 4 || c.tn % 4 || c.bk % 4 || c.bm % c.tm || c.bn % c.tn || !Number.isInteger(x) || !Number.isInteger(y)) {
    throw new Error(`matmul: malformed workgroup-memory GEMM block (${describe(c)})`);
  }
  if (c.split && (c.epilogue.bias || c.epilogue.relu)) throw new Error('matmul: split-K partial sums take no epilogue');
}

const vecType = 'array<vec4<f32>>';

export const sharedGemmProgram = programFamily('matmul:shared', (c: SharedGemmConfig) => {
  validate(c);
  const inputs = [
    { name: 'A', type: c.aVec ? vecType : undefined },
    { name: 'B', type: c.bVec ? vecType : undefined },
  ];
  if (c.epilogue.bias) inputs.push({ name: 'Bias', type: c.cVec ? vecType : undefined });
  return {
    inputs,
    outputs: [{ name: 'C', type: c.cVec ? vecType : undefined }],
    workgroupSize: sharedWorkgroup(c),
    params: MATMUL_PARAMS,
    body: () => sharedGemmWgsl(c),
  };
}, splitFree);

/**
 * WGSL that stages one operand's slab into workgroup memory, in units that each write whole
 * `vec4`s (no two invocations write parts of the same vec4). `count` units, numbered
 * q = 0 … count−1, are spread over the workgroup's invocations; `unit(q)` is the code of one.
 */
function stageSlab(count: number, threads: number, unit: (q: string) => string[]): string[] {
  const lines: string[] = [];
  for (const r of range(Math.ceil(count / threads))) {
    const q = `lid + ${r * threads}u`;
    const partial = count % threads !== 0 && (r + 1) * threads > count;
    lines.push(partial ? `if (${q} < ${count}u) {` : '{', `  let q = ${q};`, ...unit('q').map((l) => `  ${l}`), '}');
  }
  return lines;
}

function sharedGemmWgsl(c: SharedGemmConfig): string {
  const { bm, bn, tm, tn, bk, checked } = c;
  const [wgX, wgY] = sharedWorkgroup(c);
  const threads = wgX * wgY;
  const bm4 = bm / 4, bn4 = bn / 4, bk4 = bk / 4, tm4 = tm / 4, tn4 = tn / 4;

  // op(A)(row, p) sits at aOff + row·aRS + p·aKS; op(B)(p, col) at bOff + p·bKS + col·bCS. Reads past
  // the slice of k (or, when checked, past m or n) give zero; their addresses are clamped into the operand.
  const inA = (row: string, p: string) => [`${p} < kEnd`, ...(checked ? [`${row} < M`] : [])].join(' && ');
  const inB = (p: string, col: string) => [`${p} < kEnd`, ...(checked ? [`${col} < N`] : [])].join(' && ');
  const read = (name: string, vec: boolean, idx: string, last: string, cond: string) =>
    `select(${vec ? 'vec4<f32>(0.0)' : '0.0'}, ${name}[${vec ? `min(${idx}, ${last}) >> 2u` : `min(${idx}, ${last})`}], ${cond})`;
  const readA = (row: string, p: string, vec = false) => read('A', vec, `aOff + (${row}) * aRS + (${p}) * aKS`, 'aLast', inA(row, p));
  const readB = (p: string, col: string, vec = false) => read('B', vec, `bOff + (${p}) * bKS + (${col}) * bCS`, 'bLast', inB(p, col));
  const quad = (f: (j: number) => string) => `vec4<f32>(${range(4).map(f).join(', ')})`;
  // A 4 × 4 block read as four vec4s along k (v0 … v3, one per row or column), stored as four vec4s across them.
  const transpose = (slab: string, pitch: number, at: string, kq: string) =>
    range(4).map((e) => `${slab}[(${kq} * 4u + ${e}u) * ${pitch}u + ${at}] = ${quad((j) => `v${j}.${XYZW[e]}`)};`);

  let aSlab: string[];
  if (c.transA) {
    // Aᵀ [k, m]: a unit is 4 rows at one k-step, contiguous in storage (rows fastest across invocations).
    aSlab = stageSlab(bk * bm4, threads, (q) => [
      `let kk = ${q} / ${bm4}u; let rq = ${q} % ${bm4}u;`,
      `let row = row0 + rq * 4u; let p = k0 + kk;`,
      `As[kk * ${bm4}u + rq] = ${c.aVec ? readA('row', 'p', true) : quad((j) => readA(`row + ${j}u`, 'p'))};`,
    ]);
  } else if (c.aVec) {
    // A [m, k], k % 4 == 0: a unit is a 4 × 4 block, four vec4 loads along k, transposed into four k-steps.
    aSlab = stageSlab(bm4 * bk4, threads, (q) => [
      `let rq = ${q} / ${bk4}u; let kq = ${q} % ${bk4}u;`,
      `let row = row0 + rq * 4u; let p = k0 + kq * 4u;`,
      ...range(4).map((j) => `let v${j} = ${readA(`row + ${j}u`, 'p', true)};`),
      ...transpose('As', bm4, 'rq', 'kq'),
    ]);
  } else {
    // A [m, k], scalar loads: a unit is 4 rows at one k-step (k fastest across invocations).
    aSlab = stageSlab(bm4 * bk, threads, (q) => [
      `let rq = ${q} / ${bk}u; let kk = ${q} % ${bk}u;`,
      `let row = row0 + rq * 4u; let p = k0 + kk;`,
      `As[kk * ${bm4}u + rq] = ${quad((j) => readA(`row + ${j}u`, 'p'))};`,
    ]);
  }
  let bSlab: string[];
  if (!c.transB) {
    // B [k, n]: a unit is 4 columns at one k-step, contiguous in storage.
    bSlab = stageSlab(bk * bn4, threads, (q) => [
      `let kk = ${q} / ${bn4}u; let cq = ${q} % ${bn4}u;`,
      `let col = col0 + cq * 4u; let p = k0 + kk;`,
      `Bs[kk * ${bn4}u + cq] = ${c.bVec ? readB('p', 'col', true) : quad((j) => readB('p', `col + ${j}u`))};`,
    ]);
  } else if (c.bVec) {
    // Bᵀ [n, k], k % 4 == 0: 4 × 4 blocks, as for A.
    bSlab = stageSlab(bn4 * bk4, threads, (q) => [
      `let cq = ${q} / ${bk4}u; let kq = ${q} % ${bk4}u;`,
      `let col = col0 + cq * 4u; let p = k0 + kq * 4u;`,
      ...range(4).map((j) => `let v${j} = ${readB('p', `col + ${j}u`, true)};`),
      ...transpose('Bs', bn4, 'cq', 'kq'),
    ]);
  } else {
    bSlab = stageSlab(bn4 * bk, threads, (q) => [
      `let cq = ${q} / ${bk}u; let kk = ${q} % ${bk}u;`,
      `let col = col0 + cq * 4u; let p = k0 + kk;`,
      `Bs[kk * ${bn4}u + cq] = ${quad((j) => readB('p', `col + ${j}u`))};`,
    ]);
  }

  const rows = range(tm), groups = range(tn4);
  const fmas: string[] = [
    ...range(tm4).map((q) => `let a${q} = As[kk * ${bm4}u + ty * ${tm4}u + ${q}u];`),
    ...groups.map((t) => `let b${t} = Bs[kk * ${bn4}u + tx * ${tn4}u + ${t}u];`),
  ];
  for (const r of rows) for (const t of groups) fmas.push(`acc${r}_${t} += a${r >> 2}.${XYZW[r & 3]} * b${t};`);

  const stores: string[] = [];
  for (const r of rows) {
    const st: string[] = [`let cRow = (z * M + rowT + ${r}u) * N;`];
    for (const t of groups) {
      const col = `colT + ${4 * t}u`;
      st.push(`var v${t} = acc${r}_${t};`);
      if (!c.split && c.epilogue.bias) {
        st.push(c.cVec ? `v${t} += Bias[min(${col}, N - 4u) >> 2u];` : `v${t} += vec4<f32>(${range(4).map((i) => `Bias[min(${col} + ${i}u, N - 1u)]`).join(', ')});`);
      }
      if (!c.split && c.epilogue.relu) st.push(`v${t} = max(v${t}, vec4<f32>(0.0));`);
      if (c.cVec) {
        const w = `C[(cRow + ${col}) >> 2u] = v${t};`;
        st.push(checked ? `if (${col} < N) { ${w} }` : w);
      } else {
        for (const i of range(4)) {
          const w = `C[cRow + ${col} + ${i}u] = v${t}.${XYZW[i]};`;
          st.push(checked ? `if (${col} + ${i}u < N) { ${w} }` : w);
        }
      }
    }
    stores.push(checked ? `if (rowT + ${r}u < M) {\n${ind(st, 2)}\n}` : `{\n${ind(st, 2)}\n}`);
  }

  return `
var<workgroup> As: array<vec4<f32>, ${bk * bm4}>;
var<workgroup> Bs: array<vec4<f32>, ${bk * bn4}>;

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lidv: vec3<u32>) {
${paramLets}
  // Workgroup-uniform: the slice of k, the block's origin (barriers sit in loops bounded by them).
  let z = wid.z;
  let batch = z / SPLITS;
  let kBegin = (z % SPLITS) * K_CHUNK;
  let kEnd = min(K, kBegin + K_CHUNK);
  let row0 = wid.y * ${bm}u;
  let col0 = wid.x * ${bn}u;
  let tx = lidv.x;
  let ty = lidv.y;
  let lid = ty * ${wgX}u + tx;
  let rowT = row0 + ty * ${tm}u;
  let colT = col0 + tx * ${tn}u;
  let aOff = batch * A_BATCH;
  let bOff = batch * B_BATCH;
  ${c.transA ? 'let aRS = 1u; let aKS = M;' : 'let aRS = K; let aKS = 1u;'}
  ${c.transB ? 'let bKS = 1u; let bCS = K;' : 'let bKS = N; let bCS = 1u;'}
  // Last readable element of each operand (guarded reads clamp to it).
  let aLast = max(arrayLength(&A) * ${c.aVec ? 4 : 1}u, 1u) - 1u;
  let bLast = max(arrayLength(&B) * ${c.bVec ? 4 : 1}u, 1u) - 1u;
${ind(rows.flatMap((r) => groups.map((t) => `var acc${r}_${t} = vec4<f32>(0.0);`)), 2)}
  for (var k0 = kBegin; k0 < kEnd; k0 += ${bk}u) {
${ind(aSlab, 4)}
${ind(bSlab, 4)}
    workgroupBarrier();
    for (var kk = 0u; kk < ${bk}u; kk++) {
${ind(fmas, 6)}
    }
    workgroupBarrier();
  }
${ind(stores, 2)}
}`;
}

/** Workgroups for one launch: [column blocks, row blocks, batch × slices]. */
export function sharedGemmGrid(c: SharedGemmShape, m: number, n: number, z: number): [number, number, number] {
  return [Math.ceil(n / c.bn), Math.ceil(m / c.bm), z];
}
