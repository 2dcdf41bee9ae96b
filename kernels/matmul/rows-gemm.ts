/**
 * GEMM over row textures, for C = A · Bᵀ with both operands stored row-major along k —
 * the layout of a linear layer's forward pass (x [m, k], W [n, k]). Each operand reaches an
 * rgba32float texture by a plain buffer-to-texture copy of its rows (texel (p4, row) holds
 * k-steps 4·p4 … 4·p4+3 of that row; rt.rowsTexture), so no conversion shader runs: the
 * operand conversions of the texture GEMM (kernels/matmul/texture-gemm.ts) transpose 4 × 4
 * blocks through per-lane storage loads, which for a 256 × 2048 input cost 2.1 ms against
 * 3.5 ms for the product itself. Textures hold k/4 texels a row, so k may be 4× the texture
 * size (the dense conv4 classifier's k = 8192 fits; the texture GEMM stops at 4096).
 *
 * An invocation accumulates a 4R × 4T block of C: per texel step it loads 4R texels of A and
 * 4T of B and does 64·R·T multiply-adds (the texture GEMM's ratio), as vec4s over 4 output
 * columns whose B lanes are gathered from 4 texels (a register shuffle). Small outputs split
 * k over z (partial sums [S, m, n], summed with the epilogue by matmul/splitk.ts).
 */
import type { MatmulGeometry } from '../../gpu/types.js';
import type { GpuRuntime, GpuStorage } from '../../gpu/runtime.js';
import { programFamily } from '../../gpu/program.js';
import type { MatmulEpilogue } from './layout.js';
import { udivWgsl } from '../strided-index.js';

export interface RowsGemmConfig {
  /** Row quads of C (4R rows) and column quads (4T columns) per invocation. */
  r: number;
  t: number;
  epilogue: MatmulEpilogue;
  /** Writes partial sums [S, m, n] for the split-K reduction (no epilogue). */
  split: boolean;
  /** n % 4 == 0: C (and the bias) as vec4s. */
  vec4: boolean;
}

const WG_SIZE = 64;
const LANES = ['x', 'y', 'z', 'w'] as const;

/** Whether C = A·Bᵀ with A [m, k], B [n, k] (both row-major) can run through row textures here. */
export function rowsGemmFits(g: MatmulGeometry, maxTextureDimension2D: number): boolean {
  // Rows are copied whole: k/4 texels of 16 bytes must make a multiple of 256 bytes (copyBufferToTexture).
  return g.batch === 1 && !g.transA && g.transB && g.k >= 64 && g.k % 64 === 0 && g.k / 4 <= maxTextureDimension2D &&
    g.m >= 1 && g.m <= maxTextureDimension2D && g.n >= 4 && g.n <= maxTextureDimension2D;
}

