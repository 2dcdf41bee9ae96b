/**
 * Split-K reduction: when the output is small and k large, the GEMM runs as S
 * independent k-slices writing partial sums [batch, S, m, n] (z = batch·S + slice),
 * and this kernel sums the slices and applies the fused epilogue.
 */
import { perElementMain, type Program } from '../../gpu/program.js';

export interface SplitReduceConfig {
  /** n % 4 == 0: partials, output and bias are read as vec4. */
  vec: boolean;
  bias: boolean;
  relu: boolean;
}

const WG = 64;

export function splitReduceProgram(c: SplitReduceConfig): Program {
  const t = c.vec ? 'array<vec4<f32>>' : undefined;
  const inputs = [{ name: 'P', type: t }];
  if (c.bias) inputs.push({ name: 'Bias', type: t });
  const zero = c.vec ? 'vec4<f32>(0.0)' : '0.0';
  return {
    key: `matmul:splitk-reduce:${c.vec ? 'vec4' : 'f32'}:${c.bias ? 'bias' : 'nobias'}${c.relu ? '+relu' : ''}`,
    inputs,
    outputs: [{ name: 'C', type: t }],
    workgroupSize: [WG],
    // params: total (elements or vec4s of the output), splits, mn (per batch, same unit), n (same unit)
    body: () => `
${perElementMain(`  let S = pu(1u); let MN = pu(2u); let N = pu(3u);
  let b = i / MN; let e = i % MN;
  var acc = ${zero};
  var at = b * S * MN + e;
  for (var s = 0u; s < S; s++) { acc += P[at]; at += MN; }
  ${c.bias ? 'acc += Bias[e % N];' : ''}
  ${c.relu ? `acc = max(acc, ${zero});` : ''}
  C[i] = acc;`)}`,
  };
}

/** Workgroup count and params for a reduction of `batch` outputs of m×n. */
export function splitReduceLaunch(c: SplitReduceConfig, batch: number, m: number, n: number, splits: number): { params: number[]; workgroups: number } {
  const unit = c.vec ? 4 : 1;
  const mn = (m * n) / unit;
  const total = batch * mn;
  return { params: [total, splits, mn, n / unit], workgroups: Math.ceil(total / WG) };
}
