/**
 * Finite-difference gradient check on the CPU backend, which stores float64: inputs
 * go in as Float64Array, so nothing is rounded to float32 and central differences
 * with eps = 1e-6 are accurate to ~1e-9.
 */
import { expect } from 'vitest';
import { Generator, mul, noGrad, setBackend, sum, type Tensor, tensor, tidy } from '../../index.js';

export interface GradInput {
  shape: number[];
  data: Float64Array;
}

export interface GradcheckOptions {
  eps?: number;
  rtol?: number;
  atol?: number;
  /** Seed of the fixed random weighting of the output. */
  seed?: number;
}

/**
 * Checks the autograd gradient of L(xs) = Σ w ⊙ fn(xs) against central differences
 * for every element of every input. The random weights w keep symmetric outputs
 * (softmax, a mean-centred batch norm) from summing to a constant.
 */
export async function gradcheck(fn: (xs: Tensor[]) => Tensor, inputs: GradInput[], options: GradcheckOptions = {}): Promise<void> {
  const { eps = 1e-6, rtol = 1e-5, atol = 1e-7, seed = 7 } = options;
  setBackend('cpu');
  let weights: Float64Array | null = null;
  const loss = (xs: Tensor[]): Tensor => {
    const y = fn(xs);
    if (!weights) {
      const g = new Generator(seed);
      weights = Float64Array.from({ length: y.size }, () => g.normal());
    }
    return sum(mul(y, tensor(weights, y.shape)));
  };

  // Analytic gradients.
  const xs = inputs.map((s) => tensor(s.data, s.shape, { requiresGrad: true }));
  tidy(() => loss(xs).backward());
  // An input the gradient never reached has a zero gradient.
  const analytic = await Promise.all(xs.map((x) => (x.grad ? x.grad.toFloat64Array() : new Float64Array(x.size))));
  for (const x of xs) x.dispose();

  // Numeric gradients, one element at a time.
  const at = async (data: Float64Array[]): Promise<number> => {
    const t = tidy(() => noGrad(() => loss(data.map((d, i) => tensor(d, inputs[i]!.shape)))));
    const v = await t.item();
    t.dispose();
    return v;
  };
  for (const [i, input] of inputs.entries()) {
    for (let j = 0; j < input.data.length; j++) {
      const data = inputs.map((s) => s.data.slice());
      data[i]![j] = input.data[j]! + eps;
      const plus = await at(data);
      data[i]![j] = input.data[j]! - eps;
      const minus = await at(data);
      const numeric = (plus - minus) / (2 * eps);
      const a = analytic[i]![j]!;
      if (!(Math.abs(a - numeric) <= atol + rtol * Math.abs(numeric))) {
        expect.fail(`input ${i} ${JSON.stringify(input.shape)} element ${j}: autograd ${a}, finite difference ${numeric} (rtol ${rtol}, atol ${atol})`);
      }
    }
  }
}

/** Seeded float64 data generators for gradcheck inputs. */
export class Data {
  private g: Generator;
  constructor(seed = 1) {
    this.g = new Generator(seed);
  }

  /** Standard normal values. */
  normal(shape: number[], scale = 1): GradInput {
    return this.fill(shape, () => scale * this.g.normal());
  }

  /** Values in [lo, hi). */
  uniform(shape: number[], lo: number, hi: number): GradInput {
    return this.fill(shape, () => lo + (hi - lo) * this.g.uniform());
  }

  /** Normal values with |x| ≥ margin (away from the kinks of abs, relu, reciprocal at 0). */
  awayFromZero(shape: number[], margin = 0.2): GradInput {
    return this.fill(shape, () => {
      const v = this.g.normal();
      return v < 0 ? v - margin : v + margin;
    });
  }

  /**
   * Distinct values offset + step·k for shuffled k (no ties, gaps ≫ eps), for max,
   * min, maxPool2d, maximum and minimum.
   */
  distinct(shape: number[], step = 0.1, offset = 0): GradInput {
    const n = shape.reduce((p, d) => p * d, 1);
    const ks = Array.from({ length: n }, (_, k) => k - Math.floor(n / 2));
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.g.uniform() * (i + 1));
      [ks[i], ks[j]] = [ks[j]!, ks[i]!];
    }
    return { shape, data: Float64Array.from(ks, (k) => offset + step * k) };
  }

  private fill(shape: number[], f: () => number): GradInput {
    const n = shape.reduce((p, d) => p * d, 1);
    return { shape, data: Float64Array.from({ length: n }, f) };
  }
}
