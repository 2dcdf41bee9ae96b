/**
 * Batch normalisation over every axis but 1 (channels), as
 * torch.nn.functional.batch_norm: training normalises with the biased batch
 * variance and updates the running variance with the unbiased one.
 */
import { fmtShape } from '../shape.js';
import { commonBackend, noGrad, type Tensor } from '../tensor.js';
import { add, addcmul, div, mul, sqrt, sub } from './elementwise.js';
import { mean } from './reduce.js';
import { reshape } from './shape.js';

export interface BatchNormOptions {
  training?: boolean;
  momentum?: number;
  eps?: number;
}

export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  options: BatchNormOptions = {},
): Tensor {
  const { training = false, momentum = 0.1, eps = 1e-5 } = options;
  commonBackend('batchNorm', [x, ...[runningMean, runningVar, weight, bias].filter((t): t is Tensor => !!t)]);
  if (x.rank < 2) throw new Error(`batchNorm: input must be [N, C, ...], got ${fmtShape(x.shape)}`);
  const c = x.shape[1]!;
  for (const [name, t] of [['runningMean', runningMean], ['runningVar', runningVar], ['weight', weight], ['bias', bias]] as const) {
    if (t && (t.rank !== 1 || t.shape[0] !== c)) throw new Error(`batchNorm: ${name} ${fmtShape(t.shape)} must be [${c}] for input ${fmtShape(x.shape)}`);
  }
  const axes = [...x.shape.keys()].filter((a) => a !== 1);
  const perChannel = x.shape.map((d, i) => (i === 1 ? d : 1));
  // Per-channel scale = weight / sqrt(var + eps) on [C] tensors, then one full-size pass (addcmul).
  const scaleOf = (v: Tensor) => {
    const invStd = rsqrtPlus(v, eps);
    return weight ? mul(invStd, weight) : invStd;
  };
  if (training) {
    const count = x.size / c;
    if (count <= 1) throw new Error(`batchNorm: training needs more than one value per channel, got input ${fmtShape(x.shape)}`);
    const m = mean(x, axes, true);
    const centered = sub(x, m);
    const v = mean(mul(centered, centered), axes, true);
    if (runningMean && runningVar) {
      noGrad(() => {
        runningMean.assign(add(mul(runningMean, 1 - momentum), mul(reshape(m, [c]), momentum)));
        runningVar.assign(add(mul(runningVar, 1 - momentum), mul(reshape(v, [c]), (momentum * count) / (count - 1))));
      });
    }
    return addcmul(bias ? reshape(bias, perChannel) : 0, centered, reshape(scaleOf(reshape(v, [c])), perChannel));
  }
  if (!runningMean || !runningVar) throw new Error('batchNorm: evaluation mode needs runningMean and runningVar');
  // As PyTorch's CPU kernel: y = x · α + β with α = weight / sqrt(var + eps), β = bias − mean · α.
  const alpha = scaleOf(runningVar);
  const beta = sub(bias ?? 0, mul(runningMean, alpha));
  return addcmul(reshape(beta, perChannel), x, reshape(alpha, perChannel));
}

/** 1 / sqrt(v + eps), elementwise. */
function rsqrtPlus(v: Tensor, eps: number): Tensor {
  return div(1, sqrt(add(v, eps)));
}
