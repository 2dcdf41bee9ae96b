/**
 * Matrix–vector products (m == 1 or n == 1, e.g. batch-1 inference), where the
 * register-blocked kernel would leave most of its tile empty.
 *
 * The matrix operand is A (n == 1) or B (m == 1); the vector is the other one and is
 * contiguous along k either way. Two forms, by the matrix's layout:
 * - `dot`: the matrix is contiguous along k (A [m, k], or Bᵀ stored [n, k]): each
 *   invocation takes R outputs and forms R dot products over k (`vec4` when k % 4 == 0);
 * - `axpy`: the matrix is contiguous along the outputs (Aᵀ stored [k, m], or B [k, n]):
 *   each invocation accumulates 4 adjacent outputs as Σ_p x[p]·row_p (`vec4` when the
 *   output length % 4 == 0).
 * Batches and split-K slices run along z, as in the tiled kernel.
 */
import { programFamily } from '../../gpu/program.js';
import { MATMUL_PARAMS, type MatmulEpilogue, paramLets, splitFree } from './layout.js';
import { ind, range } from './gemm-core.js';

export interface GemvConfig {
  kind: 'gemv';
  /** Which output dimension is 1: 'n1' (A·x) or 'm1' (xᵀ·B). */
  side: 'n1' | 'm1';
  form: 'dot' | 'axpy';
  /** vec4 loads: k % 4 == 0 for dot, output length % 4 == 0 for axpy. */
  vec: boolean;
  /** Outputs per invocation for `dot` (axpy always takes 4). */
  r: number;
  wg: number;
  checked: boolean;
  split: boolean;
  epilogue: MatmulEpilogue;
}

/** Outputs covered by one workgroup. */
export function gemvTile(c: GemvConfig): number {
  return c.wg * (c.form === 'dot' ? c.r : 4);
}

export const gemvProgram = programFamily('matmul:gemv', (c: GemvConfig) => {
  if (c.split && (c.epilogue.bias || c.epilogue.relu)) throw new Error('matmul: split-K partial sums take no epilogue');
  const vt = c.vec ? 'array<vec4<f32>>' : undefined;
  // Bindings keep the matmul order A, B; which one is the matrix depends on the side.
  const matIsA = c.side === 'n1';
  const matType = vt;
  const vecType = c.form === 'dot' ? vt : undefined;
  const inputs = [
    { name: 'A', type: matIsA ? matType : vecType },
    { name: 'B', type: matIsA ? vecType : matType },
  ];
  const cVec = c.form === 'axpy' && c.vec;
  if (c.epilogue.bias) inputs.push({ name: 'Bias', type: undefined });
  return {
    inputs,
    outputs: [{ name: 'C', type: cVec ? 'array<vec4<f32>>' : undefined }],
    workgroupSize: [c.wg],
    params: MATMUL_PARAMS,
    body: () => gemvWgsl(c, matIsA ? 'A' : 'B', matIsA ? 'B' : 'A', cVec),
  };
}, (c) => ({ ...splitFree(c), r: c.form === 'dot' ? c.r : 4 }));

function gemvWgsl(c: GemvConfig, MAT: string, VEC: string, cVec: boolean): string {
  const outs = c.form === 'dot' ? c.r : 4;
  const L = c.side === 'n1' ? 'M' : 'N';
  const [matBatch, vecBatch] = c.side === 'n1' ? ['A_BATCH', 'B_BATCH'] : ['B_BATCH', 'A_BATCH'];
  const clamp = (e: string) => (c.checked ? `min(${e}, ${L} - 1u)` : e);
  // Bias: per column n — for 'm1' per output, for 'n1' the single column's bias.
  const biasOf = (j: string) => (c.side === 'm1' ? `Bias[${j}]` : 'Bias[0]');
  const body: string[] = [];
  if (c.form === 'dot') {
    const rs = range(c.r);
    body.push(...rs.map((i) => `let jj${i} = ${clamp(`j0 + ${i}u`)};`));
    if (c.vec) {
      body.push(...rs.map((i) => `let m${i} = (matOff + jj${i} * K) >> 2u;`), 'let v0 = vecOff >> 2u;');
      body.push(...rs.map((i) => `var acc${i} = vec4<f32>(0.0);`));
      body.push('for (var q = kBegin >> 2u; q < (kEnd >> 2u); q++) {', '  let x = VEC[v0 + q];');
      body.push(...rs.map((i) => `  acc${i} += x * MAT[m${i} + q];`), '}');
      body.push(...rs.map((i) => `let s${i} = acc${i}.x + acc${i}.y + acc${i}.z + acc${i}.w;`));
    } else {
      body.push(...rs.map((i) => `var s${i} = 0.0;`));
      body.push('for (var p = kBegin; p < kEnd; p++) {', '  let x = VEC[vecOff + p];');
      body.push(...rs.map((i) => `  s${i} += x * MAT[matOff + jj${i} * K + p];`), '}');
    }
    for (const i of rs) {
      const j = `j0 + ${i}u`;
      const st = [`var o = s${i};`];
      if (c.epilogue.bias) st.push(`o += ${biasOf(`jj${i}`)};`);
      if (c.epilogue.relu) st.push('o = max(o, 0.0);');
      st.push(`C[z * ${L} + ${j}] = o;`);
      body.push(c.checked ? `if (${j} < ${L}) { ${st.join(' ')} }` : `{ ${st.join(' ')} }`);
    }
  } else {
    body.push('var acc = vec4<f32>(0.0);');
    if (c.vec) {
      body.push(`let m0 = (matOff + ${c.checked ? `min(j0, ${L} - 4u)` : 'j0'}) >> 2u;`, `let pitch = ${L} >> 2u;`);
      body.push('for (var p = kBegin; p < kEnd; p++) {', '  acc += VEC[vecOff + p] * MAT[m0 + p * pitch];', '}');
    } else {
      body.push(...range(4).map((i) => `let jj${i} = ${clamp(`j0 + ${i}u`)};`));
      body.push('for (var p = kBegin; p < kEnd; p++) {', `  let row = matOff + p * ${L};`);
      body.push(`  acc += VEC[vecOff + p] * vec4<f32>(${range(4).map((i) => `MAT[row + jj${i}]`).join(', ')});`, '}');
    }
    if (c.epilogue.bias) body.push(c.side === 'm1' ? `acc += vec4<f32>(${range(4).map((i) => `Bias[${clamp(`j0 + ${i}u`)}]`).join(', ')});` : 'acc += vec4<f32>(Bias[0]);');
    if (c.epilogue.relu) body.push('acc = max(acc, vec4<f32>(0.0));');
    if (cVec) {
      const st = `C[(z * ${L} + j0) >> 2u] = acc;`;
      body.push(c.checked ? `if (j0 < ${L}) { ${st} }` : st);
    } else {
      for (const i of range(4)) {
        const st = `C[z * ${L} + j0 + ${i}u] = acc[${i}];`;
        body.push(c.checked ? `if (j0 + ${i}u < ${L}) { ${st} }` : st);
      }
    }
  }
  return `
@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
${paramLets}
  let z = gid.z;
  let batch = z / SPLITS;
  let kBegin = (z % SPLITS) * K_CHUNK;
  let kEnd = min(K, kBegin + K_CHUNK);
  let j0 = gid.x * ${outs}u;
  ${c.checked ? `if (j0 >= ${L}) { return; }` : ''}
  let matOff = batch * ${matBatch};
  let vecOff = batch * ${vecBatch};
${ind(body, 2).replaceAll('MAT[', `${MAT}[`).replaceAll('VEC[', `${VEC}[`)}
}`;
}
