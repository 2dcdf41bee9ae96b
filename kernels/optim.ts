/** Optimizer updates as in-place WGSL kernels (one thread per parameter element). */
import type { AdamConfig, SgdConfig } from '../gpu/types.js';
import type { GpuRuntime, GpuStorage } from '../gpu/runtime.js';
import { perElementMain, programFamily } from '../gpu/program.js';

const WG = 256;

const sgdProgram = programFamily('sgd', ({ momentum, nesterov }: { momentum: boolean; nesterov: boolean }) => ({
  inputs: [{ name: 'grad' }],
  outputs: momentum ? [{ name: 'p' }, { name: 'buf' }] : [{ name: 'p' }],
  workgroupSize: [WG],
  params: [['n', 'u32'], ['lr', 'f32'], ['momentum', 'f32'], ['dampening', 'f32'], ['weightDecay', 'f32'], ['firstStep', 'u32']],
  body: () => `
${perElementMain(`  var g = grad[i] + P.weightDecay * p[i];
  ${momentum ? `let b = select(P.momentum * buf[i] + (1.0 - P.dampening) * g, g, P.firstStep == 1u);
  buf[i] = b;
  g = ${nesterov ? 'g + P.momentum * b' : 'b'};` : ''}
  p[i] = p[i] - P.lr * g;`)}`,
}));

export function sgdStep(rt: GpuRuntime, p: GpuStorage, grad: GpuStorage, buf: GpuStorage | null, c: SgdConfig): void {
  const useMomentum = !!buf && c.momentum !== 0;
  const params = { n: p.size, lr: c.lr, momentum: c.momentum, dampening: c.dampening, weightDecay: c.weightDecay, firstStep: c.firstStep ? 1 : 0 };
  rt.run(sgdProgram({ momentum: useMomentum, nesterov: useMomentum && c.nesterov }), [grad], useMomentum ? [p, buf!] : [p], params, Math.ceil(p.size / WG));
}

// lrBc1 = lr / (1 − β1^t), rsqrtBc2 = 1 / sqrt(1 − β2^t).
const adamProgram = programFamily('adam', ({ decoupled }: { decoupled: boolean }) => ({
  inputs: [{ name: 'grad' }],
  outputs: [{ name: 'p' }, { name: 'm' }, { name: 'v' }],
  workgroupSize: [WG],
  params: [['n', 'u32'], ['lrBc1', 'f32'], ['beta1', 'f32'], ['beta2', 'f32'], ['eps', 'f32'], ['weightDecay', 'f32'], ['lr', 'f32'], ['rsqrtBc2', 'f32']],
  body: () => `
${perElementMain(`  var g = grad[i];
  var w = p[i];
  ${decoupled ? 'w = w * (1.0 - P.lr * P.weightDecay);' : 'g = g + P.weightDecay * w;'}
  let mi = P.beta1 * m[i] + (1.0 - P.beta1) * g;
  let vi = P.beta2 * v[i] + (1.0 - P.beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  p[i] = w - P.lrBc1 * (mi / (sqrt(vi) * P.rsqrtBc2 + P.eps));`)}`,
}));

export function adamStep(rt: GpuRuntime, p: GpuStorage, grad: GpuStorage, m: GpuStorage, v: GpuStorage, c: AdamConfig): void {
  const bc1 = 1 - c.beta1 ** c.step;
  const bc2 = 1 - c.beta2 ** c.step;
  const params = { n: p.size, lrBc1: c.lr / bc1, beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weightDecay, lr: c.lr, rsqrtBc2: 1 / Math.sqrt(bc2) };
  rt.run(adamProgram({ decoupled: c.decoupled }), [grad], [p, m, v], params, Math.ceil(p.size / WG));
}
