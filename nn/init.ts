/**
 * Weight initialisation (torch.nn.init semantics), in place: each function draws
 * host values from a seedable `Generator` in row-major order and copies them into
 * the tensor, which keeps its identity. The same seed gives the same values on
 * every backend.
 */
import { defaultGenerator, type Generator, type Tensor, tensor } from '../engine/internal.js';

export type Nonlinearity = 'linear' | 'conv1d' | 'conv2d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';
export type FanMode = 'fanIn' | 'fanOut';

export interface InitOptions {
  generator?: Generator;
}

export interface KaimingOptions extends InitOptions {
  /** Negative slope of leaky_relu (default 0). */
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
}

/** Fan-in and fan-out of a weight shape: [out, in, ...receptive field] as PyTorch counts them. */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new Error(`init: fan-in and fan-out need at least 2 dimensions, got [${shape.join(', ')}]`);
  const receptive = shape.slice(2).reduce((p, d) => p * d, 1);
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

/** The recommended gain for a nonlinearity (torch.nn.init.calculate_gain). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv1d':
    case 'conv2d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new Error(`calculateGain: unknown nonlinearity '${String(nonlinearity)}'`);
  }
}

/** Replaces t's values with `values` (same backend, same identity). */
function fill(t: Tensor, values: Float32Array): Tensor {
  const src = tensor(values, t.shape, { backend: t.backend.name });
  t.assign(src);
  src.dispose();
  return t;
}

function draw(t: Tensor, sample: () => number): Tensor {
  const values = new Float32Array(t.size);
  for (let i = 0; i < values.length; i++) values[i] = sample();
  return fill(t, values);
}

/** U(low, high). */
export function uniform(t: Tensor, low = 0, high = 1, options: InitOptions = {}): Tensor {
  const g = options.generator ?? defaultGenerator;
  return draw(t, () => low + (high - low) * g.uniform());
}

/** N(mean, std²). */
export function normal(t: Tensor, mean = 0, std = 1, options: InitOptions = {}): Tensor {
  const g = options.generator ?? defaultGenerator;
  return draw(t, () => mean + std * g.normal());
}

export function constant(t: Tensor, value: number): Tensor {
  return fill(t, new Float32Array(t.size).fill(value));
}

export const zeros = (t: Tensor): Tensor => constant(t, 0);
export const ones = (t: Tensor): Tensor => constant(t, 1);

function kaimingStd(shape: readonly number[], o: KaimingOptions): number {
  const { a = 0, mode = 'fanIn', nonlinearity = 'leaky_relu' } = o;
  const f = fans(shape);
  const fan = mode === 'fanIn' ? f.fanIn : f.fanOut;
  return calculateGain(nonlinearity, a) / Math.sqrt(fan);
}

/**
 * He et al. uniform: U(−b, b) with b = gain·√(3/fan). With `a = √5` (what
 * nn.Linear and nn.Conv2d use) b = 1/√fan_in.
 */
export function kaimingUniform(t: Tensor, options: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(t.shape, options);
  return uniform(t, -bound, bound, options);
}

/** He et al. normal: N(0, (gain/√fan)²). */
export function kaimingNormal(t: Tensor, options: KaimingOptions = {}): Tensor {
  return normal(t, 0, kaimingStd(t.shape, options), options);
}

/** Glorot uniform: U(−b, b) with b = gain·√(6/(fan_in + fan_out)). */
export function xavierUniform(t: Tensor, gain = 1, options: InitOptions = {}): Tensor {
  const { fanIn, fanOut } = fans(t.shape);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(t, -bound, bound, options);
}

/** Glorot normal: N(0, gain²·2/(fan_in + fan_out)). */
export function xavierNormal(t: Tensor, gain = 1, options: InitOptions = {}): Tensor {
  const { fanIn, fanOut } = fans(t.shape);
  return normal(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)), options);
}

/**
 * PyTorch's default for nn.Linear / nn.Conv2d (reset_parameters): the weight from
 * kaiming_uniform(a = √5), i.e. U(−1/√fan_in, 1/√fan_in), then the bias from the
 * same bound. Draws the weight first, then the bias.
 */
export function defaultLayerInit(weight: Tensor, bias: Tensor | null, generator?: Generator): void {
  kaimingUniform(weight, { a: Math.sqrt(5), generator });
  if (bias) {
    const { fanIn } = fans(weight.shape);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform(bias, -bound, bound, { generator });
  }
}
