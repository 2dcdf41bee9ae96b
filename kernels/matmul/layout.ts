/**
 * What every matmul program shares: how operands are laid out, which loads can be
 * vectorised, the fused epilogue, and the parameter words handed to the kernels.
 *
 * C[z, m, n] = Σ_p A[z, m, p] · B[z, p, n] where A is stored [m, k] or, transposed,
 * [k, m], and B is stored [k, n] or, transposed, [n, k] (per batch z). Shapes travel in
 * `params`; the WGSL only sees the layout and the tile configuration (the program key).
 */
import type { MatmulGeometry } from '../../gpu/types.js';

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

/** Parameter words: m, k, n, aBatchStride, bBatchStride, splits, kChunk. */
export function matmulParams(g: MatmulGeometry, splits = 1, kChunk = g.k): number[] {
  return [g.m, g.k, g.n, g.aBatchStride, g.bBatchStride, splits, kChunk];
}

/** WGSL that reads the parameter words into named values (shared by all matmul kernels). */
export const paramLets = `
  let M = pu(0u); let K = pu(1u); let N = pu(2u);
  let A_BATCH = pu(3u); let B_BATCH = pu(4u);
  let SPLITS = pu(5u); let K_CHUNK = pu(6u);`;

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
