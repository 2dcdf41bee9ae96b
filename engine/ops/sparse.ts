/**
 * Sparse weights as engine values: a `SparseTensor` is a CSR/BSR matrix uploaded to
 * a backend once, and `sparseLinear` / `sparseConv2d` multiply dense activations by it.
 *
 * Inference only: the outputs never record autograd (no gradient reaches the input or
 * the sparse weights); run them under `noGrad()` when other inputs require grad.
 * A SparseTensor is not tracked by `tidy` scopes: its owner calls `dispose()`.
 */
import type { Backend, SparseStorage } from '../backend.js';
import { getBackend, type BackendName } from '../registry.js';
import type { SparseMatrix } from '../../formats/bsr.js';
import { fmtShape } from '../shape.js';
import { commonBackend, makeResult, type Tensor } from '../tensor.js';
import type { Conv2dOptions } from './conv.js';
import { outSize, pair } from './sliding-window.js';

export class SparseTensor {
  private storage: SparseStorage | null;

  constructor(readonly matrix: SparseMatrix, readonly backend: Backend) {
    this.storage = backend.uploadSparse(matrix);
  }

  /** [rows, cols] of the matrix. */
  get shape(): readonly [number, number] {
    return [this.matrix.rows, this.matrix.cols];
  }

  get isDisposed(): boolean {
    return this.storage === null;
  }

  /** Bytes the backend holds for the matrix (device layout included). */
  get deviceBytes(): number {
    return this.storage?.deviceBytes ?? 0;
  }

  storageFor(op: string): SparseStorage {
    if (!this.storage) throw new Error(`${op}: the sparse tensor ${this.matrix.rows}x${this.matrix.cols} was used after dispose()`);
    return this.storage;
  }

  dispose(): void {
    if (!this.storage) return;
    this.backend.releaseSparse(this.storage);
    this.storage = null;
  }

  toString(): string {
    return `SparseTensor(${this.matrix.toString()}, ${this.backend.name})`;
  }
}

/** Uploads `m` to a backend (the current one by default). */
export function sparseTensor(m: SparseMatrix, options: { backend?: BackendName } = {}): SparseTensor {
  return new SparseTensor(m, getBackend(options.backend));
}

function sameBackend(op: string, w: SparseTensor, inputs: Tensor[]): Backend {
  const backend = commonBackend(op, inputs);
  if (backend !== w.backend) throw new Error(`${op}: the sparse weight lives on ${w.backend.name} but the input on ${backend.name}`);
  return backend;
}

/** y = x·Wᵀ + b with a sparse W [out, in]; x is [..., in]. */
export function sparseLinear(x: Tensor, weight: SparseTensor, bias?: Tensor | null): Tensor {
  const inputs = bias ? [x, bias] : [x];
  const backend = sameBackend('sparseLinear', weight, inputs);
  const [out, inF] = weight.shape;
  if (x.rank < 1 || x.shape[x.rank - 1] !== inF) throw new Error(`sparseLinear: input ${fmtShape(x.shape)} does not end in in_features=${inF} of the ${out}x${inF} weight`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== out)) throw new Error(`sparseLinear: bias ${fmtShape(bias.shape)} must be [${out}]`);
  const batch = x.size / inF;
  const s = backend.sparseMatmul(weight.storageFor('sparseLinear'), x.storageFor('sparseLinear'), bias ? bias.storageFor('sparseLinear') : null, batch);
  return makeResult('sparseLinear', backend, s, [...x.shape.slice(0, -1), out], inputs);
}

/**
 * conv2d (NCHW) with a sparse weight: `weight` is the [oc, c·kh·kw] matrix of the
 * dense [oc, c, kh, kw] filters; `kernelSize` gives kh, kw.
 */
export function sparseConv2d(x: Tensor, weight: SparseTensor, kernelSize: readonly [number, number], bias?: Tensor | null, o: Omit<Conv2dOptions, 'activation' | 'maxPool'> = {}): Tensor {
  const inputs = bias ? [x, bias] : [x];
  const backend = sameBackend('sparseConv2d', weight, inputs);
  if (x.rank !== 4) throw new Error(`sparseConv2d: input must be 4-D [N, C, H, W], got ${fmtShape(x.shape)}`);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [kh, kw] = kernelSize;
  const [oc, cols] = weight.shape;
  if (cols !== c * kh * kw) throw new Error(`sparseConv2d: input has ${c} channels; the ${oc}x${cols} weight with a ${kh}x${kw} kernel expects ${cols / (kh * kw)}`);
  const [sh, sw] = pair('sparseConv2d', 'stride', o.stride ?? 1, 1);
  const [ph, pw] = pair('sparseConv2d', 'padding', o.padding ?? 0, 0);
  const [dh, dw] = pair('sparseConv2d', 'dilation', o.dilation ?? 1, 1);
  const oh = outSize(h, kh, sh, ph, dh), ow = outSize(w, kw, sw, pw, dw);
  if (oh < 1 || ow < 1) throw new Error(`sparseConv2d: kernel ${kh}x${kw} is larger than the padded input of ${fmtShape(x.shape)}`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== oc)) throw new Error(`sparseConv2d: bias ${fmtShape(bias.shape)} must be [${oc}]`);
  const g = { n, c, h, w, oc, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow };
  const s = backend.sparseConv2d(x.storageFor('sparseConv2d'), weight.storageFor('sparseConv2d'), bias ? bias.storageFor('sparseConv2d') : null, g);
  return makeResult('sparseConv2d', backend, s, [n, oc, oh, ow], inputs);
}
