/**
 * Rank-generic strided addressing for the per-element kernels (copies, binary ops, where).
 *
 * The host simplifies the launch before any WGSL is chosen: size-1 dimensions are dropped
 * and neighbouring dimensions that every view walks contiguously are merged (so a
 * [N, C, H, W] × [1, C, 1, 1] broadcast becomes [N, C, H·W], a plain add one flat
 * dimension). A view that walks the simplified shape in row-major order is read at
 * `offset + i` with no index arithmetic at all; the others decompose `i` with one
 * division per dimension but the outermost. Those divisions are done in float
 * arithmetic, exact under the bounds `udivWgsl` states: llvmpipe runs u32 division one
 * lane at a time, float division across the whole SIMD vector.
 *
 * Params layout: [size, rank, shape[rank], then for each view: offset, strides[rank]].
 * The simplified rank, the flat views and the division variant are baked into the program
 * (pipelines are cached per `key`).
 */
import type { StridedView } from '../engine/backend.js';

/** Float division is exact for dividends below 2^30 and divisors below 2^23 (see `udivWgsl`). */
const FLOAT_DIVIDEND_LIMIT = 2 ** 30;
const FLOAT_DIVISOR_LIMIT = 2 ** 23;

export interface StridedLaunch {
  /** The params array (layout above) for the simplified shape and views. */
  params: number[];
  /** Total element count. */
  size: number;
  /** Rank after dropping size-1 dimensions and merging contiguous ones. */
  rank: number;
  /** Per view: true when it is read at `offset + i`. */
  flat: boolean[];
  /** Whether index divisions go through float arithmetic (else u32 `/` and `%`). */
  floatDivision: boolean;
  /** Program-key suffix naming everything baked into the WGSL. */
  key: string;
}

/** Drops size-1 dimensions and merges dimension d into d+1 where every view allows it. */
export function simplifyStrided(shape: readonly number[], views: readonly StridedView[]): { shape: number[]; strides: number[][] } {
  const dims: number[] = [];
  const strides: number[][] = views.map(() => []);
  shape.forEach((d, axis) => {
    if (d === 1) return;
    const last = dims.length - 1;
    const mergeable = last >= 0 && views.every((v, k) => strides[k]![last] === v.strides[axis]! * d);
    if (mergeable) {
      dims[last] = dims[last]! * d;
      views.forEach((v, k) => { strides[k]![last] = v.strides[axis]!; });
    } else {
      dims.push(d);
      views.forEach((v, k) => strides[k]!.push(v.strides[axis]!));
    }
  });
  return { shape: dims, strides };
}

export function stridedLaunch(shape: readonly number[], views: readonly StridedView[]): StridedLaunch {
  const size = shape.reduce((p, d) => p * d, 1);
  const s = simplifyStrided(shape, views);
  const rank = s.shape.length;
  const rowMajor = s.shape.map((_, i) => s.shape.slice(i + 1).reduce((p, d) => p * d, 1));
  const flat = s.strides.map((st) => st.every((x, i) => x === rowMajor[i]));
  const floatDivision = size < FLOAT_DIVIDEND_LIMIT && s.shape.every((d) => d < FLOAT_DIVISOR_LIMIT);
  const params = [size, rank, ...s.shape];
  views.forEach((v, k) => params.push(v.offset, ...s.strides[k]!));
  const key = `r${rank}:${flat.map((f) => (f ? 'f' : 's')).join('')}${floatDivision ? '' : ':idiv'}`;
  return { params, size, rank, flat, floatDivision, key };
}

/**
 * WGSL `udiv(a, b)` = floor(a / b), exact for a < 2^30 and 1 ≤ b < 2^23: the float
 * quotient q0 is within a·2^-23 + 1 of a / b, so the remainder a − q0·b is an i32 of
 * magnitude below 2^7 + b < 2^24, exactly representable; its float quotient then floors
 * exactly (the rounding error, below |r| / b · 2^-24, is smaller than the 1 / b that
 * separates a non-integral r / b from the integers).
 */
export const udivWgsl = `
fn udiv(a: u32, b: u32) -> u32 {
  let fb = f32(b);
  let q0 = u32(f32(a) / fb);
  let r = bitcast<i32>(a - q0 * b);
  return u32(i32(q0) + i32(floor(f32(r) / fb)));
}`;

/**
 * WGSL for the launch: `viewOffset(flat, view)` (the element offset of output index
 * `flat` in a strided view) and, through `viewAt`, the expression each view is read with.
 */
export function stridedIndexWgsl(launch: StridedLaunch): string {
  const { rank, floatDivision } = launch;
  const lines: string[] = [];
  for (let d = rank - 1; d >= 0; d--) {
    const dim = `pu(${2 + d}u)`;
    const stride = `pu(base + ${1 + d}u)`;
    if (d === 0) {
      lines.push(`  off += rem * ${stride};`);
    } else if (floatDivision) {
      lines.push(`  { let q = udiv(rem, ${dim}); off += (rem - q * ${dim}) * ${stride}; rem = q; }`);
    } else {
      lines.push(`  off += (rem % ${dim}) * ${stride}; rem = rem / ${dim};`);
    }
  }
  return `${floatDivision && rank > 1 ? udivWgsl : ''}
fn viewOffset(flat: u32, view: u32) -> u32 {
  let base = ${2 + rank}u + view * ${1 + rank}u;
  var rem = flat;
  var off = pu(base);
${lines.join('\n')}
  return off;
}`;
}

/** WGSL expression for the element offset of output index `i` in view `view`. */
export function viewAt(launch: StridedLaunch, view: number, i = 'i'): string {
  return launch.flat[view] ? `(pu(${2 + launch.rank + view * (1 + launch.rank)}u) + ${i})` : `viewOffset(${i}, ${view}u)`;
}
