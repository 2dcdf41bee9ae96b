/** CPU reference for conv2d forward and both backward passes (direct loops, float64). */
import type { Conv2dGeometry } from '../backend.js';

export function conv2d(x: Float64Array, w: Float64Array, bias: Float64Array | null, g: Conv2dGeometry): Float64Array {
  const out = new Float64Array(g.n * g.oc * g.oh * g.ow);
  let o = 0;
  for (let n = 0; n < g.n; n++)
    for (let oc = 0; oc < g.oc; oc++)
      for (let oy = 0; oy < g.oh; oy++)
        for (let ox = 0; ox < g.ow; ox++) {
          let acc = bias ? bias[oc]! : 0;
          for (let c = 0; c < g.c; c++)
            for (let ky = 0; ky < g.kh; ky++) {
              const iy = oy * g.sh - g.ph + ky * g.dh;
              if (iy < 0 || iy >= g.h) continue;
              for (let kx = 0; kx < g.kw; kx++) {
                const ix = ox * g.sw - g.pw + kx * g.dw;
                if (ix < 0 || ix >= g.w) continue;
                acc += x[((n * g.c + c) * g.h + iy) * g.w + ix]! * w[((oc * g.c + c) * g.kh + ky) * g.kw + kx]!;
              }
            }
          out[o++] = acc;
        }
  return out;
}

export function conv2dGradInput(gy: Float64Array, w: Float64Array, g: Conv2dGeometry): Float64Array {
  const gx = new Float64Array(g.n * g.c * g.h * g.w);
  for (let n = 0; n < g.n; n++)
    for (let oc = 0; oc < g.oc; oc++)
      for (let oy = 0; oy < g.oh; oy++)
        for (let ox = 0; ox < g.ow; ox++) {
          const gv = gy[((n * g.oc + oc) * g.oh + oy) * g.ow + ox]!;
          if (gv === 0) continue;
          for (let c = 0; c < g.c; c++)
            for (let ky = 0; ky < g.kh; ky++) {
              const iy = oy * g.sh - g.ph + ky * g.dh;
              if (iy < 0 || iy >= g.h) continue;
              for (let kx = 0; kx < g.kw; kx++) {
                const ix = ox * g.sw - g.pw + kx * g.dw;
                if (ix < 0 || ix >= g.w) continue;
                gx[((n * g.c + c) * g.h + iy) * g.w + ix]! += gv * w[((oc * g.c + c) * g.kh + ky) * g.kw + kx]!;
              }
            }
        }
  return gx;
}

export function conv2dGradWeight(x: Float64Array, gy: Float64Array, g: Conv2dGeometry): Float64Array {
  const gw = new Float64Array(g.oc * g.c * g.kh * g.kw);
  for (let n = 0; n < g.n; n++)
    for (let oc = 0; oc < g.oc; oc++)
      for (let oy = 0; oy < g.oh; oy++)
        for (let ox = 0; ox < g.ow; ox++) {
          const gv = gy[((n * g.oc + oc) * g.oh + oy) * g.ow + ox]!;
          if (gv === 0) continue;
          for (let c = 0; c < g.c; c++)
            for (let ky = 0; ky < g.kh; ky++) {
              const iy = oy * g.sh - g.ph + ky * g.dh;
              if (iy < 0 || iy >= g.h) continue;
              for (let kx = 0; kx < g.kw; kx++) {
                const ix = ox * g.sw - g.pw + kx * g.dw;
                if (ix < 0 || ix >= g.w) continue;
                gw[((oc * g.c + c) * g.kh + ky) * g.kw + kx]! += gv * x[((n * g.c + c) * g.h + iy) * g.w + ix]!;
              }
            }
        }
  return gw;
}
