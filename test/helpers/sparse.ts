/** Random sparse test matrices with the awkward structures the kernels must survive. */
import { Generator } from '../../index.js';

export type Pattern = 'random' | 'empty-rows' | 'long-row' | 'zero' | 'full' | 'blocks';

/** A dense [rows, cols] matrix with about `density` non-zeros arranged by `pattern`. */
export function randomSparse(rows: number, cols: number, density: number, pattern: Pattern, seed: number): Float32Array {
  const g = new Generator(seed);
  const a = new Float32Array(rows * cols);
  const val = () => g.normal() || 1;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let keep: boolean;
      switch (pattern) {
        case 'zero': keep = false; break;
        case 'full': keep = true; break;
        case 'empty-rows': keep = r % 3 !== 1 && g.uniform() < density; break;
        case 'long-row': keep = r === Math.floor(rows / 2) || g.uniform() < density; break;
        case 'blocks': keep = ((Math.floor(r / 4) * 7 + Math.floor(c / 4) * 3) % 5 === 0) && g.uniform() < 0.9; break;
        default: keep = g.uniform() < density;
      }
      if (keep) a[r * cols + c] = val();
    }
  }
  return a;
}

export function randomDense(n: number, seed: number): Float32Array {
  const g = new Generator(seed);
  return Float32Array.from({ length: n }, () => g.normal());
}

/** y[b, r] = Σ_c A[r, c] x[b, c] + bias[r] in float64. */
export function denseLinear(a: Float32Array, rows: number, cols: number, x: Float32Array, batch: number, bias?: Float32Array): Float64Array {
  const y = new Float64Array(batch * rows);
  for (let b = 0; b < batch; b++)
    for (let r = 0; r < rows; r++) {
      let acc = bias ? bias[r]! : 0;
      for (let c = 0; c < cols; c++) acc += a[r * cols + c]! * x[b * cols + c]!;
      y[b * rows + r] = acc;
    }
  return y;
}