export const rowsGemmProgram = programFamily('matmul:rows-texture', (c: RowsGemmConfig) => {
  const rows = Array.from({ length: 4 * c.r }, (_, i) => i);
  const quads = Array.from({ length: c.t }, (_, i) => i);
  const cols = Array.from({ length: 4 * c.t }, (_, i) => i);
  const { bias, relu } = c.split ? {} : c.epilogue;
  const acc = (a: number, q: number) => `c${a}_${q}`;
  const step = `
${rows.map((a) => `    let x${a} = textureLoad(AT, vec2<u32>(p4, ar${a}), 0);`).join('\n')}
${cols.map((b) => `    let w${b} = textureLoad(BT, vec2<u32>(p4, bc${b}), 0);`).join('\n')}
${quads.flatMap((q) => LANES.map((l) => `    let v${q}${l} = vec4<f32>(${[0, 1, 2, 3].map((j) => `w${4 * q + j}.${l}`).join(', ')});`)).join('\n')}
${rows.flatMap((a) => quads.map((q) => `    ${acc(a, q)} += ${LANES.map((l) => `x${a}.${l} * v${q}${l}`).join(' + ')};`)).join('\n')}`;
  // Output row a of the block, column quad q: one vec4 store, or 4 checked scalar stores when n % 4 != 0.
  const store = (a: number, q: number) => {
    const value = `${acc(a, q)}${bias && c.vec4 ? ` + Bias[cq${q}]` : ''}`;
    if (c.vec4) {
      return `    if (cq${q} < N4) { var v = ${value}; ${relu ? 'v = max(v, vec4<f32>(0.0)); ' : ''}C[row * N4 + cq${q}] = v; }`;
    }
    return [0, 1, 2, 3].map((j) => `    { let n = cq${q} * 4u + ${j}u; if (n < N) { var v = ${acc(a, q)}.${LANES[j]}${bias ? ' + Bias[n]' : ''}; ${relu ? 'v = max(v, 0.0); ' : ''}C[row * N + n] = v; } }`).join('\n');
  };
  const type = c.vec4 ? 'array<vec4<f32>>' : 'array<f32>';
  return {
    inputs: [{ name: 'AT', type: 'texture_2d<f32>' }, { name: 'BT', type: 'texture_2d<f32>' }, ...(bias ? [{ name: 'Bias', type }] : [])],
    outputs: [{ name: 'C', type }],
    // One dimension of invocations (llvmpipe's SIMD lanes run along x: a workgroup 1 wide would use one lane of 8).
    workgroupSize: [WG_SIZE],
    // k4: texels a row; kChunk4: texels per k-slice.
    params: [['m', 'u32'], ['k4', 'u32'], ['n', 'u32'], ['kChunk4', 'u32'], ['colBlocks', 'u32'], ['rowBlocks', 'u32'], ['invocations', 'u32']],
    body: () => `${udivWgsl}
@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let M = P.m; let K4 = P.k4; let N = P.n; let KC = P.kChunk4;
  let N4 = (N + 3u) / 4u;
  let g = linearIndex(gid, nwg);
  if (g >= P.invocations) { return; }
  // Invocation g → (slice, row block, column block), column blocks fastest.
  let rest = udiv(g, P.colBlocks); let cb = g - rest * P.colBlocks;
  let slice = udiv(rest, P.rowBlocks); let rb = rest - slice * P.rowBlocks;
  let i0 = rb * ${4 * c.r}u; let q0 = cb * ${c.t}u;
  // Rows and columns past the edge read the last one (their results are not stored).
${rows.map((a) => `  let ar${a} = min(i0 + ${a}u, M - 1u);`).join('\n')}
${cols.map((b) => `  let bc${b} = min(q0 * 4u + ${b}u, N - 1u);`).join('\n')}
${quads.map((q) => `  let cq${q} = q0 + ${q}u;`).join('\n')}
${rows.flatMap((a) => quads.map((q) => `  var ${acc(a, q)} = vec4<f32>(0.0);`)).join('\n')}
  let k0 = slice * KC;
  let k1 = min(k0 + KC, K4);
  for (var p4 = k0; p4 < k1; p4++) {${step}
  }
  // Split-K: slice z's partial sums start at z·M rows.
${rows.map((a) => `  if (i0 + ${a}u < M) {
    let row = slice * M + i0 + ${a}u;
${quads.map((q) => store(a, q)).join('\n')}
  }`).join('\n')}
}`,
  };
}, (c) => ({ ...c, split: false, epilogue: c.split ? {} : c.epilogue }));

/** The block, workgroup width and k-slices for an m × n output over k/4 texel steps. */
export function rowsGemmPlan(m: number, k: number, n: number): { r: number; t: number; splits: number; kChunk4: number } {
  const r = m >= 64 ? 4 : m >= 8 ? 2 : 1;
  const t = n >= 64 ? 4 : n >= 8 ? 2 : 1;
  return { r, t, ...rowsGemmSlices(m, k, n, r, t) };
}

/** The k-slices for an m × n output in blocks of 4R × 4T over k/4 texel steps. */
export function rowsGemmSlices(m: number, k: number, n: number, r: number, t: number): { splits: number; kChunk4: number } {
  const k4 = k / 4;
  const blocks = Math.ceil(m / (4 * r)) * Math.ceil(n / (4 * t));
  // Up to 8 slices of at least 64 texel steps, towards 512 invocations: on 256 × 2048 × 64 (64 blocks)
  // 8 slices ran 2× as fast as one.
  const splits = Math.max(1, Math.min(8, Math.floor(512 / blocks), Math.floor(k4 / 64)));
  const kChunk4 = Math.ceil(k4 / splits);
  return { splits: Math.ceil(k4 / kChunk4), kChunk4 };
}

/**
 * C = A · Bᵀ (+ bias, ReLU) for A [m, k], B [n, k] through row textures. With `splits` > 1,
 * `out` receives partial sums [splits, m, n] (the caller reduces them, kernels/matmul.ts).
 */
export function rowsGemm(rt: GpuRuntime, a: GpuStorage, b: GpuStorage, g: MatmulGeometry, bias: GpuStorage | null, c: RowsGemmConfig, kChunk4: number, splits: number, out: GpuStorage): void {
  const k4 = g.k / 4;
  const at = rt.rowsTexture(a, k4, g.m);
  const bt = rt.rowsTexture(b, k4, g.n);
  if (!at || !bt) throw new Error(`internal: matmul operands ${g.m}×${g.k} and ${g.n}×${g.k} do not fit row textures`);
  const colBlocks = Math.ceil(Math.ceil(g.n / 4) / c.t);
  const rowBlocks = Math.ceil(g.m / (4 * c.r));
  const invocations = colBlocks * rowBlocks * splits;
  rt.run(rowsGemmProgram(c), [at, bt, ...(bias && !c.split ? [bias] : [])], [out], { m: g.m, k4, n: g.n, kChunk4, colBlocks, rowBlocks, invocations },
    Math.ceil(invocations / WG_SIZE));
  rt.releaseTexture(at);
  rt.releaseTexture(bt);
}
