/**
 * CPU references for the sparse primitives: plain loops over the stored entries,
 * float64 accumulation. They define what the WebGPU kernels must compute.
 */
import type { Conv2dGeometry } from '../backend.js';
import type { SparseMatrix } from '../../formats/bsr.js';
import { forEachEntry } from '../../formats/entries.js';

/** y[b, r] = bias[r] + Σ_c W[r, c] · x[b, c]. */
export function sparseMatmul(w: SparseMatrix, x: Float64Array, bias: Float64Array | null, batch: number): Float64Array {
  const { rows, cols } = w;
  const y = new Float64Array(batch * rows);
  if (bias) for (let b = 0; b < batch; b++) y.set(bias, b * rows);
  forEachEntry(w, (r, c, v) => {
    if (v === 0) return;
    for (let b = 0; b < batch; b++) y[b * rows + r]! += v * x[b * cols + c]!;
  });
  return y;
}

/**
 * Direct sparse convolution: each stored weight (o, ci, ky, kx) — column
 * ci·kh·kw + ky·kw + kx of W — adds v · (a shifted input plane) to output plane o.
 */
export function sparseConv2d(w: SparseMatrix, x: Float64Array, bias: Float64Array | null, g: Conv2dGeometry): Float64Array {
  const { n, c, h, w: wd, oc, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow } = g;
  const y = new Float64Array(n * oc * oh * ow);
  if (bias) for (let b = 0; b < n; b++) for (let o = 0; o < oc; o++) y.fill(bias[o]!, (b * oc + o) * oh * ow, (b * oc + o + 1) * oh * ow);
  forEachEntry(w, (o, col, v) => {
    if (v === 0) return;
    const ci = Math.floor(col / (kh * kw)), ky = Math.floor(col / kw) % kh, kx = col % kw;
    for (let b = 0; b < n; b++) {
      const xp = (b * c + ci) * h * wd, yp = (b * oc + o) * oh * ow;
      for (let oy = 0; oy < oh; oy++) {
        const iy = oy * sh - ph + ky * dh;
        if (iy < 0 || iy >= h) continue;
        for (let ox = 0; ox < ow; ox++) {
          const ix = ox * sw - pw + kx * dw;
          if (ix >= 0 && ix < wd) y[yp + oy * ow + ox]! += v * x[xp + iy * wd + ix]!;
        }
      }
    }
  });
  return y;
}
