/** CPU reference for max and average 2-D pooling, forward and backward (float64). */
import type { Pool2dGeometry } from '../backend.js';

/** Visits each output window: `fn(plane, outIndex, y0, x0)` with the window's top-left input coordinate. */
function forEachWindow(g: Pool2dGeometry, fn: (plane: number, o: number, y0: number, x0: number) => void): void {
  let o = 0;
  for (let plane = 0; plane < g.n * g.c; plane++)
    for (let oy = 0; oy < g.oh; oy++)
      for (let ox = 0; ox < g.ow; ox++) fn(plane, o++, oy * g.sh - g.ph, ox * g.sw - g.pw);
}

export function maxPool2d(x: Float64Array, g: Pool2dGeometry): { out: Float64Array; argmax: Float64Array } {
  const size = g.n * g.c * g.oh * g.ow;
  const out = new Float64Array(size);
  const argmax = new Float64Array(size);
  forEachWindow(g, (plane, o, y0, x0) => {
    let best = -Infinity;
    let bestIdx = -1;
    scan: for (let ky = 0; ky < g.kh; ky++) {
      const iy = y0 + ky;
      if (iy < 0 || iy >= g.h) continue;
      for (let kx = 0; kx < g.kw; kx++) {
        const ix = x0 + kx;
        if (ix < 0 || ix >= g.w) continue;
        const v = x[plane * g.h * g.w + iy * g.w + ix]!;
        // First maximum wins (as in PyTorch); NaN propagates.
        if (v > best || Number.isNaN(v) || bestIdx < 0) {
          best = v;
          bestIdx = iy * g.w + ix;
          if (Number.isNaN(v)) break scan;
        }
      }
    }
    out[o] = best;
    argmax[o] = bestIdx;
  });
  return { out, argmax };
}

export function maxPool2dGrad(gy: Float64Array, argmax: Float64Array, g: Pool2dGeometry): Float64Array {
  const gx = new Float64Array(g.n * g.c * g.h * g.w);
  forEachWindow(g, (plane, o) => {
    const idx = argmax[o]!;
    if (idx >= 0) gx[plane * g.h * g.w + idx]! += gy[o]!;
  });
  return gx;
}

/** Divisor of a window: full kernel area when padding counts, else the in-bounds part (PyTorch's rule: windows are clipped to the padded input first). */
function windowDivisor(g: Pool2dGeometry, y0: number, x0: number, countIncludePad: boolean): number {
  const yEnd = Math.min(y0 + g.kh, g.h + g.ph);
  const xEnd = Math.min(x0 + g.kw, g.w + g.pw);
  if (countIncludePad) return (yEnd - y0) * (xEnd - x0);
  return (Math.min(yEnd, g.h) - Math.max(y0, 0)) * (Math.min(xEnd, g.w) - Math.max(x0, 0));
}

export function avgPool2d(x: Float64Array, g: Pool2dGeometry, countIncludePad: boolean): Float64Array {
  const out = new Float64Array(g.n * g.c * g.oh * g.ow);
  forEachWindow(g, (plane, o, y0, x0) => {
    let acc = 0;
    for (let iy = Math.max(y0, 0); iy < Math.min(y0 + g.kh, g.h); iy++)
      for (let ix = Math.max(x0, 0); ix < Math.min(x0 + g.kw, g.w); ix++) acc += x[plane * g.h * g.w + iy * g.w + ix]!;
    out[o] = acc / windowDivisor(g, y0, x0, countIncludePad);
  });
  return out;
}

export function avgPool2dGrad(gy: Float64Array, g: Pool2dGeometry, countIncludePad: boolean): Float64Array {
  const gx = new Float64Array(g.n * g.c * g.h * g.w);
  forEachWindow(g, (plane, o, y0, x0) => {
    const share = gy[o]! / windowDivisor(g, y0, x0, countIncludePad);
    for (let iy = Math.max(y0, 0); iy < Math.min(y0 + g.kh, g.h); iy++)
      for (let ix = Math.max(x0, 0); ix < Math.min(x0 + g.kw, g.w); ix++) gx[plane * g.h * g.w + iy * g.w + ix]! += share;
  });
  return gx;
}
