/**
 * Split-K reduction: when the output is small and k large, the GEMM runs as S
 * independent k-slices writing partial sums [batch, S, m, n] (z = batch·S + slice),
 * and this kernel sums the slices and applies the fused epilogue.
 */
import { perElementMain, programFamily } from '../../gpu/program.js';

export interface SplitReduceConfig {
  /** n % 4 == 0: partials, output and bias are read as vec4. */
  vec: boolean;
  bias: boolean;
  relu: boolean;
}

const WG = 64;

export const splitReduceProgram = programFamily('matmul:splitk-reduce', (c: SplitReduceConfig) => {
  const t = c.vec ? 'array<vec4<f32>>' : undefined;
  const inputs = [{ name: 'Part', type: t }];
  if (c.bias) inputs.push({ name: 'Bias', type: t });
  const zero = c.vec ? 'vec4<f32>(0.0)' : '0.0';
  return {
    inputs,
    outputs: [{ name: 'C', type: t }],
    workgroupSize: [WG],
    // Elements (or vec4s) of the output, k-slices, elements per batch and per row (same unit).
    params: [['n', 'u32'], ['splits', 'u32'], ['mn', 'u32'], ['cols', 'u32']],
    body: () => `
${perElementMain(`  let S = P.splits; let MN = P.mn; let N = P.cols;
  let b = i / MN; let e = i % MN;
  var acc = ${zero};
  var at = b * S * MN + e;
  for (var s = 0u; s < S; s++) { acc += Part[at]; at += MN; }
  ${c.bias ? 'acc += Bias[e % N];' : ''}
  ${c.relu ? `acc = max(acc, ${zero});` : ''}
  C[i] = acc;`)}`,
  };
});

/** Workgroup count and params for a reduction of `batch` outputs of m×n. */
export function splitReduceLaunch(c: SplitReduceConfig, batch: number, m: number, n: number, splits: number): { params: { n: number; splits: number; mn: number; cols: number }; workgroups: number } {
  const unit = c.vec ? 4 : 1;
  const mn = (m * n) / unit;
  const total = batch * mn;
  return { params: { n: total, splits, mn, cols: n / unit }, workgroups: Math.ceil(total / WG) };
}
