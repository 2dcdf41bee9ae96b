/** Reading importance scores (a tensor or host values) for the torch-compatible functions. */
import { Tensor } from '../engine/internal.js';

export type Scores = Tensor | ArrayLike<number>;

/** Host values of `scores`, checked to have `size` entries (and the shape, for a tensor). */
export async function scoreValues(scores: Scores, shape: readonly number[], where: string): Promise<Float32Array | Float64Array> {
  const size = shape.reduce((a, b) => a * b, 1);
  if (scores instanceof Tensor) {
    if (scores.shape.length !== shape.length || scores.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`${where}: importance scores have shape [${scores.shape.join(', ')}], the parameter has [${shape.join(', ')}]`);
    }
    return scores.toFloat64Array();
  }
  if (scores.length !== size) throw new Error(`${where}: importance scores have ${scores.length} entries, the parameter has ${size}`);
  return Float64Array.from(scores);
}

/** For each flat index of a tensor of `shape`, its index along `dim`. */
export function indexAlong(shape: readonly number[], dim: number): Int32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  let stride = 1;
  for (let d = dim + 1; d < shape.length; d++) stride *= shape[d]!;
  const n = shape[dim]!;
  const out = new Int32Array(size);
  for (let i = 0; i < size; i++) out[i] = Math.floor(i / stride) % n;
  return out;
}

/** Normalises a possibly negative `dim` for a tensor of `rank`; throws like torch for a dim that does not exist. */
export function checkDim(dim: number, shape: readonly number[], where: string): number {
  const rank = shape.length;
  if (!Number.isInteger(dim)) throw new TypeError(`${where}: dim must be an integer, got ${String(dim)}`);
  if (dim >= rank || dim < -rank) {
    throw new RangeError(`${where}: invalid dim ${dim} for a parameter of shape [${shape.join(', ')}] (valid: ${-rank} … ${rank - 1})`);
  }
  return dim < 0 ? dim + rank : dim;
}
