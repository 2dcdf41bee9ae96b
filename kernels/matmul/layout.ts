/**
 * What every matmul program shares: how operands are laid out, which loads can be
 * vectorised, the fused epilogue, and the named parameters handed to the kernels.
 *
 * C[z, m, n] = Σ_p A[z, m, p] · B[z, p, n] where A is stored [m, k] or, transposed,
 * [k, m], and B is stored [k, n] or, transposed, [n, k] (per batch z). Shapes travel in
 * the named parameters; the WGSL only sees the layout and the tile configuration (the config).
 */
import type { MatmulGeometry } from '../../gpu/types.js';
import type { ParamDecl } from '../../gpu/program.js';

/** Optional fused epilogue: bias per output column n, then ReLU. */
export interface MatmulEpilogue {
  bias?: boolean;
  relu?: boolean;
}

/**
 * How an operand is loaded:
 * - `vecK`: contiguous along k, rows start 16-byte aligned (k % 4 == 0): one vec4 holds 4 k-steps.
 * - `vecMN`: contiguous along the output dimension (m for Aᵀ, n for B), that dimension % 4 == 0.
 * - `scalar`: one f32 per load, any shape.
 */
export type LoadMode = 'vecK' | 'vecMN' | 'scalar';

/** The matmul kernels' named parameters (see `matmulParams`). */
export const MATMUL_PARAMS: ParamDecl = [['m', 'u32'], ['k', 'u32'], ['n', 'u32'], ['aBatch', 'u32'], ['bBatch', 'u32'], ['splits', 'u32'], ['kChunk', 'u32']];

/** Values of MATMUL_PARAMS for a product (k-slices of kChunk for split-K). */
export function matmulParams(g: MatmulGeometry, splits = 1, kChunk = g.k): Record<string, number> {
  return { m: g.m, k: g.k, n: g.n, aBatch: g.aBatchStride, bBatch: g.bBatchStride, splits, kChunk };
}

/** WGSL that reads MATMUL_PARAMS into the names the GEMM bodies use. */
export const paramLets = `
  let M = P.m; let K = P.k; let N = P.n;
  let A_BATCH = P.aBatch; let B_BATCH = P.bBatch;
  let SPLITS = P.splits; let K_CHUNK = P.kChunk;`;

/**
 * A GEMM config without its split-K flag, for program keys: a program writing partial sums
 * stores like one without an epilogue (a split config never has one), so they share a pipeline.
 */
export function splitFree<C extends { split: boolean }>(c: C): Omit<C, 'split'> {
  const { split: _, ...rest } = c;
  return rest;
}

/** The vectorised load modes this geometry allows for A and B. */
export function allowedModes(g: Pick<MatmulGeometry, 'm' | 'k' | 'n' | 'transA' | 'transB' | 'aBatchStride' | 'bBatchStride'>): { a: LoadMode[]; b: LoadMode[] } {
  const a: LoadMode[] = ['scalar'];
  const b: LoadMode[] = ['scalar'];
  const aAligned = g.aBatchStride % 4 === 0;
  const bAligned = g.bBatchStride % 4 === 0;
  if (aAligned && (g.transA ? g.m % 4 === 0 : g.k % 4 === 0)) a.unshift(g.transA ? 'vecMN' : 'vecK');
  if (bAligned && (g.transB ? g.k % 4 === 0 : g.n % 4 === 0)) b.unshift(g.transB ? 'vecK' : 'vecMN');
  return { a, b };
}

export const XYZW = ['x', 'y', 'z', 'w'] as const;
