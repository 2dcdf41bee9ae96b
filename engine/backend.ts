/**
 * The primitive operations a backend implements. Everything else (autograd,
 * broadcasting rules, softmax, batch norm, losses…) is composed from these in
 * TypeScript, so the WGSL surface stays small (tinygrad's idea).
 *
 * All storages hold float32 values (the CPU reference keeps float64) laid out
 * row-major and contiguous; strided views are materialised with `gather`.
 */
import type {
  Storage, UnaryOp, BinaryOp, ReduceOp, StridedView, MatmulGeometry, MatmulEpilogue, Activation, Conv2dGeometry, Pool2dGeometry, SgdConfig, AdamConfig, SparseStorage, MemoryStats,
} from '../gpu/types.js';
import type { SparseMatrix } from '../formats/bsr.js';

export type {
  Storage, UnaryOp, BinaryOp, ReduceOp, StridedView, MatmulGeometry, MatmulEpilogue, Activation, Conv2dGeometry, Pool2dGeometry, SgdConfig, AdamConfig, SparseStorage, MemoryStats,
} from '../gpu/types.js';

export interface Backend {
  readonly name: 'cpu' | 'webgpu';

  upload(data: ArrayLike<number>): Storage;
  fill(size: number, value: number): Storage;
  /** Reads back every element; `label` names what is read in errors (e.g. "tensor #3 of shape [2, 2]"). */
  read(s: Storage, label?: string): Promise<Float32Array | Float64Array>;
  /** Returns the storage to the backend; it must not be used afterwards. */
  release(s: Storage): void;

  unary(op: UnaryOp, x: Storage): Storage;
  /** out[i] = op(a[view_a(i)], b[view_b(i)]) over `outShape`. */
  binary(op: BinaryOp, a: Storage, aView: StridedView, b: Storage, bView: StridedView, outShape: readonly number[]): Storage;
  /** out[i] = cond[i] != 0 ? a[i] : b[i], each read through its view over `outShape`. */
  where(cond: Storage, cView: StridedView, a: Storage, aView: StridedView, b: Storage, bView: StridedView, outShape: readonly number[]): Storage;
  /** out[i] = input[i] + value · t1[i] · t2[i], each read through its view over `outShape` (torch.addcmul). */
  addcmul(input: Storage, inputView: StridedView, t1: Storage, t1View: StridedView, t2: Storage, t2View: StridedView, value: number, outShape: readonly number[]): Storage;
  /** Contiguous copy of a strided view of `src` with shape `shape`. */
  gather(src: Storage, view: StridedView, shape: readonly number[]): Storage;
  /** Writes contiguous `src` (shape `shape`) into `dst` through `dstView`, in place. */
  scatter(dst: Storage, dstView: StridedView, src: Storage, shape: readonly number[]): void;
  /** Reduces each contiguous run of `inner` elements: input [outer, inner] → [outer]. argmax yields indices. */
  reduce(op: ReduceOp, x: Storage, outer: number, inner: number): Storage;

  /** Batched matmul: out[batch, m, n], optionally with a fused epilogue (bias per column n, then ReLU). */
  matmul(a: Storage, b: Storage, g: MatmulGeometry, epilogue?: MatmulEpilogue): Storage;

  /**
   * Convolution (+ bias per output channel), then `activation` when given — in the same kernel,
   * not a second pass — then, when `pool` is given, max pooling of that output with `pool`'s
   * geometry (its input is [n, oc, oh, ow]); the result is the pooled [n, oc, pool.oh, pool.ow].
   */
  conv2d(x: Storage, w: Storage, bias: Storage | null, g: Conv2dGeometry, activation?: Activation | null, pool?: Pool2dGeometry | null): Storage;
  conv2dGradInput(gy: Storage, w: Storage, g: Conv2dGeometry): Storage;
  conv2dGradWeight(x: Storage, gy: Storage, g: Conv2dGeometry): Storage;

  /** Max pooling; `argmax` (per output, the flat in-plane index ih·w + iw of its input) only when `indices`. */
  maxPool2d(x: Storage, g: Pool2dGeometry, indices: boolean): { out: Storage; argmax: Storage | null };
  maxPool2dGrad(gy: Storage, argmax: Storage, g: Pool2dGeometry): Storage;
  avgPool2d(x: Storage, g: Pool2dGeometry, countIncludePad: boolean): Storage;
  avgPool2dGrad(gy: Storage, g: Pool2dGeometry, countIncludePad: boolean): Storage;

  /** In-place SGD step on `param` (and its momentum buffer when momentum ≠ 0). */
  sgdStep(param: Storage, grad: Storage, momentumBuf: Storage | null, c: SgdConfig): void;
  /** In-place Adam/AdamW step on `param` and its moment estimates. */
  adamStep(param: Storage, grad: Storage, m: Storage, v: Storage, c: AdamConfig): void;

  /** Moves a CSR/BSR matrix to the backend (once; reuse the handle for every product). */
  uploadSparse(m: SparseMatrix): SparseStorage;
  releaseSparse(s: SparseStorage): void;
  /** y[batch, rows] = x[batch, cols] · Wᵀ (+ bias[rows]) for a sparse W [rows, cols] (CSR or BSR). */
  sparseMatmul(w: SparseStorage, x: Storage, bias: Storage | null, batch: number): Storage;
  /** conv2d (NCHW) with sparse weights W [oc, c·kh·kw] (the dense weight flattened); output [n, oc, oh, ow]. */
  sparseConv2d(x: Storage, w: SparseStorage, bias: Storage | null, g: Conv2dGeometry): Storage;

  /** Submits recorded work (no-op on the CPU). */
  flush(): void;
  /** Resolves when all submitted work has finished. */
  sync(): Promise<void>;
  memoryStats(): MemoryStats;
  destroy(): void;
}
