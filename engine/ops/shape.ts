/** Shape ops: reshape, permute/transpose, expand, slice/narrow, concat, squeeze/unsqueeze. */
import { broadcastShapes, broadcastStrides, checkShape, contiguousStrides, fmtShape, normAxis, sizeOf, type Shape } from '../shape.js';
import { commonBackend, makeResult, recordGrad, type Tensor } from '../tensor.js';
import { sumToShape } from './reduce.js';

/** Same data, new shape (one dimension may be -1). Shares storage. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  commonBackend('reshape', [x]);
  const dims = [...shape];
  const free = dims.indexOf(-1);
  if (free >= 0) {
    if (dims.indexOf(-1, free + 1) >= 0) throw new Error(`reshape: only one dimension may be -1, got ${fmtShape(shape)}`);
    const known = sizeOf(dims.filter((_, i) => i !== free));
    if (known === 0 || x.size % known !== 0) throw new Error(`reshape: cannot reshape ${fmtShape(x.shape)} into ${fmtShape(shape)}`);
    dims[free] = x.size / known;
  }
  checkShape('reshape', dims);
  if (sizeOf(dims) !== x.size) throw new Error(`reshape: cannot reshape ${fmtShape(x.shape)} (${x.size} elements) into ${fmtShape(shape)}`);
  const out = x.shareAs(dims);
  return recordGrad(out, 'reshape', [x], (g) => [g.shareAs(x.shape)]);
}

export const flatten = (x: Tensor, startDim = 0): Tensor => {
  const s = normAxis('flatten', startDim, Math.max(x.rank, 1));
  return reshape(x, [...x.shape.slice(0, s), -1]);
};

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normAxis('unsqueeze', dim, x.rank + 1);
  return reshape(x, [...x.shape.slice(0, d), 1, ...x.shape.slice(d)]);
}

export function squeeze(x: Tensor, dim?: number): Tensor {
  if (dim === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const d = normAxis('squeeze', dim, x.rank);
  return x.shape[d] === 1 ? reshape(x, x.shape.filter((_, i) => i !== d)) : reshape(x, x.shape);
}

/** Reorders dimensions: out.shape[i] = x.shape[dims[i]]. */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const backend = commonBackend('permute', [x]);
  const axes = dims.map((d) => normAxis('permute', d, x.rank));
  if (axes.length !== x.rank || new Set(axes).size !== x.rank) {
    throw new Error(`permute: ${JSON.stringify(dims)} is not a permutation of the ${x.rank} dimensions of ${fmtShape(x.shape)}`);
  }
  const strides = contiguousStrides(x.shape);
  const shape = axes.map((a) => x.shape[a]!);
  const storage = backend.gather(x.storageFor('permute'), { offset: 0, strides: axes.map((a) => strides[a]!) }, shape);
  const inverse = new Array<number>(axes.length);
  axes.forEach((a, i) => (inverse[a] = i));
  return makeResult('permute', backend, storage, shape, [x], (g) => [permute(g, inverse)]);
}

export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  const a = normAxis('transpose', dim0, x.rank), b = normAxis('transpose', dim1, x.rank);
  const dims = [...x.shape.keys()];
  [dims[a], dims[b]] = [dims[b]!, dims[a]!];
  return permute(x, dims);
}

/** Broadcasts to `shape` (materialised); the gradient sums back. */
export function expand(x: Tensor, shape: Shape): Tensor {
  const backend = commonBackend('expand', [x]);
  const target = broadcastShapes('expand', x.shape, shape);
  if (target.length !== shape.length || target.some((d, i) => d !== shape[i])) {
    throw new Error(`expand: ${fmtShape(x.shape)} cannot be expanded to ${fmtShape(shape)}`);
  }
  const storage = backend.gather(x.storageFor('expand'), { offset: 0, strides: broadcastStrides(x.shape, target) }, target);
  return makeResult('expand', backend, storage, target, [x], (g) => [sumToShape(g, x.shape)]);
}

/** `length` elements of dimension `dim` starting at `start` (like torch.narrow). */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normAxis('narrow', dim, x.rank);
  const starts = x.shape.map(() => 0);
  const ends = [...x.shape];
  starts[d] = start;
  ends[d] = start + length;
  return slice(x, starts, ends);
}

/** The box [starts, ends) of `x` along every dimension. */
export function slice(x: Tensor, starts: readonly number[], ends: readonly number[]): Tensor {
  const backend = commonBackend('slice', [x]);
  if (starts.length !== x.rank || ends.length !== x.rank) {
    throw new Error(`slice: expected ${x.rank} starts and ends for shape ${fmtShape(x.shape)}, got ${starts.length} and ${ends.length}`);
  }
  const strides = contiguousStrides(x.shape);
  let offset = 0;
  const shape = x.shape.map((dim, i) => {
    const s = starts[i]!, e = ends[i]!;
    if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e > dim || s > e) {
      throw new Error(`slice: range [${s}, ${e}) is out of bounds for dimension ${i} of size ${dim} in ${fmtShape(x.shape)}`);
    }
    offset += s * strides[i]!;
    return e - s;
  });
  const view = { offset, strides };
  const storage = backend.gather(x.storageFor('slice'), view, shape);
  return makeResult('slice', backend, storage, shape, [x], (g) => {
    const gx = backend.fill(x.size, 0);
    backend.scatter(gx, view, g.storageFor('slice backward'), shape);
    return [makeResult('slice backward', backend, gx, x.shape, [])];
  });
}

/** Joins tensors along `dim`; all other dimensions must match. */
export function concat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new Error('concat: needs at least one tensor');
  const backend = commonBackend('concat', tensors);
  const first = tensors[0]!;
  const d = normAxis('concat', dim, first.rank);
  for (const t of tensors) {
    if (t.rank !== first.rank || t.shape.some((s, i) => i !== d && s !== first.shape[i])) {
      throw new Error(`concat: shape ${fmtShape(t.shape)} does not match ${fmtShape(first.shape)} outside dimension ${d}`);
    }
  }
  const shape = [...first.shape];
  shape[d] = tensors.reduce((s, t) => s + t.shape[d]!, 0);
  const strides = contiguousStrides(shape);
  const out = backend.fill(sizeOf(shape), 0);
  const offsets: number[] = [];
  let at = 0;
  for (const t of tensors) {
    offsets.push(at);
    if (t.size > 0) backend.scatter(out, { offset: at * strides[d]!, strides }, t.storageFor('concat'), t.shape);
    at += t.shape[d]!;
  }
  return makeResult('concat', backend, out, shape, tensors, (g) =>
    tensors.map((t, i) => (t.requiresGrad ? narrow(g, d, offsets[i]!, t.shape[d]!) : null)),
  );
}
