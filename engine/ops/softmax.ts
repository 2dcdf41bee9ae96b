/** Softmax family and cross-entropy, composed from primitives (autograd comes for free). */
import { fmtShape, normAxis } from '../shape.js';
import { commonBackend, Tensor } from '../tensor.js';
import { div, exp, log, mul, neg, sub } from './elementwise.js';
import { max, mean, sum } from './reduce.js';

/** log(softmax(x)) computed stably: (x − m) − log Σ exp(x − m), m the (constant) row max. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const a = normAxis('logSoftmax', axis, x.rank);
  const shifted = sub(x, max(x, a, true).detach());
  return sub(shifted, log(sum(exp(shifted), a, true)));
}

export function softmax(x: Tensor, axis = -1): Tensor {
  const a = normAxis('softmax', axis, x.rank);
  const e = exp(sub(x, max(x, a, true).detach()));
  return div(e, sum(e, a, true));
}

export type Reduction = 'mean' | 'sum' | 'none';

/**
 * Cross-entropy between logits [N, C] and integer class targets, as
 * torch.nn.functional.cross_entropy. Targets are a host array (labels come from
 * the data loader); they are validated before anything is launched.
 */
export function crossEntropy(logits: Tensor, targets: ArrayLike<number>, options: { reduction?: Reduction } = {}): Tensor {
  const reduction = options.reduction ?? 'mean';
  if (logits instanceof Tensor === false) throw new Error('crossEntropy: logits must be a Tensor');
  if (targets instanceof Tensor) {
    throw new Error('crossEntropy: targets must be a host array of class indices (Int32Array, number[], …), not a Tensor; read it with await t.toArray()');
  }
  if (logits.rank !== 2) throw new Error(`crossEntropy: logits must be [N, C], got ${fmtShape(logits.shape)}`);
  const [n, c] = logits.shape as [number, number];
  if (n === 0) throw new Error('crossEntropy: empty batch (N = 0)');
  if (targets.length !== n) throw new Error(`crossEntropy: ${targets.length} targets for ${n} rows of logits ${fmtShape(logits.shape)}`);
  if (!['mean', 'sum', 'none'].includes(reduction)) throw new Error(`crossEntropy: unknown reduction '${reduction}'`);
  const onehot = new Float32Array(n * c);
  for (let i = 0; i < n; i++) {
    const t = targets[i]!;
    if (Number.isNaN(t)) throw new Error(`crossEntropy: target ${i} is NaN`);
    if (!Number.isInteger(t) || t < 0 || t >= c) throw new Error(`crossEntropy: target ${i} = ${t} is not a class index in [0, ${c})`);
    onehot[i * c + t] = 1;
  }
  const backend = commonBackend('crossEntropy', [logits]);
  const mask = Tensor.fromStorage(backend, backend.upload(onehot), [n, c]);
  const perRow = neg(sum(mul(logSoftmax(logits, 1), mask), 1));
  if (reduction === 'none') return perRow;
  return reduction === 'sum' ? sum(perRow) : mean(perRow);
}
