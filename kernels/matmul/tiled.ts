/**
 * The register-blocked matmul on the GEMM skeleton of `gemm-core.ts`: each invocation
 * computes a TM × (4·TN) block of C in `vec4` accumulators, loading A and B straight
 * from storage.
 *
 * Variants (all in the program key, never a shape):
 * - tile TM × 4·TN per thread and the workgroup size;
 * - operand layouts A·B, Aᵀ·B, A·Bᵀ, Aᵀ·Bᵀ and each operand's load mode (`vec4` when
 *   its contiguous dimension is a multiple of 4, scalar otherwise);
 * - `vec4` or scalar stores (n % 4);
 * - `checked` (clamped loads and guarded stores) or `exact` when the tiles divide m and n;
 * - a fused bias + ReLU epilogue, or `split` partial sums for split-K.
 *
 * Batches (and split-K slices) run along the z dimension of the grid.
 */
import { programFamily } from '../../gpu/program.js';
import { type LoadMode, MATMUL_PARAMS, type MatmulEpilogue, splitFree, XYZW } from './layout.js';
import { gemmWgsl, type OperandCode, range } from './gemm-core.js';

export interface TiledConfig {
  kind: 'tiled';
  /** Rows of C per invocation. */
  tm: number;
  /** vec4 column groups of C per invocation (4·tn columns). */
  tn: number;
  wgX: number;
  wgY: number;
  transA: boolean;
  transB: boolean;
  aMode: LoadMode;
  bMode: LoadMode;
  /** n % 4 == 0: C (and the bias) are bound as vec4 arrays. */
  cVec: boolean;
  /** Tiles may overhang m or n: loads are clamped and stores guarded. */
  checked: boolean;
  /** Writes partial sums of one k-slice per z (split-K); no epilogue. */
  split: boolean;
  epilogue: MatmulEpilogue;
}

/** A short description of a config for error messages. */
function describe(c: TiledConfig): string {
  const epi = c.split ? 'split' : `${c.epilogue.bias ? 'bias' : 'nobias'}${c.epilogue.relu ? '+relu' : ''}`;
  return `tiled ${c.tm}x${4 * c.tn}:wg${c.wgX}x${c.wgY}:${c.transA ? 'T' : 'N'}${c.transB ? 'T' : 'N'}:a=${c.aMode}:b=${c.bMode}:c=${c.cVec ? 'vec4' : 'f32'}:${c.checked ? 'checked' : 'exact'}:${epi}`;
}

/** Output elements covered by one workgroup: [rows, columns]. */
export function tiledTile(c: TiledConfig): [number, number] {
  return [c.tm * c.wgY, 4 * c.tn * c.wgX];
}

export function validateTiled(c: TiledConfig): void {
  if (c.aMode === 'vecMN' && (!c.transA || c.tm % 4 !== 0)) throw new Error(`matmul: A load mode vecMN needs Aᵀ and tm % 4 == 0 (${describe(c)})`);
  if (c.aMode === 'vecK' && c.transA) throw new Error(`matmul: A load mode vecK needs A stored [m, k] (${describe(c)})`);
  if (c.bMode === 'vecMN' && c.transB) throw new Error(`matmul: B load mode vecMN needs B stored [k, n] (${describe(c)})`);
  if (c.bMode === 'vecK' && !c.transB) throw new Error(`matmul: B load mode vecK needs Bᵀ (${describe(c)})`);
  if (c.bMode === 'vecMN' && !c.cVec) throw new Error(`matmul: B load mode vecMN implies n % 4 == 0 and vec4 stores (${describe(c)})`);
  if (c.split && (c.epilogue.bias || c.epilogue.relu)) throw new Error('matmul: split-K partial sums take no epilogue');
}

const vecType = 'array<vec4<f32>>';

export const tiledProgram = programFamily('matmul:tiled', (c: TiledConfig) => {
  validateTiled(c);
  const inputs = [
    { name: 'A', type: c.aMode === 'scalar' ? undefined : vecType },
    { name: 'B', type: c.bMode === 'scalar' ? undefined : vecType },
  ];
  if (c.epilogue.bias) inputs.push({ name: 'Bias', type: c.cVec ? vecType : undefined });
  return {
    inputs,
    outputs: [{ name: 'C', type: c.cVec ? vecType : undefined }],
    workgroupSize: [c.wgX, c.wgY],
    params: MATMUL_PARAMS,
    body: () => tiledWgsl(c),
  };
}, splitFree);

function tiledWgsl(c: TiledConfig): string {
  return gemmWgsl(c, operandA(c), operandB(c), { cVec: c.cVec, bias: !!c.epilogue.bias, relu: !!c.epilogue.relu });
}

