/** Sparse inference layers (CSR/BSR weights, no autograd) and model conversion. */
export { SparseLinear } from './sparse-linear.js';
export { SparseConv2d } from './sparse-conv.js';
export type { SparseConv2dGeometry } from './sparse-conv.js';
export { toSparse, SparseSequential } from './to-sparse.js';
export type { ToSparseOptions, SparseChoice, SparseSummary } from './to-sparse.js';
export type { SparseFormat } from './weights.js';
