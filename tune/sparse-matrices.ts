/**
 * Seeded random sparse matrices with the statistics a sparse planner reads, so the tuner can run
 * a recorded sparse problem without the model's own weights: CSR with the given shape, number of
 * non-zeros and longest row; BSR with the given shape, block shape and number of stored blocks.
 * Equal arguments and seed give the same matrix.
 */
import { Generator } from '../engine/internal.js';
import { BsrMatrix, type BlockShape, CsrMatrix } from '../formats/index.js';
import { seededValues } from './inputs.js';

/** `k` distinct integers of [0, n), ascending (Floyd's sampling: O(k) draws). */
function distinct(g: Generator, n: number, k: number): number[] {
  const picked = new Set<number>();
  for (let j = n - k; j < n; j++) {
    const t = g.int(j + 1);
    picked.add(picked.has(t) ? j : t);
  }
  return [...picked].sort((a, b) => a - b);
}

/**
 * Row lengths summing to `nnz`, each at most `maxRow`, one of them exactly `maxRow`: an even share
 * for every other row, then random moves of one non-zero between rows (within the bounds) so the
 * lengths vary as a pruned layer's do.
 */
function rowLengths(g: Generator, rows: number, nnz: number, maxRow: number): Uint32Array {
  const len = new Uint32Array(rows);
  if (nnz === 0) return len;
  const longest = g.int(rows);
  len[longest] = maxRow;
  const others = rows - 1, rest = nnz - maxRow;
  if (others === 0) return len;
  const base = Math.floor(rest / others);
  let extra = rest - base * others;
  for (let r = 0; r < rows; r++) {
    if (r === longest) continue;
    len[r] = base + (extra > 0 ? 1 : 0);
    if (extra > 0) extra--;
  }
  for (let moves = 0; moves < rest; moves++) {
    const from = g.int(rows), to = g.int(rows);
    if (from === longest || to === longest || len[from] === 0 || len[to]! >= maxRow) continue;
    len[from]!--;
    len[to]!++;
  }
  return len;
}

/** Why a CSR problem's statistics cannot describe a matrix, or null when they can. */
export function csrStatsProblem(rows: number, cols: number, nnz: number, maxRowLength: number): string | null {
  if (maxRowLength > cols) return `maxRowLength ${maxRowLength} exceeds cols ${cols}`;
  if (nnz === 0) return maxRowLength === 0 ? null : `maxRowLength ${maxRowLength} with no non-zeros`;
  if (maxRowLength === 0 || maxRowLength > nnz) return `maxRowLength ${maxRowLength} does not fit ${nnz} non-zeros`;
  if (nnz > rows * maxRowLength) return `${nnz} non-zeros do not fit ${rows} rows of at most ${maxRowLength}`;
  if (rows === 1 && nnz !== maxRowLength) return `one row holds all ${nnz} non-zeros, but maxRowLength is ${maxRowLength}`;
  return null;
}

/** A rows × cols CSR matrix with `nnz` non-zeros, the longest row `maxRowLength` long, at random columns. */
export function randomCsr(rows: number, cols: number, nnz: number, maxRowLength: number, seed: number): CsrMatrix {
  const bad = csrStatsProblem(rows, cols, nnz, maxRowLength);
  if (bad) throw new Error(`random CSR ${rows}x${cols}: ${bad}`);
  const g = new Generator(seed);
  const len = rowLengths(g, rows, nnz, maxRowLength);
  const rowPtr = new Uint32Array(rows + 1);
  const colIdx = new Uint32Array(nnz);
  for (let r = 0; r < rows; r++) {
    colIdx.set(distinct(g, cols, len[r]!), rowPtr[r]!);
    rowPtr[r + 1] = rowPtr[r]! + len[r]!;
  }
  return CsrMatrix.fromArrays({ rows, cols, rowPtr, colIdx, values: seededValues(nnz, seed + 1) });
}

/** Blocks of the rows × cols grid in r × c blocks. */
export const blockSlots = (rows: number, cols: number, [r, c]: BlockShape) => Math.ceil(rows / r) * Math.ceil(cols / c);

/** A rows × cols BSR matrix of `nnzBlocks` r × c blocks at random places; entries past the matrix's edge are zero. */
export function randomBsr(rows: number, cols: number, block: BlockShape, nnzBlocks: number, seed: number): BsrMatrix {
  const [r, c] = block;
  const blockRows = Math.ceil(rows / r), blockCols = Math.ceil(cols / c);
  if (nnzBlocks > blockRows * blockCols) throw new Error(`random BSR ${rows}x${cols}: ${nnzBlocks} blocks do not fit ${blockRows}x${blockCols} block slots`);
  const g = new Generator(seed);
  const slots = distinct(g, blockRows * blockCols, nnzBlocks);
  const blockRowPtr = new Uint32Array(blockRows + 1);
  const blockColIdx = new Uint32Array(nnzBlocks);
  slots.forEach((s, k) => {
    blockRowPtr[Math.floor(s / blockCols) + 1]!++;
    blockColIdx[k] = s % blockCols;
  });
  for (let br = 0; br < blockRows; br++) blockRowPtr[br + 1]! += blockRowPtr[br]!;
  const values = seededValues(nnzBlocks * r * c, seed + 1);
  slots.forEach((s, k) => {
    const row0 = Math.floor(s / blockCols) * r, col0 = (s % blockCols) * c;
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) if (row0 + i >= rows || col0 + j >= cols) values[(k * r + i) * c + j] = 0;
  });
  return BsrMatrix.fromArrays({ rows, cols, block, blockRowPtr, blockColIdx, values });
}
