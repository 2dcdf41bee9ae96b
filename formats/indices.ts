/**
 * Index storage for the sparse formats: column indices are packed two per u32
 * (16 bits each, low half first) when every index fits in 16 bits, which WGSL
 * unpacks with a shift and a mask. Row pointers stay 32-bit (nnz may exceed 65535).
 */

/** Largest index count (columns or block columns) whose indices fit in 16 bits. */
export const MAX_PACKED_INDEX = 65536;

/** Bits per stored column index for a dimension of `extent` columns. */
export function indexBitsFor(extent: number): 16 | 32 {
  return extent <= MAX_PACKED_INDEX ? 16 : 32;
}

/** Packs indices < 65536 two per word: word k holds idx[2k] in bits 0–15 and idx[2k+1] in bits 16–31. */
export function pack16(idx: Uint32Array): Uint32Array {
  const out = new Uint32Array(Math.ceil(idx.length / 2));
  for (let i = 0; i < idx.length; i++) {
    const v = idx[i]!;
    if (v > 0xffff) throw new Error(`pack16: index ${v} at position ${i} does not fit in 16 bits`);
    out[i >> 1]! |= v << ((i & 1) * 16);
  }
  return out;
}

/** Inverse of `pack16` for `count` indices. */
export function unpack16(words: Uint32Array, count: number): Uint32Array {
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = (words[i >> 1]! >>> ((i & 1) * 16)) & 0xffff;
  return out;
}

/** Bytes taken by `count` indices at `bits` per index (16-bit indices are stored in whole u32 words). */
export function indexBytes(count: number, bits: 16 | 32): number {
  return bits === 16 ? Math.ceil(count / 2) * 4 : count * 4;
}

/**
 * Checks compressed row pointers and column indices from user arrays; throws a
 * message naming the first problem. `what` is 'CSR' or 'BSR'; `rows`/`cols` count
 * rows and columns of the index space (block rows and block columns for BSR).
 */
export function validateCompressed(what: string, rows: number, cols: number, rowPtr: ArrayLike<number>, colIdx: ArrayLike<number>, requireSorted: boolean): void {
  const rowName = what === 'BSR' ? 'blockRowPtr' : 'rowPtr';
  const colName = what === 'BSR' ? 'blockColIdx' : 'colIdx';
  if (rowPtr.length !== rows + 1) throw new Error(`${what}: ${rowName} has ${rowPtr.length} entries, expected rows + 1 = ${rows + 1}`);
  if (rowPtr[0] !== 0) throw new Error(`${what}: ${rowName}[0] must be 0, got ${rowPtr[0]}`);
  for (let r = 0; r <= rows; r++) {
    const p = rowPtr[r]!;
    if (!Number.isInteger(p) || p < 0) throw new Error(`${what}: ${rowName}[${r}] = ${p} is not a non-negative integer`);
    if (r > 0 && p < rowPtr[r - 1]!) throw new Error(`${what}: ${rowName} is not monotone: ${rowName}[${r}] = ${p} < ${rowName}[${r - 1}] = ${rowPtr[r - 1]}`);
  }
  const nnz = rowPtr[rows]!;
  if (nnz !== colIdx.length) throw new Error(`${what}: ${rowName}[${rows}] = ${nnz} but ${colName} has ${colIdx.length} entries`);
  for (let r = 0; r < rows; r++) {
    for (let k = rowPtr[r]!; k < rowPtr[r + 1]!; k++) {
      const c = colIdx[k]!;
      if (!Number.isInteger(c) || c < 0 || c >= cols) throw new Error(`${what}: ${colName}[${k}] = ${c} (row ${r}) is out of range [0, ${cols})`);
      if (requireSorted && k > rowPtr[r]! && c <= colIdx[k - 1]!) {
        throw new Error(`${what}: row ${r} has unsorted or duplicate column indices (${colName}[${k - 1}] = ${colIdx[k - 1]}, ${colName}[${k}] = ${c})`);
      }
    }
  }
}

export function checkDims(what: string, rows: number, cols: number): void {
  for (const [n, v] of [['rows', rows], ['cols', cols]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${what}: ${n} must be a positive integer, got ${v}`);
  }
}
