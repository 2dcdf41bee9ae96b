/**
 * SparseConv2d: torch.nn.Conv2d (NCHW) whose filters [oc, c, kh, kw] are held as a
 * CSR/BSR matrix [oc, c·kh·kw] and applied by direct sparse convolution.
 * Inference only, like SparseLinear (no gradients; the bias is a buffer).
 */
import { type Backend, type BlockShape, getBackend, keep, sparseConv2d, type SparseMatrix, SparseTensor, type Tensor } from '../../engine/internal.js';
import type { Conv2d } from '../layers/conv.js';
import { Module } from '../module.js';
import { buildMatrix, describeMatrix, effectiveBias, effectiveWeight, type SparseFormat } from './weights.js';

export interface SparseConv2dGeometry {
  kernelSize: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
}

export class SparseConv2d extends Module {
  readonly outChannels: number;
  readonly inChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly weight: SparseTensor;

  constructor(matrix: SparseMatrix, bias: Tensor | null, g: SparseConv2dGeometry, backend: Backend = bias?.backend ?? getBackend()) {
    super();
    const [kh, kw] = g.kernelSize;
    if (matrix.cols % (kh * kw) !== 0) throw new Error(`SparseConv2d: ${matrix.cols} weight columns are not a multiple of the ${kh}x${kw} kernel`);
    if (bias && (bias.rank !== 1 || bias.shape[0] !== matrix.rows)) throw new Error(`SparseConv2d: bias must be [${matrix.rows}]`);
    this.outChannels = matrix.rows;
    this.inChannels = matrix.cols / (kh * kw);
    this.kernelSize = [...g.kernelSize];
    this.stride = [...g.stride];
    this.padding = [...g.padding];
    this.dilation = [...g.dilation];
    this.weight = new SparseTensor(matrix, backend);
    this.registerBuffer('bias', bias ? keep(bias) : null);
    this.training = false;
  }

  /** From a (masked) Conv2d layer: its effective weight, flattened to [oc, c·kh·kw]. */
  static async fromConv2d(layer: Conv2d, format: SparseFormat = 'csr', block?: BlockShape): Promise<SparseConv2d> {
    const w = await effectiveWeight(layer);
    const [kh, kw] = layer.kernelSize;
    const m = buildMatrix(w, layer.outChannels, layer.inChannels * kh * kw, format, block);
    return new SparseConv2d(m, effectiveBias(layer), layer, layer.parameter('weight')?.backend);
  }

  get matrix(): SparseMatrix {
    return this.weight.matrix;
  }

  forward(x: Tensor): Tensor {
    return sparseConv2d(x, this.weight, this.kernelSize, this.buffer('bias') ?? null, { stride: this.stride, padding: this.padding, dilation: this.dilation });
  }

  override dispose(): void {
    this.weight.dispose();
    super.dispose();
  }

  override extraRepr(): string {
    const [kh, kw] = this.kernelSize;
    return `${this.inChannels}, ${this.outChannels}, kernel=${kh}x${kw}, ${describeMatrix(this.matrix)}, bias=${!!this.buffer('bias')}`;
  }
}
