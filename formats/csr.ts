/**
 * Compressed sparse row (CSR) matrices, built on the host from a dense (or masked)
 * row-major matrix, or from user arrays (validated).
 *
 * Values are float32, like every tensor of the engine. An entry is stored when it
 * is non-zero (−0 counts as zero), or, when a mask is given, where the mask is
 * non-zero (explicit zeros are then kept). `toDense()` gives back exactly the dense
 * matrix (−0 comes back as +0). Column indices are kept 32-bit on the host;
 * `packedColIdx()` gives the device form: two 16-bit indices per u32 when cols ≤ 65536.
 */
import { checkDims, indexBitsFor, indexBytes, pack16, validateCompressed } from './indices.js';

export interface CsrArrays {
  rows: number;
  cols: number;
  rowPtr: ArrayLike<number>;
  colIdx: ArrayLike<number>;
  values: ArrayLike<number>;
}

export interface FromDenseOptions {
  /** Entries to keep (non-zero mask entries); by default the non-zero values. */
  mask?: ArrayLike<number>;
}

export class CsrMatrix {
  readonly format = 'csr' as const;

  private constructor(
    readonly rows: number,
    readonly cols: number,
    readonly rowPtr: Uint32Array,
    readonly colIdx: Uint32Array,
    readonly values: Float32Array,
  ) {}

  static fromDense(data: ArrayLike<number>, rows: number, cols: number, options: FromDenseOptions = {}): CsrMatrix {
    checkDims('CSR', rows, cols);
    if (data.length !== rows * cols) throw new Error(`CSR: dense data has ${data.length} elements, expected ${rows}x${cols} = ${rows * cols}`);
    const { mask } = options;
    if (mask && mask.length !== data.length) throw new Error(`CSR: mask has ${mask.length} elements, expected ${data.length}`);
    const keep = mask ? (i: number) => mask[i] !== 0 : (i: number) => data[i] !== 0;
    let nnz = 0;
    for (let i = 0; i < data.length; i++) if (keep(i)) nnz++;
    const rowPtr = new Uint32Array(rows + 1);
    const colIdx = new Uint32Array(nnz);
    const values = new Float32Array(nnz);
    let k = 0;
    for (let r = 0; r < rows; r++) {
      for (let c = 0, i = r * cols; c < cols; c++, i++) {
        if (!keep(i)) continue;
        colIdx[k] = c;
        values[k++] = data[i]!;
      }
      rowPtr[r + 1] = k;
    }
    return new CsrMatrix(rows, cols, rowPtr, colIdx, values);
  }

  /**
   * From user arrays, checked: rowPtr has rows + 1 monotone entries from 0 to nnz,
   * every column is in [0, cols), values has nnz entries; with `requireSorted`,
   * columns strictly increase within each row (no duplicates).
   */
  static fromArrays(a: CsrArrays, options: { requireSorted?: boolean } = {}): CsrMatrix {
    checkDims('CSR', a.rows, a.cols);
    validateCompressed('CSR', a.rows, a.cols, a.rowPtr, a.colIdx, options.requireSorted ?? false);
    if (a.values.length !== a.colIdx.length) throw new Error(`CSR: values has ${a.values.length} entries but colIdx has ${a.colIdx.length}`);
    return new CsrMatrix(a.rows, a.cols, Uint32Array.from(a.rowPtr), Uint32Array.from(a.colIdx), Float32Array.from(a.values));
  }

  get nnz(): number {
    return this.rowPtr[this.rows]!;
  }

  /** Stored entries / all entries. */
  get density(): number {
    return this.nnz / (this.rows * this.cols);
  }

  /** Bits per column index on the device (16 when cols ≤ 65536). */
  get indexBits(): 16 | 32 {
    return indexBitsFor(this.cols);
  }

  /** Bytes of the format: 32-bit row pointers, packed column indices, float32 values. */
  get bytes(): number {
    return 4 * (this.rows + 1) + indexBytes(this.nnz, this.indexBits) + 4 * this.nnz;
  }

  rowLength(r: number): number {
    return this.rowPtr[r + 1]! - this.rowPtr[r]!;
  }

  /** Column indices as stored on the device: packed 16-bit pairs or plain u32. */
  packedColIdx(): Uint32Array {
    return this.indexBits === 16 ? pack16(this.colIdx) : this.colIdx;
  }

  toDense(): Float32Array {
    const out = new Float32Array(this.rows * this.cols);
    for (let r = 0; r < this.rows; r++) {
      for (let k = this.rowPtr[r]!; k < this.rowPtr[r + 1]!; k++) out[r * this.cols + this.colIdx[k]!] = this.values[k]!;
    }
    return out;
  }

  toString(): string {
    return `CsrMatrix(${this.rows}x${this.cols}, nnz=${this.nnz}, density=${this.density.toFixed(4)}, ${this.indexBits}-bit indices, ${this.bytes} bytes)`;
  }
}
