/**
 * Block compressed sparse row (BSR) matrices: the matrix is cut into r×c blocks;
 * a block is stored (densely, row-major inside the block) when any of its entries
 * is non-zero (or, with a mask, when any mask entry is non-zero).
 *
 * Block shapes: 1×4, 4×1, 4×4, 8×8 and 16×16 (the ones the kernels are generated
 * for); others are refused. A matrix whose shape is not a multiple of the block is
 * padded with zero rows/columns up to `paddedRows × paddedCols` (`pad: false`
 * refuses it instead); `toDense()` crops the padding, so the round trip is exact.
 * Block-column indices are packed two per u32 when there are ≤ 65536 block columns.
 */
import { checkDims, indexBitsFor, indexBytes, pack16, validateCompressed } from './indices.js';

export type BlockShape = readonly [number, number];

export const BLOCK_SHAPES: readonly BlockShape[] = [[1, 4], [4, 1], [4, 4], [8, 8], [16, 16]];

export function checkBlockShape(block: BlockShape | readonly number[]): BlockShape {
  const ok = Array.isArray(block) && block.length === 2 && BLOCK_SHAPES.some(([r, c]) => r === block[0] && c === block[1]);
  if (!ok) throw new Error(`BSR: unsupported block shape ${JSON.stringify(block)}; supported: ${BLOCK_SHAPES.map(([r, c]) => `${r}x${c}`).join(', ')}`);
  return [block[0]!, block[1]!];
}

export function blockName([r, c]: BlockShape): string {
  return `${r}x${c}`;
}

export interface BsrArrays {
  rows: number;
  cols: number;
  block: BlockShape;
  blockRowPtr: ArrayLike<number>;
  blockColIdx: ArrayLike<number>;
  /** nBlocks·r·c values, each block row-major. */
  values: ArrayLike<number>;
}

export interface BsrFromDenseOptions {
  mask?: ArrayLike<number>;
  /** Pad shapes that are not multiples of the block (default true); false refuses them. */
  pad?: boolean;
}

export class BsrMatrix {
  readonly format = 'bsr' as const;
  readonly blockRows: number;
  readonly blockCols: number;

  private constructor(
    readonly rows: number,
    readonly cols: number,
    readonly block: BlockShape,
    readonly blockRowPtr: Uint32Array,
    readonly blockColIdx: Uint32Array,
    readonly values: Float32Array,
  ) {
    this.blockRows = Math.ceil(rows / block[0]);
    this.blockCols = Math.ceil(cols / block[1]);
  }

  static fromDense(data: ArrayLike<number>, rows: number, cols: number, block: BlockShape, options: BsrFromDenseOptions = {}): BsrMatrix {
    checkDims('BSR', rows, cols);
    const [r, c] = checkBlockShape(block);
    if (data.length !== rows * cols) throw new Error(`BSR: dense data has ${data.length} elements, expected ${rows}x${cols} = ${rows * cols}`);
    if (options.pad === false && (rows % r !== 0 || cols % c !== 0)) {
      throw new Error(`BSR: ${rows}x${cols} is not a multiple of the ${r}x${c} block (pass pad: true to pad with zeros)`);
    }
    const { mask } = options;
    if (mask && mask.length !== data.length) throw new Error(`BSR: mask has ${mask.length} elements, expected ${data.length}`);
    const keep = mask ? (i: number) => mask[i] !== 0 : (i: number) => data[i] !== 0;
    const blockRows = Math.ceil(rows / r), blockCols = Math.ceil(cols / c);
    const rowPtr = new Uint32Array(blockRows + 1);
    const colIdx: number[] = [];
    for (let br = 0; br < blockRows; br++) {
      const r1 = Math.min(rows, (br + 1) * r);
      for (let bc = 0; bc < blockCols; bc++) {
        const c0 = bc * c, c1 = Math.min(cols, c0 + c);
        let any = false;
        for (let i = br * r; i < r1 && !any; i++) for (let j = c0; j < c1; j++) if (keep(i * cols + j)) { any = true; break; }
        if (any) colIdx.push(bc);
      }
      rowPtr[br + 1] = colIdx.length;
    }
    const values = new Float32Array(colIdx.length * r * c);
    for (let br = 0; br < blockRows; br++) {
      for (let k = rowPtr[br]!; k < rowPtr[br + 1]!; k++) {
        const bc = colIdx[k]!;
        for (let i = 0; i < r; i++) {
          const row = br * r + i;
          if (row >= rows) break;
          for (let j = 0; j < c; j++) {
            const col = bc * c + j;
            if (col < cols) values[(k * r + i) * c + j] = data[row * cols + col]!;
          }
        }
      }
    }
    return new BsrMatrix(rows, cols, [r, c], rowPtr, Uint32Array.from(colIdx), values);
  }

