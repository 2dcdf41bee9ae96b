/**
 * The primitive operations a backend implements. Everything else (autograd,
 * broadcasting rules, softmax, batch norm, losses…) is composed from these in
 * TypeScript, so the WGSL surface stays small (tinygrad's idea).
 *
 * All storages hold float32 values (the CPU reference keeps float64) laid out
 * row-major and contiguous; strided views are materialised with `gather`.
 */
import type { SparseMatrix } from './sparse/bsr.js';

export interface Storage {
  /** Number of elements. */
  readonly size: number;
}

export type UnaryOp = 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'relu' | 'sigmoid' | 'tanh' | 'sign' | 'step' | 'recip';
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'max' | 'min' | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';
export type ReduceOp = 'sum' | 'max' | 'min' | 'argmax';

/** Reads `shape` elements from `offset + Σ index[d]·strides[d]`. */
export interface StridedView {
  readonly offset: number;
  readonly strides: readonly number[];
}

export interface MatmulGeometry {
  batch: number;
  m: number;
  k: number;
  n: number;
  /** A is stored [k, m] (per batch) instead of [m, k]. */
  transA: boolean;
  /** B is stored [n, k] (per batch) instead of [k, n]. */
  transB: boolean;
  /** Element stride between batches of A and B (0 broadcasts one matrix over the batch). */
  aBatchStride: number;
  bBatchStride: number;
}

/** Fused after a matmul: `bias` (length n) is added to every row, then ReLU when `relu`. */
export interface MatmulEpilogue {
  bias?: Storage | null;
  relu?: boolean;
}

/** An activation fused into the epilogue of a convolution or linear layer (applied after the bias). */
export type Activation = 'relu';

/** NCHW convolution geometry; weights are [oc, c, kh, kw], output [n, oc, oh, ow]. */
export interface Conv2dGeometry {
  n: number; c: number; h: number; w: number;
  oc: number; kh: number; kw: number;
  sh: number; sw: number; ph: number; pw: number; dh: number; dw: number;
  oh: number; ow: number;
}

/** NCHW pooling geometry; output [n, c, oh, ow]. */
export interface Pool2dGeometry {
  n: number; c: number; h: number; w: number;
  kh: number; kw: number; sh: number; sw: number; ph: number; pw: number;
  oh: number; ow: number;
}

/** torch.optim.SGD's update, applied in place. */
export interface SgdConfig {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  /** The momentum buffer is initialised to the gradient on the first step. */
  firstStep: boolean;
}

/** torch.optim.Adam / AdamW's update, applied in place; `step` counts from 1. */
export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** AdamW: decay the weights directly instead of adding wd·p to the gradient. */
  decoupled: boolean;
  step: number;
}

/**
 * A sparse weight matrix (engine/sparse: CSR or BSR) resident on a backend, in the
 * backend's own layout (e.g. rows sorted by length on WebGPU). Inference only.
 */
export interface SparseStorage {
  readonly matrix: SparseMatrix;
  /** Bytes the backend holds for it. */
  readonly deviceBytes: number;
}

export interface MemoryStats {
  /** Bytes of device memory held by the backend (in use plus pooled for reuse). */
  allocatedBytes: number;
  /** Bytes held by live storages. */
  inUseBytes: number;
  /** Bytes held for reuse by released storages (the rest of allocatedBytes is transient). */
  pooledBytes: number;
  /** Number of live storages. */
  storages: number;
}

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
