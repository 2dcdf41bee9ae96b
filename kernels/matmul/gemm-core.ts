/**
 * The register-blocked GEMM skeleton shared by the matmul and implicit-GEMM conv
 * kernels. Each invocation computes a TM × (4·TN) block of C in `vec4` accumulators
 * and walks k four steps at a time; how A(row, p) and B(p, col) are fetched is
 * supplied by an `OperandCode` (plain strided/vec4 loads for matmul, on-the-fly
 * im2col addressing for convolution). No workgroup memory: llvmpipe vectorises across
 * invocations, so registers and `vec4` loads pay more than shared tiles (measured there; the
 * workgroup-memory GEMM for GPUs is matmul/shared-gemm.ts).
 *
 * Names visible to operand code: M, K, N (parameters m, k, n), A_BATCH, B_BATCH, SPLITS,
 * K_CHUNK, `batch` (the GEMM batch of this invocation), `aOff`, `bOff`, `row0`, `col0`,
 * `ra{r}` (row r of the block, clamped when checked) and `cb{j}` (column j, clamped).
 */
import { XYZW, paramLets } from './layout.js';

export interface GemmShape {
  /** Rows of C per invocation. */
  tm: number;
  /** vec4 column groups per invocation (4·tn columns). */
  tn: number;
  /** Tiles may overhang m or n: loads are clamped and stores guarded. */
  checked: boolean;
}

/** Code that fetches one operand. For A, `i` is a row r (scalar expressions); for B, a column group t (vec4 expressions). */
export interface OperandCode {
  /** Once per invocation, after the block's rows/columns are known. */
  setup: string[];
  /** Loads for the four k-steps p, p+1, p+2, p+3. */
  step4: string[];
  expr4: (i: number, kk: number) => string;
  /** Loads for the single k-step p (the k tail). */
  step1: string[];
  expr1: (i: number) => string;
}

export interface GemmEpilogueCode {
  /** C bound as vec4 (n % 4 == 0). */
  cVec: boolean;
  /** Adds Bias[column] (bias per output column) — or, with `biasPerRow`, Bias[row]. */
  bias: boolean;
  biasPerRow?: boolean;
  relu: boolean;
}

export const range = (n: number) => Array.from({ length: n }, (_, i) => i);
export const ind = (xs: string[], n: number) => xs.map((x) => ' '.repeat(n) + x).join('\n');

/** Builds an OperandCode for B from per-column scalar element code (used by implicit GEMM). */
export function scalarColumns(tn: number, setup: string[], perStep: (tag: string, p: string) => string[], elem: (j: number, tag: string) => string): OperandCode {
  const cols = range(4 * tn);
  const step = (tag: string, p: string) => [...perStep(tag, p), ...cols.map((j) => `let b${tag}_${j} = ${elem(j, tag)};`)];
  return {
    setup,
    step4: range(4).flatMap((kk) => step(`${kk}`, `p + ${kk}u`)),
    expr4: (t, kk) => `vec4<f32>(${range(4).map((i) => `b${kk}_${4 * t + i}`).join(', ')})`,
    step1: step('s', 'p'),
    expr1: (t) => `vec4<f32>(${range(4).map((i) => `bs_${4 * t + i}`).join(', ')})`,
  };
}

/** Builds an OperandCode for A from per-row scalar element code. */
export function scalarRows(tm: number, setup: string[], perStep: (tag: string, p: string) => string[], elem: (r: number, tag: string) => string): OperandCode {
  const rows = range(tm);
  const step = (tag: string, p: string) => [...perStep(tag, p), ...rows.map((r) => `let a${tag}_${r} = ${elem(r, tag)};`)];
  return {
    setup,
    step4: range(4).flatMap((kk) => step(`${kk}`, `p + ${kk}u`)),
    expr4: (r, kk) => `a${kk}_${r}`,
    step1: step('s', 'p'),
    expr1: (r) => `as_${r}`,
  };
}

