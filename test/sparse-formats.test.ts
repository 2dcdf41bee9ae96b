/** CSR and BSR formats on the host: exact round trips, counts, index packing and validation. */
import { describe, expect, it } from 'vitest';
import { BLOCK_SHAPES, BsrMatrix, CsrMatrix, pack16, unpack16, type BlockShape } from '../engine/internal.js';
import { type Pattern, randomSparse } from './helpers/sparse.js';

const shapes: Array<[number, number, number, Pattern]> = [
  [1, 1, 1, 'full'], [7, 13, 0.3, 'random'], [16, 16, 0, 'zero'], [33, 65, 0.05, 'empty-rows'], [9, 200, 0.01, 'long-row'], [20, 12, 1, 'full'], [40, 44, 0.5, 'blocks'],
];

describe('CSR', () => {
  it('round-trips dense → CSR → dense exactly and counts nnz, density and bytes', () => {
    for (const [r, c, d, p] of shapes) {
      const a = randomSparse(r, c, d, p, r * c);
      const m = CsrMatrix.fromDense(a, r, c);
      expect(m.toDense()).toEqual(a);
      const nnz = a.filter((v) => v !== 0).length;
      expect(m.nnz).toBe(nnz);
      expect(m.density).toBeCloseTo(nnz / (r * c), 12);
      expect(m.indexBits).toBe(16);
      expect(m.bytes).toBe(4 * (r + 1) + 4 * Math.ceil(nnz / 2) + 4 * nnz);
      // Rebuilt from its own arrays (validated) it is the same matrix.
      expect(CsrMatrix.fromArrays(m, { requireSorted: true }).toDense()).toEqual(a);
    }
  });

  it('keeps the entries a mask selects, explicit zeros included', () => {
    const a = new Float32Array([1, 0, 2, 0, 0, 3]);
    const m = CsrMatrix.fromDense(a, 2, 3, { mask: [1, 1, 0, 0, 1, 1] });
    expect(m.nnz).toBe(4);
    expect([...m.colIdx]).toEqual([0, 1, 1, 2]);
    expect(m.toDense()).toEqual(new Float32Array([1, 0, 0, 0, 0, 3]));
  });

  it('packs column indices two per u32 below 65536 columns and keeps 32 bits above', () => {
    const idx = Uint32Array.from([0, 1, 65535, 40000, 7]);
    const packed = pack16(idx);
    expect(packed.length).toBe(3);
    expect(packed[0]).toBe(0 | (1 << 16));
    expect(packed[1]).toBe((65535 | (40000 << 16)) >>> 0);
    expect([...unpack16(packed, 5)]).toEqual([...idx]);
    expect(() => pack16(Uint32Array.from([65536]))).toThrow(/16 bits/);
    const small = CsrMatrix.fromArrays({ rows: 1, cols: 65536, rowPtr: [0, 2], colIdx: [3, 65535], values: [1, 2] });
    expect(small.indexBits).toBe(16);
    expect([...unpack16(small.packedColIdx(), 2)]).toEqual([3, 65535]);
    const big = CsrMatrix.fromArrays({ rows: 1, cols: 65537, rowPtr: [0, 1], colIdx: [65536], values: [1] });
    expect(big.indexBits).toBe(32);
    expect([...big.packedColIdx()]).toEqual([65536]);
    expect(big.bytes).toBe(8 + 4 + 4);
  });

  it('refuses malformed user arrays with clear errors', () => {
    const ok = { rows: 2, cols: 3, rowPtr: [0, 1, 2], colIdx: [0, 2], values: [1, 2] };
    expect(() => CsrMatrix.fromArrays(ok)).not.toThrow();
    expect(() => CsrMatrix.fromArrays({ ...ok, rowPtr: [0, 2, 1] })).toThrow(/not monotone/);
    expect(() => CsrMatrix.fromArrays({ ...ok, rowPtr: [1, 1, 2] })).toThrow(/rowPtr\[0\] must be 0/);
    expect(() => CsrMatrix.fromArrays({ ...ok, rowPtr: [0, 1] })).toThrow(/rows \+ 1/);
    expect(() => CsrMatrix.fromArrays({ ...ok, rowPtr: [0, 1, 3] })).toThrow(/rowPtr\[2\] = 3 but colIdx has 2/);
    expect(() => CsrMatrix.fromArrays({ ...ok, colIdx: [0, 3] })).toThrow(/out of range \[0, 3\)/);
    expect(() => CsrMatrix.fromArrays({ ...ok, colIdx: [0, -1] })).toThrow(/out of range/);
    expect(() => CsrMatrix.fromArrays({ ...ok, colIdx: [0, 1.5] })).toThrow(/out of range/);
    expect(() => CsrMatrix.fromArrays({ ...ok, values: [1] })).toThrow(/values has 1/);
    expect(() => CsrMatrix.fromArrays({ ...ok, rows: 0, rowPtr: [0] })).toThrow(/positive integer/);
    const unsorted = { rows: 1, cols: 4, rowPtr: [0, 2], colIdx: [2, 1], values: [1, 2] };
    expect(() => CsrMatrix.fromArrays(unsorted)).not.toThrow();
    expect(() => CsrMatrix.fromArrays(unsorted, { requireSorted: true })).toThrow(/unsorted or duplicate/);
    expect(() => CsrMatrix.fromDense([1, 2, 3], 2, 2)).toThrow(/expected 2x2/);
  });
});

