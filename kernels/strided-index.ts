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
 * With `vec4`, where the innermost simplified dimension is a multiple of 4 and every view
 * walks it with stride 1 (4-aligned) or 0, each invocation handles 4 consecutive outputs:
 * stride-1 views are bound as array<vec4<f32>> and read with one load, stride-0 views are
 * read once and splatted. llvmpipe runs a storage access one lane at a time, so a quarter
 * of the accesses is most of the saving (ReLU on 2M floats: 9.3 → 4.9 ms).
 *
 * Named parameters: `n` (invocations: elements, or elements / 4 with vec4), the simplified
 * shape `d0 … d{rank-1}`, then per view v its offset `o{v}` and strides `s{v}_0 …`. The
 * launch's form — simplified rank, flat views, vec4 kinds, division variant — is baked into
 * the program (it goes in the program's config); the shape and strides are not.
 */
import type { StridedView } from '../gpu/types.js';
import type { ParamDecl } from '../gpu/program.js';

/** Float division is exact for dividends below 2^30 and divisors below 2^23 (see `udivWgsl`). */
const FLOAT_DIVIDEND_LIMIT = 2 ** 30;
const FLOAT_DIVISOR_LIMIT = 2 ** 23;

/** How a view is read in a vec4 launch: 4 consecutive values, or one value splatted. */
export type Vec4Kind = 'vec4' | 'splat';

/** What of a launch is baked into the WGSL: plain data, part of a program's config. */
export interface StridedForm {
  /** Rank after dropping size-1 dimensions and merging contiguous ones. */
  rank: number;
  /** Per view: true when it is read at `offset + i`. */
  flat: boolean[];
  /** Per view, in a vec4 launch; null for a scalar launch. */
  vec4: Vec4Kind[] | null;
  /** Whether index divisions go through float arithmetic (else u32 `/` and `%`). */
  floatDivision: boolean;
}

export interface StridedLaunch extends StridedForm {
  /** The form alone (for a program config). */
  form: StridedForm;
  /** The named parameter values (layout above) for the simplified shape and views. */
  params: Record<string, number>;
  /** Total element count. */
  size: number;
  /** Invocations to launch: size, or size / 4 with vec4. */
  invocations: number;
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

export function stridedLaunch(shape: readonly number[], views: readonly StridedView[], options: { vec4?: boolean } = {}): StridedLaunch {
  const size = shape.reduce((p, d) => p * d, 1);
  const s = simplifyStrided(shape, views);
  const rank = s.shape.length;
  const rowMajor = s.shape.map((_, i) => s.shape.slice(i + 1).reduce((p, d) => p * d, 1));
  const flat = s.strides.map((st) => st.every((x, i) => x === rowMajor[i]));
  const floatDivision = size < FLOAT_DIVIDEND_LIMIT && s.shape.every((d) => d < FLOAT_DIVISOR_LIMIT);
  const vec4 = options.vec4 && rank > 0 && s.shape[rank - 1]! % 4 === 0 ? vec4Kinds(views, s.strides) : null;
  const invocations = vec4 ? size / 4 : size;
  const params: Record<string, number> = { n: invocations };
  s.shape.forEach((d, i) => { params[`d${i}`] = d; });
  views.forEach((v, k) => {
    params[`o${k}`] = v.offset;
    s.strides[k]!.forEach((st, i) => { params[`s${k}_${i}`] = st; });
  });
  const form = { rank, flat, vec4, floatDivision };
  return { ...form, form, params, size, invocations };
}

/** The parameter declaration of a launch of this form (layout above). */
export function stridedParams(form: StridedForm): ParamDecl {
  const dims = Array.from({ length: form.rank }, (_, i) => i);
  return [
    ['n', 'u32'],
    ...dims.map((i) => [`d${i}`, 'u32'] as const),
    ...form.flat.flatMap((_, k) => [[`o${k}`, 'u32'] as const, ...dims.map((i) => [`s${k}_${i}`, 'u32'] as const)]),
  ];
}

/** Per view 'vec4' (inner stride 1, 4-aligned start of every inner row) or 'splat' (inner stride 0); null if any view is neither. */
function vec4Kinds(views: readonly StridedView[], strides: number[][]): Vec4Kind[] | null {
  const kinds: Vec4Kind[] = [];
  for (const [k, v] of views.entries()) {
    const st = strides[k]!;
    const inner = st[st.length - 1];
    if (inner === 0) kinds.push('splat');
    else if (inner === 1 && v.offset % 4 === 0 && st.slice(0, -1).every((x) => x % 4 === 0)) kinds.push('vec4');
    else return null;
  }
  return kinds;
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
 * WGSL for the launch: `viewOffset{v}(flat)` (the element offset of output index `flat` in
 * view v) and, through `viewAt`, the expression each view is read with.
 */
export function stridedIndexWgsl(form: StridedForm): string {
  const { rank, floatDivision } = form;
  const offsetFn = (v: number) => {
    const lines: string[] = [];
    for (let d = rank - 1; d >= 0; d--) {
      const dim = `P.d${d}`;
      const stride = `P.s${v}_${d}`;
      if (d === 0) {
        lines.push(`  off += rem * ${stride};`);
      } else if (floatDivision) {
        lines.push(`  { let q = udiv(rem, ${dim}); off += (rem - q * ${dim}) * ${stride}; rem = q; }`);
      } else {
        lines.push(`  off += (rem % ${dim}) * ${stride}; rem = rem / ${dim};`);
      }
    }
    return `
fn viewOffset${v}(flat: u32) -> u32 {
  var rem = flat;
  var off = P.o${v};
${lines.join('\n')}
  return off;
}`;
  };
  return `${floatDivision && rank > 1 ? udivWgsl : ''}${form.flat.map((f, v) => (f ? '' : offsetFn(v))).join('')}`;
}

/** WGSL expression for the element offset of output index `i` in view `view` (scalar launches). */
export function viewAt(form: StridedForm, view: number, i = 'i'): string {
  return form.flat[view] ? `(P.o${view} + ${i})` : `viewOffset${view}(${i})`;
}

/** The binding type of view `view`'s array: vec4s for the vec4 views of a vec4 launch. */
export function viewType(form: StridedForm, view: number): string {
  return form.vec4?.[view] === 'vec4' ? 'array<vec4<f32>>' : 'array<f32>';
}

/** The binding type of the contiguous output array. */
export const outputType = (form: StridedForm): string => (form.vec4 ? 'array<vec4<f32>>' : 'array<f32>');

/**
 * WGSL expression reading view `view` of array `name` at invocation `i`: an f32 in a
 * scalar launch, a vec4<f32> (4 consecutive outputs' values) in a vec4 launch.
 */
export function viewLoad(form: StridedForm, view: number, name: string): string {
  const kind = form.vec4?.[view];
  if (!kind) return `${name}[${viewAt(form, view)}]`;
  if (kind === 'splat') return `vec4<f32>(${name}[viewOffset${view}(i * 4u)])`;
  return form.flat[view] ? `${name}[P.o${view} / 4u + i]` : `${name}[viewOffset${view}(i * 4u) / 4u]`;
}
