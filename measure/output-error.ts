/**
 * How far an output is from a reference output: max |x − ref| / max |ref| (plain max |x − ref|
 * when the reference is all zeros). A NaN anywhere makes it Infinity, as do different lengths.
 * The study, its second runtime and the browser page's peers all check outputs this way.
 */
export function outputError(x: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (x.length !== ref.length) return Infinity;
  let scale = 0, worst = 0;
  for (let i = 0; i < ref.length; i++) {
    scale = Math.max(scale, Math.abs(ref[i]!));
    const d = Math.abs(x[i]! - ref[i]!);
    worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
  }
  return scale > 0 ? worst / scale : worst;
}
