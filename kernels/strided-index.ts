/**
 * WGSL for rank-generic strided addressing. Shapes and strides travel in the
 * params array; the rank is baked into the program (pipelines are cached per rank).
 *
 * Params layout written by `stridedParams`: [size, rank, shape[rank], then for each
 * view: offset, strides[rank]].
 */
import type { StridedView } from '../engine/backend.js';

/** WGSL function `viewOffset(i, v)`: element offset of flat output index i in view v. */
export function stridedIndexWgsl(rank: number): string {
  return `
fn viewOffset(flat: u32, view: u32) -> u32 {
  let base = 2u + ${rank}u + view * (1u + ${rank}u);
  var rem = flat;
  var off = pu(base);
  for (var d = ${rank}; d > 0; d--) {
    let dim = pu(2u + u32(d - 1));
    let idx = rem % dim;
    rem = rem / dim;
    off += idx * pu(base + 1u + u32(d - 1));
  }
  return off;
}`;
}

export function stridedParams(shape: readonly number[], views: readonly StridedView[]): number[] {
  const size = shape.reduce((p, d) => p * d, 1);
  const words = [size, shape.length, ...shape];
  for (const v of views) words.push(v.offset, ...v.strides);
  return words;
}
