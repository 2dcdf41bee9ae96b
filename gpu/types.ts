/**
 * The value types shared by the engine and the kernels: storages, op names, the geometry of
 * matmul, convolution and pooling, optimizer configs and memory statistics. They sit below
 * both layers so that kernels never import the engine.
 */
import type { SparseMatrix } from '../formats/bsr.js';
import type { TuningTable } from './profile.js';

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
 * A sparse weight matrix (CSR or BSR, see formats/) resident on a backend, in the
 * backend's own layout (e.g. rows sorted by length on WebGPU). Inference only.
 */
export interface SparseStorage {
  readonly matrix: SparseMatrix;
  /** Bytes the backend holds for it. */
  readonly deviceBytes: number;
  /**
   * Kernel winners measured for this matrix (family → problem key → entry, as in a tuning
   * table; e.g. by toSparse's timing). They override the device's tuning table and the profile's
   * rule for those problems; a variant forced for the family still wins. Backends without
   * kernel variants ignore them.
   */
  tuned?: TuningTable['entries'];
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

