/** Optimizer updates as in-place WGSL kernels (one thread per parameter element). */
import type { AdamConfig, SgdConfig } from '../gpu/types.js';
import type { GpuRuntime, GpuStorage } from '../gpu/runtime.js';
import { f32Bits, perElementMain, type Program } from '../gpu/program.js';

const WG = 256;

function sgdProgram(momentum: boolean, nesterov: boolean): Program {
  const outputs = momentum ? [{ name: 'p' }, { name: 'buf' }] : [{ name: 'p' }];
  return {
    key: `sgd:${momentum ? 'momentum' : 'plain'}${nesterov ? ':nesterov' : ''}`,
    inputs: [{ name: 'grad' }],
    outputs,
    workgroupSize: [WG],
    // params: size, lr, momentum, dampening, weightDecay, firstStep
    body: () => `
${perElementMain(`  var g = grad[i] + pf(4u) * p[i];
  ${momentum ? `let b = select(pf(2u) * buf[i] + (1.0 - pf(3u)) * g, g, pu(5u) == 1u);
  buf[i] = b;
  g = ${nesterov ? 'g + pf(2u) * b' : 'b'};` : ''}
  p[i] = p[i] - pf(1u) * g;`)}`,
  };
}

export function sgdStep(rt: GpuRuntime, p: GpuStorage, grad: GpuStorage, buf: GpuStorage | null, c: SgdConfig): void {
  const useMomentum = !!buf && c.momentum !== 0;
  const params = [p.size, f32Bits(c.lr), f32Bits(c.momentum), f32Bits(c.dampening), f32Bits(c.weightDecay), c.firstStep ? 1 : 0];
  rt.run(sgdProgram(useMomentum, useMomentum && c.nesterov), [grad], useMomentum ? [p, buf!] : [p], params, Math.ceil(p.size / WG));
}

function adamProgram(decoupled: boolean): Program {
  return {
    key: `adam:${decoupled ? 'decoupled' : 'l2'}`,
    inputs: [{ name: 'grad' }],
    outputs: [{ name: 'p' }, { name: 'm' }, { name: 'v' }],
    workgroupSize: [WG],
    // params: size, lr/bc1, beta1, beta2, eps, weightDecay, lr, 1/sqrt(bc2)
    body: () => `
${perElementMain(`  var g = grad[i];
  var w = p[i];
  ${decoupled ? 'w = w * (1.0 - pf(6u) * pf(5u));' : 'g = g + pf(5u) * w;'}
  let mi = pf(2u) * m[i] + (1.0 - pf(2u)) * g;
  let vi = pf(3u) * v[i] + (1.0 - pf(3u)) * g * g;
  m[i] = mi;
  v[i] = vi;
  p[i] = w - pf(1u) * (mi / (sqrt(vi) * pf(7u) + pf(4u)));`)}`,
  };
}

export function adamStep(rt: GpuRuntime, p: GpuStorage, grad: GpuStorage, m: GpuStorage, v: GpuStorage, c: AdamConfig): void {
  const bc1 = 1 - c.beta1 ** c.step;
  const bc2 = 1 - c.beta2 ** c.step;
  const params = [p.size, f32Bits(c.lr / bc1), f32Bits(c.beta1), f32Bits(c.beta2), f32Bits(c.eps), f32Bits(c.weightDecay), f32Bits(c.lr), f32Bits(1 / Math.sqrt(bc2))];
  rt.run(adamProgram(c.decoupled), [grad], [p, m, v], params, Math.ceil(p.size / WG));
}
