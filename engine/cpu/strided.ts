/** Walks the flat indices of `shape` and the matching element offsets of strided views. */
import type { StridedView } from '../backend.js';

/**
 * Calls `fn(i, offsets)` for every flat output index `i` of `shape`, where
 * `offsets[v]` is the element offset of view `v` at that position.
 */
export function forEachStrided(shape: readonly number[], views: readonly StridedView[], fn: (i: number, offsets: number[]) => void): void {
  const rank = shape.length;
  let total = 1;
  for (const d of shape) total *= d;
  if (total === 0) return;
  const idx = new Array<number>(rank).fill(0);
  const offsets = views.map((v) => v.offset);
  for (let i = 0; i < total; i++) {
    fn(i, offsets);
    // Increment the multi-index (odometer) and update offsets incrementally.
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      for (let v = 0; v < views.length; v++) offsets[v]! += views[v]!.strides[d]!;
      if (idx[d]! < shape[d]!) break;
      for (let v = 0; v < views.length; v++) offsets[v]! -= views[v]!.strides[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
}
