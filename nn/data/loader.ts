/**
 * Batching over in-memory datasets (torch.utils.data.DataLoader's job).
 *
 * Each batch is gathered into one host Float32Array and uploaded with a single
 * `tensor(...)` call — one upload per batch, never one per sample. Shuffling is
 * a seeded Fisher–Yates over the sample indices, drawn once per call (one call =
 * one epoch), so a seeded generator gives the same epochs on every run.
 */
import { type BackendName, defaultGenerator, type Generator as RandomGenerator, type Tensor, tensor } from '../../engine/internal.js';

/** Samples stored contiguously: sample i is `x[i·S, (i+1)·S)` with S = prod(sampleShape). */
export interface ArrayDataset {
  x: Float32Array;
  y: Uint8Array | Int32Array;
  /** Shape of one sample, e.g. [1, 28, 28]. */
  sampleShape: readonly number[];
  /** Number of samples. */
  n: number;
}

export interface BatchOptions {
  batchSize: number;
  /** Draw a fresh permutation for this epoch (default false: dataset order). */
  shuffle?: boolean;
  /** Generator for the permutation; the engine's default generator when absent. */
  generator?: RandomGenerator;
  /** Skip the last batch when it is smaller than `batchSize` (default false). */
  dropLast?: boolean;
  /** Backend the batch tensors are created on (the current one by default). */
  backend?: BackendName;
}

export interface Batch {
  /** [size, ...sampleShape]; the caller disposes it. */
  x: Tensor;
  /** Labels of the batch's samples, in batch order. */
  y: Int32Array;
  /** Number of samples in this batch. */
  size: number;
}

/** Number of batches an epoch yields. */
export function numBatches(n: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
}

/** A uniformly random permutation of 0..n-1 (Fisher–Yates, driven by `generator`). */
export function shuffledIndices(n: number, generator: RandomGenerator = defaultGenerator): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = generator.int(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

function sampleSize(ds: ArrayDataset): number {
  let s = 1;
  for (const d of ds.sampleShape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`batches: sampleShape [${ds.sampleShape.join(', ')}] must hold non-negative integers`);
    s *= d;
  }
  return s;
}

/**
 * One epoch of batches. The permutation (when shuffling) is drawn when this is
 * called, so the generator advances once per epoch whether or not every batch is
 * consumed. Each yielded `x` belongs to the caller, who must dispose it.
 */
export function batches(ds: ArrayDataset, options: BatchOptions): IterableIterator<Batch> {
  const { batchSize, shuffle = false, dropLast = false, backend } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batches: batchSize must be a positive integer, got ${batchSize}`);
  const S = sampleSize(ds);
  if (!Number.isInteger(ds.n) || ds.n < 0) throw new Error(`batches: dataset size n must be a non-negative integer, got ${ds.n}`);
  if (ds.x.length < ds.n * S) throw new Error(`batches: x holds ${ds.x.length} values, fewer than n·prod(sampleShape) = ${ds.n}·${S}`);
  if (ds.y.length < ds.n) throw new Error(`batches: y holds ${ds.y.length} labels, fewer than n = ${ds.n}`);
  const order = shuffle ? shuffledIndices(ds.n, options.generator ?? defaultGenerator) : null;
  const count = numBatches(ds.n, batchSize, dropLast);
  return (function* () {
    for (let b = 0; b < count; b++) {
      const start = b * batchSize;
      const size = Math.min(batchSize, ds.n - start);
      const host = new Float32Array(size * S);
      const y = new Int32Array(size);
      for (let k = 0; k < size; k++) {
        const i = order ? order[start + k]! : start + k;
        host.set(ds.x.subarray(i * S, (i + 1) * S), k * S);
        y[k] = ds.y[i]!;
      }
      yield { x: tensor(host, [size, ...ds.sampleShape], { backend }), y, size };
    }
  })();
}
