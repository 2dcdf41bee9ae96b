/**
 * Weights and masks for the sparse benchmark: random unstructured masks, block
 * masks aligned to a BSR block shape, and magnitude pruning of weights whose rows
 * have uneven scales (so the pruned rows have uneven lengths, as in trained nets).
 */
import { Generator } from '../engine/random.js';

export type MaskKind = 'random' | 'block' | 'magnitude';

/** Normal weights; for 'magnitude' each row is scaled by a log-normal factor. */
export function benchWeights(rows: number, cols: number, seed: number, rowScaled: boolean): Float32Array {
  const g = new Generator(seed);
  const w = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const s = rowScaled ? Math.exp(0.75 * g.normal()) : 1;
    for (let c = 0; c < cols; c++) w[r * cols + c] = s * g.normal();
  }
  return w;
}

/** Keeps a random `density` fraction of the entries. */
export function randomMask(w: Float32Array, density: number, seed: number): Float32Array {
  const g = new Generator(seed);
  return w.map((v) => (g.uniform() < density ? v : 0));
}

/** Keeps a random `density` fraction of the r×c blocks (whole blocks). */
export function blockMask(w: Float32Array, rows: number, cols: number, [r, c]: readonly [number, number], density: number, seed: number): Float32Array {
  const g = new Generator(seed);
  const br = Math.ceil(rows / r), bc = Math.ceil(cols / c);
  const keep = Array.from({ length: br * bc }, () => g.uniform() < density);
  return w.map((v, i) => (keep[Math.floor(Math.floor(i / cols) / r) * bc + Math.floor((i % cols) / c)] ? v : 0));
}

/** Keeps the `density` fraction of entries of largest magnitude (one global threshold). */
export function magnitudeMask(w: Float32Array, density: number): Float32Array {
  if (density >= 1) return w.slice();
  const mags = Float32Array.from(w, Math.abs).sort();
  const k = Math.floor((1 - density) * w.length);
  const threshold = mags[Math.min(k, mags.length - 1)]!;
  return w.map((v) => (Math.abs(v) >= threshold ? v : 0));
}
