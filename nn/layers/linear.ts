/**
 * Fully connected layer y = x·Wᵀ + b (torch.nn.Linear); weight [out, in], bias [out].
 * `activation: 'relu'` runs a ReLU in the matmul's epilogue (what nn/fuse.ts's
 * fuseForInference builds from Linear → ReLU); the keys are unchanged.
 */
import { type Activation, checkActivation, type Generator, linear, type Tensor, zeros } from '../../engine/internal.js';
import { defaultLayerInit } from '../init.js';
import { type CreateOptions, Module } from '../module.js';

export interface LinearOptions extends CreateOptions {
  bias?: boolean;
  /** Source of the initial values (the global generator by default). */
  generator?: Generator;
  /** Fused after the bias, in the matmul's epilogue. */
  activation?: Activation | null;
}

export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly activation: Activation | null;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    for (const [name, v] of [['inFeatures', inFeatures], ['outFeatures', outFeatures]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`Linear: ${name} must be a positive integer, got ${v}`);
    }
    const { bias = true, generator, backend } = options;
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.activation = checkActivation('Linear', options.activation);
    const w = this.registerParameter('weight', zeros([outFeatures, inFeatures], { backend }))!;
    const b = this.registerParameter('bias', bias ? zeros([outFeatures], { backend }) : null);
    defaultLayerInit(w, b, generator);
  }

  /** The effective weight (see Module.getParam: a fresh tensor while an override is set). */
  get weight(): Tensor {
    return this.getParam('weight')!;
  }

  get bias(): Tensor | null {
    return this.getParam('bias');
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.getParam('weight')!, this.getParam('bias'), { activation: this.activation });
  }

  override extraRepr(): string {
    const s = `in=${this.inFeatures}, out=${this.outFeatures}, bias=${this.parameter('bias') !== null}`;
    return this.activation ? `${s}, activation=${this.activation}` : s;
  }
}
