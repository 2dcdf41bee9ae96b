/**
 * Loss functions (torch.nn.CrossEntropyLoss, torch.nn.MSELoss). They hold no
 * parameters, so they are plain objects with `forward(input, target)` rather than
 * Modules (whose forward takes one tensor).
 */
import { crossEntropy, mean, mul, sub, sum, type Tensor } from '../engine/internal.js';

export type Reduction = 'mean' | 'sum' | 'none';

function checkReduction(op: string, r: string): Reduction {
  if (r !== 'mean' && r !== 'sum' && r !== 'none') throw new Error(`${op}: unknown reduction '${r}' (expected 'mean', 'sum' or 'none')`);
  return r;
}

/** Cross-entropy of logits [N, C] against integer class targets (a host array). */
export class CrossEntropyLoss {
  readonly reduction: Reduction;

  constructor(options: { reduction?: Reduction } = {}) {
    this.reduction = checkReduction('CrossEntropyLoss', options.reduction ?? 'mean');
  }

  forward(logits: Tensor, targets: ArrayLike<number>): Tensor {
    return crossEntropy(logits, targets, { reduction: this.reduction });
  }
}

/** Squared error (input − target)², averaged, summed or kept elementwise. */
export function mseLoss(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  const reduction = checkReduction('mseLoss', options.reduction ?? 'mean');
  if (input.shape.length !== target.shape.length || input.shape.some((d, i) => d !== target.shape[i])) {
    throw new Error(`mseLoss: input [${input.shape.join(', ')}] and target [${target.shape.join(', ')}] must have the same shape`);
  }
  const d = sub(input, target);
  const sq = mul(d, d);
  if (reduction === 'none') return sq;
  return reduction === 'sum' ? sum(sq) : mean(sq);
}

export class MSELoss {
  readonly reduction: Reduction;

  constructor(options: { reduction?: Reduction } = {}) {
    this.reduction = checkReduction('MSELoss', options.reduction ?? 'mean');
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target, { reduction: this.reduction });
  }
}
