/**
 * How much to prune, with torch.nn.utils.prune's rules.
 *
 * torch tells a count from a fraction by the Python type: `amount=3` prunes three
 * entries, `amount=0.3` prunes round(0.3 × n) with Python's round (half to even).
 * JavaScript has one number type, so a plain number is read the same way torch
 * reads its literal: an integer is a count, anything else a fraction. The only
 * literal that reads differently is `1.0` (torch: everything; JS: the integer 1):
 * pass `{ fraction: 1 }` to prune everything, or `{ count: n }` to be explicit.
 */

export type Amount = number | { fraction: number } | { count: number };

export interface NormalizedAmount {
  kind: 'fraction' | 'count';
  value: number;
}

/** Checks an amount on its own (torch's `_validate_pruning_amount_init`). */
export function normalizeAmount(amount: Amount, where = 'prune'): NormalizedAmount {
  let kind: 'fraction' | 'count';
  let value: number;
  if (typeof amount === 'number') {
    kind = Number.isInteger(amount) ? 'count' : 'fraction';
    value = amount;
  } else if (amount && typeof amount === 'object' && 'fraction' in amount) {
    kind = 'fraction';
    value = amount.fraction;
  } else if (amount && typeof amount === 'object' && 'count' in amount) {
    kind = 'count';
    value = amount.count;
  } else {
    throw new TypeError(`${where}: amount must be a number, { fraction } or { count }, got ${JSON.stringify(amount)}`);
  }
  if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError(`${where}: amount must be a real number, got ${String(value)}`);
  if (kind === 'count' && (!Number.isInteger(value) || value < 0)) {
    throw new RangeError(`${where}: amount=${value} should either be a fraction in the range [0, 1] or a non-negative integer count`);
  }
  if (kind === 'fraction' && !(value >= 0 && value <= 1)) {
    throw new RangeError(`${where}: amount=${value} should either be a fraction in the range [0, 1] or a non-negative integer count`);
  }
  return { kind, value };
}

/** Python 3's round(): nearest integer, ties to even. */
export function pythonRound(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Number of units to prune out of `size` (torch's `_compute_nparams_toprune`
 * followed by `_validate_pruning_amount`): a count above `size` is an error.
 */
export function unitsToPrune(amount: Amount | NormalizedAmount, size: number, where = 'prune'): number {
  const a = isNormalized(amount) ? amount : normalizeAmount(amount, where);
  if (a.kind === 'count') {
    if (a.value > size) {
      throw new RangeError(`${where}: amount=${a.value} should be smaller than the number of parameters to prune=${size}`);
    }
    return a.value;
  }
  return pythonRound(a.value * size);
}

function isNormalized(a: Amount | NormalizedAmount): a is NormalizedAmount {
  return typeof a === 'object' && a !== null && 'kind' in a;
}

/** Checks a target sparsity (a fraction in [0, 1]) used by the high-level API and schedules. */
export function checkSparsity(s: number, where: string): number {
  if (typeof s !== 'number' || !(s >= 0 && s <= 1)) throw new RangeError(`${where}: sparsity must be a fraction in [0, 1], got ${String(s)}`);
  return s;
}
