/** CPU reference for the optimizer updates (PyTorch's formulas, float64). */
import type { AdamConfig, SgdConfig } from '../backend.js';

export function sgdStep(p: Float64Array, grad: Float64Array, buf: Float64Array | null, c: SgdConfig): void {
  for (let i = 0; i < p.length; i++) {
    let g = grad[i]! + c.weightDecay * p[i]!;
    if (buf && c.momentum !== 0) {
      buf[i] = c.firstStep ? g : c.momentum * buf[i]! + (1 - c.dampening) * g;
      g = c.nesterov ? g + c.momentum * buf[i]! : buf[i]!;
    }
    p[i] = p[i]! - c.lr * g;
  }
}

export function adamStep(p: Float64Array, grad: Float64Array, m: Float64Array, v: Float64Array, c: AdamConfig): void {
  const bc1 = 1 - c.beta1 ** c.step;
  const bc2 = 1 - c.beta2 ** c.step;
  for (let i = 0; i < p.length; i++) {
    let g = grad[i]!;
    if (c.decoupled) p[i] = p[i]! * (1 - c.lr * c.weightDecay);
    else g += c.weightDecay * p[i]!;
    m[i] = c.beta1 * m[i]! + (1 - c.beta1) * g;
    v[i] = c.beta2 * v[i]! + (1 - c.beta2) * g * g;
    const denom = Math.sqrt(v[i]!) / Math.sqrt(bc2) + c.eps;
    p[i] = p[i]! - (c.lr / bc1) * (m[i]! / denom);
  }
}
