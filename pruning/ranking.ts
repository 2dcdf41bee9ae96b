/**
 * Host-side selection of what to prune. Masks are computed rarely, so scores are
 * read back and sorted on the host (O(n log n), n ≤ a few hundred thousand).
 * Ties break by position (lower index first), which makes every selection
 * deterministic; torch's topk leaves tie order unspecified.
 */

/** The `k` candidates with the smallest scores (candidates: all indices when absent). */
export function smallestK(scores: ArrayLike<number>, k: number, candidates?: ArrayLike<number>): number[] {
  const idx = candidates ? Array.from(candidates) : Array.from({ length: scores.length }, (_, i) => i);
  if (k <= 0) return [];
  if (k > idx.length) throw new Error(`internal: asked for ${k} of ${idx.length} candidates`);
  idx.sort((a, b) => scores[a]! - scores[b]! || a - b);
  return idx.slice(0, k);
}

/** The `k` candidates with the largest scores. */
export function largestK(scores: ArrayLike<number>, k: number, candidates?: ArrayLike<number>): number[] {
  const idx = candidates ? Array.from(candidates) : Array.from({ length: scores.length }, (_, i) => i);
  if (k <= 0) return [];
  if (k > idx.length) throw new Error(`internal: asked for ${k} of ${idx.length} candidates`);
  idx.sort((a, b) => scores[b]! - scores[a]! || a - b);
  return idx.slice(0, k);
}

/** Generalised vector norm of `values` (torch.norm's p: any real, ±Infinity, 0 = count of non-zeros). */
export function lnNorm(values: ArrayLike<number>, p: number): number {
  let acc = p === Infinity ? 0 : p === -Infinity ? Infinity : 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]!);
    if (p === Infinity) acc = Math.max(acc, a);
    else if (p === -Infinity) acc = Math.min(acc, a);
    else if (p === 0) acc += a !== 0 ? 1 : 0;
    else if (p === 1) acc += a;
    else if (p === 2) acc += a * a;
    else acc += a ** p;
  }
  if (p === Infinity || p === -Infinity || p === 0 || p === 1) return acc;
  if (p === 2) return Math.sqrt(acc);
  return acc ** (1 / p);
}
