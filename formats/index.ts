/** Sparse matrix formats (host side): CSR and BSR, with validation and index packing. */
export { CsrMatrix } from './csr.js';
export type { CsrArrays, FromDenseOptions } from './csr.js';
export { BsrMatrix, BLOCK_SHAPES, checkBlockShape, blockName } from './bsr.js';
export type { BlockShape, BsrArrays, BsrFromDenseOptions, SparseMatrix } from './bsr.js';
export { pack16, unpack16, indexBitsFor, MAX_PACKED_INDEX } from './indices.js';
export { forEachEntry } from './entries.js';
