/** Summaries over seeds: arithmetic mean and sample standard deviation for accuracies, geometric mean for ratios. */

export function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, x) => a + x, 0) / xs.length : NaN;
}

/** Sample standard deviation (n − 1 in the denominator); NaN for fewer than two values. */
export function sampleStd(xs: number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/** Geometric mean of positive values (the mean that keeps speedup / FLOP speedup = realization). */
export function geomean(xs: number[]): number {
  const pos = xs.filter((x) => x > 0);
  return pos.length ? Math.exp(pos.reduce((a, x) => a + Math.log(x), 0) / pos.length) : NaN;
}

/** Median of the values (NaN when empty). */
export function median(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
