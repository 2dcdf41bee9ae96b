/** CPU reference for conv2d forward and both backward passes (direct loops, float64). */
import type { Conv2dGeometry } from '../backend.js';

/**
 * Visits every (output element, weight, input element) triple the convolution
 * multiplies — padding taps skipped — as flat indices into y, w and x.
 */
function forEachTap(g: Conv2dGeometry, visit: (yi: number, wi: number, xi: number) => void): void {
  let yi = 0;
  for (let n = 0; n < g.n; n++)
    for (let oc = 0; oc < g.oc; oc++)
      for (let oy = 0; oy < g.oh; oy++)
        for (let ox = 0; ox < g.ow; ox++, yi++)
          for (let c = 0; c < g.c; c++)
            for (let ky = 0; ky < g.kh; ky++) {
              const iy = oy * g.sh - g.ph + ky * g.dh;
              if (iy < 0 || iy >= g.h) continue;
              for (let kx = 0; kx < g.kw; kx++) {
                const ix = ox * g.sw - g.pw + kx * g.dw;
                if (ix < 0 || ix >= g.w) continue;
                visit(yi, ((oc * g.c + c) * g.kh + ky) * g.kw + kx, ((n * g.c + c) * g.h + iy) * g.w + ix);
              }
            }
}

/** y = conv(x, w) + bias, then ReLU when `relu`. */
export function conv2d(x: Float64Array, w: Float64Array, bias: Float64Array | null, g: Conv2dGeometry, relu = false): Float64Array {
  const out = new Float64Array(g.n * g.oc * g.oh * g.ow);
  if (bias) for (let i = 0; i < out.length; i++) out[i] = bias[Math.floor(i / (g.oh * g.ow)) % g.oc]!;
  forEachTap(g, (yi, wi, xi) => {
    out[yi]! += x[xi]! * w[wi]!;
  });
  if (relu) for (let i = 0; i < out.length; i++) out[i] = Math.max(out[i]!, 0);
  return out;
}

export function conv2dGradInput(gy: Float64Array, w: Float64Array, g: Conv2dGeometry): Float64Array {
  const gx = new Float64Array(g.n * g.c * g.h * g.w);
  forEachTap(g, (yi, wi, xi) => {
    gx[xi]! += gy[yi]! * w[wi]!;
  });
  return gx;
}

export function conv2dGradWeight(x: Float64Array, gy: Float64Array, g: Conv2dGeometry): Float64Array {
  const gw = new Float64Array(g.oc * g.c * g.kh * g.kw);
  forEachTap(g, (yi, wi, xi) => {
    gw[wi]! += gy[yi]! * x[xi]!;
  });
  return gw;
}
