/** Format-independent traversal of the stored entries of a CSR or BSR matrix. */
import type { SparseMatrix } from './bsr.js';

/**
 * Calls `fn(row, col, value)` for every stored entry inside the matrix (BSR padding
 * is skipped; explicit zeros inside stored blocks are visited), row by row.
 */
export function forEachEntry(m: SparseMatrix, fn: (row: number, col: number, value: number) => void): void {
  if (m.format === 'csr') {
    for (let r = 0; r < m.rows; r++) for (let k = m.rowPtr[r]!; k < m.rowPtr[r + 1]!; k++) fn(r, m.colIdx[k]!, m.values[k]!);
    return;
  }
  const [br, bc] = m.block;
  for (let R = 0; R < m.blockRows; R++) {
    for (let i = 0; i < br; i++) {
      const row = R * br + i;
      if (row >= m.rows) break;
      for (let k = m.blockRowPtr[R]!; k < m.blockRowPtr[R + 1]!; k++) {
        const c0 = m.blockColIdx[k]! * bc;
        for (let j = 0; j < bc && c0 + j < m.cols; j++) fn(row, c0 + j, m.values[(k * br + i) * bc + j]!);
      }
    }
  }
}