/**
 * The kernel body. `extra.params` are WGSL lines run after the matmul parameters
 * (e.g. conv geometry); the program declares MATMUL_PARAMS (first) and those it reads.
 * Output C[(z·M + row)·N + col] where z = gid.z.
 */
export function gemmWgsl(s: GemmShape, a: OperandCode, b: OperandCode, epi: GemmEpilogueCode, extra: { fns?: string; params?: string[] } = {}): string {
  const { tm, tn, checked } = s;
  const rows = range(tm), groups = range(tn), ks = range(4);
  const cols = 4 * tn;
  const fmas: string[] = [];
  for (const kk of ks) for (const r of rows) for (const t of groups) fmas.push(`acc${r}_${t} += ${a.expr4(r, kk)} * ${b.expr4(t, kk)};`);
  const tailFmas: string[] = [];
  for (const r of rows) for (const t of groups) tailFmas.push(`acc${r}_${t} += ${a.expr1(r)} * ${b.expr1(t)};`);

  const stores: string[] = [];
  for (const r of rows) {
    const st: string[] = [`let cRow${r} = (z * M + row0 + ${r}u) * N;`];
    for (const t of groups) {
      const col = `col0 + ${4 * t}u`;
      st.push(`var v${r}_${t} = acc${r}_${t};`);
      if (epi.bias) {
        if (epi.biasPerRow) st.push(`v${r}_${t} += vec4<f32>(Bias[ra${r}]);`);
        else st.push(epi.cVec ? `v${r}_${t} += Bias[cb${4 * t} >> 2u];` : `v${r}_${t} += vec4<f32>(${range(4).map((i) => `Bias[cb${4 * t + i}]`).join(', ')});`);
      }
      if (epi.relu) st.push(`v${r}_${t} = max(v${r}_${t}, vec4<f32>(0.0));`);
      if (epi.cVec) {
        const w = `C[(cRow${r} + ${col}) >> 2u] = v${r}_${t};`;
        st.push(checked ? `if (${col} < N) { ${w} }` : w);
      } else {
        for (const i of range(4)) {
          const w = `C[cRow${r} + ${col} + ${i}u] = v${r}_${t}.${XYZW[i]};`;
          st.push(checked ? `if (${col} + ${i}u < N) { ${w} }` : w);
        }
      }
    }
    stores.push(checked ? `  if (row0 + ${r}u < M) {\n${ind(st, 4)}\n  }` : `  {\n${ind(st, 4)}\n  }`);
  }

  return `${extra.fns ?? ''}
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
${paramLets}
${ind(extra.params ?? [], 2)}
  let z = gid.z;
  let batch = z / SPLITS;
  let kBegin = (z % SPLITS) * K_CHUNK;
  let kEnd = min(K, kBegin + K_CHUNK);
  let row0 = gid.y * ${tm}u;
  let col0 = gid.x * ${cols}u;
  ${checked ? 'if (row0 >= M || col0 >= N) { return; }' : ''}
  let aOff = batch * A_BATCH;
  let bOff = batch * B_BATCH;
${ind(rows.map((r) => `let ra${r} = ${checked ? `min(row0 + ${r}u, M - 1u)` : `row0 + ${r}u`};`), 2)}
${ind(range(cols).map((j) => `let cb${j} = ${checked ? `min(col0 + ${j}u, N - 1u)` : `col0 + ${j}u`};`), 2)}
${ind(a.setup, 2)}
${ind(b.setup, 2)}
${ind(rows.flatMap((r) => groups.map((t) => `var acc${r}_${t} = vec4<f32>(0.0);`)), 2)}
  var p = kBegin;
  for (; p + 4u <= kEnd; p += 4u) {
${ind(a.step4, 4)}
${ind(b.step4, 4)}
${ind(fmas, 4)}
  }
  for (; p < kEnd; p++) {
${ind(a.step1, 4)}
${ind(b.step1, 4)}
${ind(tailFmas, 4)}
  }
${stores.join('\n')}
}`;
}
