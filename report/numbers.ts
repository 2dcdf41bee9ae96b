/** How the report prints its figures: one place, so tables, captions and plots agree. */

const DASH = '—';

/** A fraction in [0, 1] as a percentage with `digits` decimals, e.g. 0.9781 → '97.81'. */
export function percent(fraction: number | null | undefined, digits = 2): string {
  return fraction === null || fraction === undefined || !Number.isFinite(fraction) ? DASH : (100 * fraction).toFixed(digits);
}

/** A sparsity (fraction) as a percentage without needless decimals: 0.5 → '50%', 0.875 → '87.5%'. */
export function sparsityLabel(fraction: number): string {
  const p = 100 * fraction;
  return `${Number.isInteger(Math.round(p * 10) / 10) ? p.toFixed(0) : p.toFixed(1)}%`;
}

/** Three significant figures without exponent for ordinary magnitudes: 0.01234 → '0.0123', 123.4 → '123'. */
export function sig3(x: number): string {
  if (!Number.isFinite(x)) return DASH;
  const a = Math.abs(x);
  if (a === 0) return '0';
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  if (a >= 0.001) return x.toPrecision(3);
  return x.toExponential(2);
}

/** Seconds as milliseconds with three significant figures: 0.012345 → '12.3'. */
export function ms(seconds: number): string {
  return sig3(seconds * 1000);
}

/** A ratio such as a speedup: 1.234 → '1.23×'. */
export function times(ratio: number | null | undefined): string {
  return ratio === null || ratio === undefined || !Number.isFinite(ratio) ? DASH : `${ratio >= 100 ? ratio.toFixed(0) : ratio.toFixed(2)}×`;
}

/** A plain ratio such as a realization: 0.4567 → '0.46'. */
export function ratio(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? DASH : x.toFixed(2);
}

/** A byte count in binary units: 1536 → '1.50 KiB'. */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024, u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${sig3(v)} ${units[u]}`;
}

/** A FLOP count with an SI prefix: 172800 → '173 kFLOP'. */
export function flops(n: number): string {
  if (!Number.isFinite(n)) return DASH;
  const prefixes: Array<[number, string]> = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [scale, p] of prefixes) if (Math.abs(n) >= scale) return `${sig3(n / scale)} ${p}FLOP`;
  return `${n} FLOP`;
}

/** An integer with thousands separators: 30840 → '30,840'. */
export function count(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : DASH;
}

/** A relative error such as max |y − y_ref| / max |y_ref|: '3.0e-7'. */
export function relError(x: number | null): string {
  return x === null || !Number.isFinite(x) ? DASH : x === 0 ? '0' : x.toExponential(1);
}

/** A shape as 'a×b×c'. */
export function shape(dims: number[]): string {
  return dims.join('×');
}

/** Seconds as a human duration: 2520 → '42 min 0 s'. */
export function duration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60), s = Math.round(seconds - 60 * m);
  if (m < 60) return `${m} min ${s} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export { DASH };