  /** From user arrays, checked like CSR over the block grid; values must be nBlocks·r·c long. */
  static fromArrays(a: BsrArrays, options: { requireSorted?: boolean } = {}): BsrMatrix {
    checkDims('BSR', a.rows, a.cols);
    const [r, c] = checkBlockShape(a.block);
    const blockRows = Math.ceil(a.rows / r), blockCols = Math.ceil(a.cols / c);
    validateCompressed('BSR', blockRows, blockCols, a.blockRowPtr, a.blockColIdx, options.requireSorted ?? false);
    const need = a.blockColIdx.length * r * c;
    if (a.values.length !== need) throw new Error(`BSR: values has ${a.values.length} entries, expected ${a.blockColIdx.length} blocks x ${r * c} = ${need}`);
    return new BsrMatrix(a.rows, a.cols, [r, c], Uint32Array.from(a.blockRowPtr), Uint32Array.from(a.blockColIdx), Float32Array.from(a.values));
  }

  get paddedRows(): number {
    return this.blockRows * this.block[0];
  }

  get paddedCols(): number {
    return this.blockCols * this.block[1];
  }

  get nnzBlocks(): number {
    return this.blockRowPtr[this.blockRows]!;
  }

  /** Values stored (blocks × r·c, explicit zeros included). */
  get storedValues(): number {
    return this.values.length;
  }

  /** Non-zero values among the stored ones. */
  get nnz(): number {
    let n = 0;
    for (const v of this.values) if (v !== 0) n++;
    return n;
  }

  /** Stored values / all entries of the (unpadded) matrix: the fraction of FLOPs the kernel does. */
  get density(): number {
    return this.storedValues / (this.rows * this.cols);
  }

  /** Stored blocks / all blocks. */
  get blockDensity(): number {
    return this.nnzBlocks / (this.blockRows * this.blockCols);
  }

  get indexBits(): 16 | 32 {
    return indexBitsFor(this.blockCols);
  }

  get bytes(): number {
    return 4 * (this.blockRows + 1) + indexBytes(this.nnzBlocks, this.indexBits) + 4 * this.storedValues;
  }

  packedColIdx(): Uint32Array {
    return this.indexBits === 16 ? pack16(this.blockColIdx) : this.blockColIdx;
  }

  toDense(): Float32Array {
    const [r, c] = this.block;
    const out = new Float32Array(this.rows * this.cols);
    for (let br = 0; br < this.blockRows; br++) {
      for (let k = this.blockRowPtr[br]!; k < this.blockRowPtr[br + 1]!; k++) {
        const bc = this.blockColIdx[k]!;
        for (let i = 0; i < r; i++) {
          const row = br * r + i;
          if (row >= this.rows) break;
          for (let j = 0; j < c; j++) {
            const col = bc * c + j;
            if (col < this.cols) out[row * this.cols + col] = this.values[(k * r + i) * c + j]!;
          }
        }
      }
    }
    return out;
  }

  toString(): string {
    return `BsrMatrix(${this.rows}x${this.cols}, block ${blockName(this.block)}, ${this.nnzBlocks} blocks, density=${this.density.toFixed(4)}, ${this.bytes} bytes)`;
  }
}

export type SparseMatrix = import('./csr.js').CsrMatrix | BsrMatrix;