// Element strides: A(row, p) = aOff + row·aRS + p·aKS; B(p, col) = bOff + p·bKS + col·bCS.
const strideA = (c: Pick<TiledConfig, 'transA'>) => (c.transA ? 'let aRS = 1u; let aKS = M;' : 'let aRS = K; let aKS = 1u;');
const strideB = (c: TiledConfig) => (c.transB ? 'let bKS = 1u; let bCS = K;' : 'let bKS = N; let bCS = 1u;');
/** Scalar read of element i from a binding that may be vec4. */
const scalarRead = (name: string, vec: boolean) => (i: string) => (vec ? `${name}[(${i}) >> 2u][(${i}) & 3u]` : `${name}[${i}]`);

export function operandA(c: Pick<TiledConfig, 'tm' | 'transA' | 'aMode' | 'checked'>): OperandCode {
  const rows = range(c.tm);
  const ld = scalarRead('A', c.aMode !== 'scalar');
  const step1 = rows.map((r) => `let as${r} = ${ld(`aOff + ra${r} * aRS + p * aKS`)};`);
  const expr1 = (r: number) => `as${r}`;
  if (c.aMode === 'vecK') {
    return {
      setup: [strideA(c), ...rows.map((r) => `let aBase${r} = (aOff + ra${r} * K) >> 2u;`)],
      step4: rows.map((r) => `let a${r} = A[aBase${r} + (p >> 2u)];`),
      expr4: (r, kk) => `a${r}.${XYZW[kk]}`,
      step1, expr1,
    };
  }
  if (c.aMode === 'vecMN') {
    const quads = range(c.tm / 4);
    const clamp = (e: string) => (c.checked ? `min(${e}, M - 4u)` : e);
    return {
      setup: [strideA(c), 'let aPitch = M >> 2u;', ...quads.map((q) => `let aBase${q} = (aOff + ${clamp(`row0 + ${4 * q}u`)}) >> 2u;`)],
      step4: range(4).flatMap((kk) => quads.map((q) => `let a${kk}_${q} = A[aBase${q} + (p + ${kk}u) * aPitch];`)),
      expr4: (r, kk) => `a${kk}_${r >> 2}.${XYZW[r & 3]}`,
      step1, expr1,
    };
  }
  return {
    setup: [strideA(c), ...rows.map((r) => `let aBase${r} = aOff + ra${r} * aRS;`)],
    step4: range(4).flatMap((kk) => rows.map((r) => `let a${r}_${kk} = A[aBase${r} + (p + ${kk}u) * aKS];`)),
    expr4: (r, kk) => `a${r}_${kk}`,
    step1, expr1,
  };
}

function operandB(c: TiledConfig): OperandCode {
  const groups = range(c.tn), cols = range(4 * c.tn);
  const ld = scalarRead('B', c.bMode !== 'scalar');
  const step1 = cols.map((j) => `let bs${j} = ${ld(`bOff + p * bKS + cb${j} * bCS`)};`);
  const expr1 = (t: number) => `vec4<f32>(${range(4).map((i) => `bs${4 * t + i}`).join(', ')})`;
  if (c.bMode === 'vecMN') {
    const clamp = (e: string) => (c.checked ? `min(${e}, N - 4u)` : e);
    return {
      setup: [strideB(c), 'let bPitch = N >> 2u;', ...groups.map((t) => `let bBase${t} = (bOff + ${clamp(`col0 + ${4 * t}u`)}) >> 2u;`)],
      step4: range(4).flatMap((kk) => groups.map((t) => `let b${kk}_${t} = B[bBase${t} + (p + ${kk}u) * bPitch];`)),
      expr4: (t, kk) => `b${kk}_${t}`,
      step1: groups.map((t) => `let bv${t} = B[bBase${t} + p * bPitch];`),
      expr1: (t) => `bv${t}`,
    };
  }
  if (c.bMode === 'vecK') {
    return {
      setup: [strideB(c), ...cols.map((j) => `let bBase${j} = (bOff + cb${j} * K) >> 2u;`)],
      step4: cols.map((j) => `let b${j} = B[bBase${j} + (p >> 2u)];`),
      expr4: (t, kk) => `vec4<f32>(${range(4).map((i) => `b${4 * t + i}.${XYZW[kk]}`).join(', ')})`,
      step1, expr1,
    };
  }
  return {
    setup: [strideB(c), ...cols.map((j) => `let bBase${j} = bOff + cb${j} * bCS;`)],
    step4: range(4).flatMap((kk) => cols.map((j) => `let b${kk}_${j} = B[bBase${j} + (p + ${kk}u) * bKS];`)),
    expr4: (t, kk) => `vec4<f32>(${range(4).map((i) => `b${kk}_${4 * t + i}`).join(', ')})`,
    step1, expr1,
  };
}
