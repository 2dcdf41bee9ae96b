/**
 * SparseLinear: y = x·Wᵀ + b with W [out, in] held as a CSR or BSR matrix on the
 * device (torch.nn.Linear's semantics, inference only).
 *
 * Inference only: no gradient flows through it (the weight is not a parameter and
 * the output never requires grad). The bias is a buffer, so `stateDict()` holds
 * `bias` only; the sparse weight is `matrix`.
 */
import { type Backend, keep, type SparseMatrix, sparseLinear, SparseTensor, type Tensor, getBackend } from '../../engine/internal.js';
import type { Linear } from '../layers/linear.js';
import { Module } from '../module.js';
import { buildMatrix, describeMatrix, effectiveBias, effectiveWeight, type SparseFormat } from './weights.js';
import type { BlockShape } from '../../engine/internal.js';

export class SparseLinear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: SparseTensor;

  constructor(matrix: SparseMatrix, bias: Tensor | null, backend: Backend = bias?.backend ?? getBackend()) {
    super();
    this.outFeatures = matrix.rows;
    this.inFeatures = matrix.cols;
    if (bias && (bias.rank !== 1 || bias.shape[0] !== matrix.rows)) throw new Error(`SparseLinear: bias must be [${matrix.rows}]`);
    this.weight = new SparseTensor(matrix, backend);
    this.registerBuffer('bias', bias ? keep(bias) : null);
    this.training = false;
  }

  /** From a (masked) Linear layer: its effective weight `getParam('weight')`, zeros skipped. */
  static async fromLinear(layer: Linear, format: SparseFormat = 'csr', block?: BlockShape): Promise<SparseLinear> {
    const w = await effectiveWeight(layer);
    return new SparseLinear(buildMatrix(w, layer.outFeatures, layer.inFeatures, format, block), effectiveBias(layer), layer.parameter('weight')?.backend);
  }

  get matrix(): SparseMatrix {
    return this.weight.matrix;
  }

  forward(x: Tensor): Tensor {
    return sparseLinear(x, this.weight, this.buffer('bias') ?? null);
  }

  override dispose(): void {
    this.weight.dispose();
    super.dispose();
  }

  override extraRepr(): string {
    return `in=${this.inFeatures}, out=${this.outFeatures}, ${describeMatrix(this.matrix)}, bias=${!!this.buffer('bias')}`;
  }
}