describe('BSR', () => {
  it('round-trips every block shape exactly, padding shapes that are not multiples of the block', () => {
    for (const block of BLOCK_SHAPES) {
      for (const [r, c, d, p] of shapes) {
        const a = randomSparse(r, c, d, p, r + c);
        const m = BsrMatrix.fromDense(a, r, c, block as BlockShape);
        expect(m.toDense(), `${block} ${r}x${c}`).toEqual(a);
        expect(m.paddedRows).toBe(Math.ceil(r / block[0]) * block[0]);
        expect(m.paddedCols).toBe(Math.ceil(c / block[1]) * block[1]);
        expect(m.storedValues).toBe(m.nnzBlocks * block[0] * block[1]);
        expect(m.nnz).toBe(a.filter((v) => v !== 0).length);
        expect(m.values.length).toBe(m.nnzBlocks * block[0] * block[1]);
        expect(BsrMatrix.fromArrays(m, { requireSorted: true }).toDense()).toEqual(a);
      }
    }
  });

  it('stores exactly the blocks that hold a non-zero', () => {
    const a = new Float32Array(8 * 8);
    a[0] = 1; // block (0, 0)
    a[5 * 8 + 6] = 2; // block (1, 1)
    const m = BsrMatrix.fromDense(a, 8, 8, [4, 4]);
    expect(m.nnzBlocks).toBe(2);
    expect([...m.blockRowPtr]).toEqual([0, 1, 2]);
    expect([...m.blockColIdx]).toEqual([0, 1]);
    expect(m.blockDensity).toBe(0.5);
    expect(m.density).toBe(0.5);
    expect(m.bytes).toBe(3 * 4 + 4 + 32 * 4);
  });

  it('refuses unsupported block shapes, unpadded odd shapes and malformed arrays', () => {
    const a = new Float32Array(6 * 6).fill(1);
    expect(() => BsrMatrix.fromDense(a, 6, 6, [3, 3])).toThrow(/unsupported block shape \[3,3\]; supported: 1x4, 4x1, 4x4, 8x8, 16x16/);
    expect(() => BsrMatrix.fromDense(a, 6, 6, [2, 2] as unknown as BlockShape)).toThrow(/unsupported/);
    expect(() => BsrMatrix.fromDense(a, 6, 6, [4, 4], { pad: false })).toThrow(/not a multiple of the 4x4 block/);
    expect(BsrMatrix.fromDense(a, 6, 6, [4, 4]).paddedRows).toBe(8);
    const ok = { rows: 8, cols: 8, block: [4, 4] as BlockShape, blockRowPtr: [0, 1, 1], blockColIdx: [1], values: new Array(16).fill(1) };
    expect(() => BsrMatrix.fromArrays(ok)).not.toThrow();
    expect(() => BsrMatrix.fromArrays({ ...ok, blockColIdx: [2] })).toThrow(/blockColIdx\[0\] = 2 \(row 0\) is out of range \[0, 2\)/);
    expect(() => BsrMatrix.fromArrays({ ...ok, blockRowPtr: [0, 1, 0] })).toThrow(/not monotone/);
    expect(() => BsrMatrix.fromArrays({ ...ok, values: [1] })).toThrow(/expected 1 blocks x 16 = 16/);
  });
});
