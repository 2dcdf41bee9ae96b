/**
 * 2-D convolution layer (torch.nn.Conv2d, NCHW); weight [out, in, kh, kw], bias [out].
 * `activation: 'relu'` runs a ReLU in the convolution kernel's epilogue and `maxPool` a max
 * pooling after it (what nn/fuse.ts's fuseForInference builds from Conv2d → ReLU → MaxPool2d);
 * the keys are unchanged.
 */
import { type Activation, checkActivation, conv2d, type Generator, type MaxPoolOptions, type Tensor, zeros } from '../../engine/internal.js';
import { defaultLayerInit } from '../init.js';
import { type CreateOptions, Module } from '../module.js';

export type Pair = number | readonly [number, number];

/** 3 or 3x5, as the layers' descriptions write sizes. */
export const showPair = (p: Pair) => (typeof p === 'number' ? `${p}` : p.join('x'));

export interface Conv2dLayerOptions extends CreateOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  bias?: boolean;
  generator?: Generator;
  /** Fused after the bias, inside the convolution kernel. */
  activation?: Activation | null;
  /** Max pooling after the activation (engine conv2d's `maxPool`: fused into the kernel where it can be). */
  maxPool?: MaxPoolOptions | null;
}

function pair(name: string, v: Pair, min: number): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((x) => Number.isInteger(x) && x >= min)) throw new Error(`Conv2d: ${name} must be integers >= ${min}, got ${JSON.stringify(v)}`);
  return p;
}

export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly activation: Activation | null;
  readonly maxPool: MaxPoolOptions | null;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, options: Conv2dLayerOptions = {}) {
    super();
    for (const [name, v] of [['inChannels', inChannels], ['outChannels', outChannels]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`Conv2d: ${name} must be a positive integer, got ${v}`);
    }
    const { bias = true, generator, backend } = options;
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = pair('kernelSize', kernelSize, 1);
    this.stride = pair('stride', options.stride ?? 1, 1);
    this.padding = pair('padding', options.padding ?? 0, 0);
    this.dilation = pair('dilation', options.dilation ?? 1, 1);
    this.activation = checkActivation('Conv2d', options.activation);
    this.maxPool = options.maxPool ? { ...options.maxPool } : null;
    const w = this.registerParameter('weight', zeros([outChannels, inChannels, ...this.kernelSize], { backend }))!;
    const b = this.registerParameter('bias', bias ? zeros([outChannels], { backend }) : null);
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
    return conv2d(x, this.getParam('weight')!, this.getParam('bias'), { stride: this.stride, padding: this.padding, dilation: this.dilation, activation: this.activation, maxPool: this.maxPool });
  }

  override extraRepr(): string {
    const [kh, kw] = this.kernelSize;
    let s = `${this.inChannels}, ${this.outChannels}, kernel=${kh}x${kw}`;
    if (this.stride.some((v) => v !== 1)) s += `, stride=${this.stride.join('x')}`;
    if (this.padding.some((v) => v !== 0)) s += `, padding=${this.padding.join('x')}`;
    if (this.dilation.some((v) => v !== 1)) s += `, dilation=${this.dilation.join('x')}`;
    s += `, bias=${this.parameter('bias') !== null}`;
    if (this.activation) s += `, activation=${this.activation}`;
    if (this.maxPool) {
      const { kernel, stride = kernel, padding = 0 } = this.maxPool;
      s += `, maxPool=kernel ${showPair(kernel)} stride ${showPair(stride)}${padding !== 0 ? ` padding ${showPair(padding)}` : ''}`;
    }
    return s;
  }
}
