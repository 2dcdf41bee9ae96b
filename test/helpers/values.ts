/** Random input values for the op tests: seeded draws per element, and inputs built from them. */
import type { Generator } from '../../index.js';
import type { InputSpec } from './backends.js';

export type Values = (g: Generator) => number;
export const normal: Values = (g) => g.normal();
/** Bases for log, sqrt and pow: well inside the domain. */
export const positive: Values = (g) => 0.25 + 2 * g.uniform();
/** |x| ≥ 0.25: keeps reciprocals bounded and keeps away from the kinks of abs/relu/sign. */
export const awayFromZero: Values = (g) => {
  const v = g.normal();
  return v < 0 ? v - 0.25 : v + 0.25;
};
/** Small integers: ties for comparisons, argmax and max/min. */
export const smallInts: Values = (g) => g.int(5) - 2;
/** Conditions for where(). */
export const bits: Values = (g) => g.int(2);

export const sizeOf = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/** An input of `shape` filled with draws of `values`. */
export function input(g: Generator, shape: readonly number[], values: Values = normal, requiresGrad = true): InputSpec {
  return { shape: [...shape], data: Float32Array.from({ length: sizeOf(shape) }, () => values(g)), requiresGrad };
}
