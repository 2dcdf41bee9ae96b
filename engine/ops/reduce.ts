/**
 * Reductions over axes. Reduced axes are moved last (one gather, skipped when they
 * already are), so the backend only reduces contiguous rows.
 */
import type { ReduceOp } from '../backend.js';
import { contiguousStrides, fmtShape, normAxes, normAxis, sizeOf } from '../shape.js';
import { commonBackend, makeResult, recordGrad, type Tensor } from '../tensor.js';
import { div, eq, mul } from './elementwise.js';
import { expand, reshape } from './shape.js';

export type Axes = number | readonly number[];

interface Plan {
  axes: number[];
  outer: number;
  inner: number;
  keptShape: number[];
  outShape: number[];
}

function plan(op: string, x: Tensor, axes: Axes | undefined, keepDim: boolean): Plan {
  const ax = normAxes(op, axes, x.rank);
  const keptShape = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const inner = ax.reduce((p, a) => p * x.shape[a]!, 1);
  const outer = inner === 0 ? keptShape.reduce((p, d) => p * d, 1) : x.size / inner;
  return { axes: ax, outer, inner, keptShape, outShape: keepDim ? keptShape : x.shape.filter((_, i) => !ax.includes(i)) };
}

/**
 * Runs backend row reductions over the planned axes. A trailing run of reduced axes
 * is reduced in place first (contiguous rows, no copy); the remaining reduced axes
 * of the now smaller tensor are moved last with one gather and reduced.
 */
function reduceRaw(op: ReduceOp, name: string, x: Tensor, p: Plan): Tensor {
  const backend = commonBackend(name, [x]);
  if (p.inner === 0) return makeResult(name, backend, backend.fill(p.outer, op === 'sum' ? 0 : NaN), p.outShape, []);
  let src = x.storageFor(name);
  let shape = [...x.shape];
  let axes = [...p.axes];
  const temps = [];
  let run = 0;
  while (run < axes.length && axes[axes.length - 1 - run] === shape.length - 1 - run) run++;
  if (run > 0 && run < axes.length && op !== 'argmax') {
    // max/min/sum are associative, so reducing the trailing axes first is exact (up to rounding).
    const inner = sizeOf(shape.slice(shape.length - run));
    src = backend.reduce(op, src, sizeOf(shape) / inner, inner);
    temps.push(src);
    shape = shape.slice(0, shape.length - run);
    axes = axes.slice(0, axes.length - run);
  }
  const trailing = axes.every((a, i) => a === shape.length - axes.length + i);
  if (!trailing) {
    const order = [...shape.keys()].filter((i) => !axes.includes(i)).concat(axes);
    const strides = contiguousStrides(shape);
    src = backend.gather(src, { offset: 0, strides: order.map((a) => strides[a]!) }, order.map((a) => shape[a]!));
    temps.push(src);
  }
  const inner = axes.reduce((q, a) => q * shape[a]!, 1);
  const out = backend.reduce(op, src, p.outer, inner);
  for (const t of temps) backend.release(t);
  return makeResult(name, backend, out, p.outShape, []);
}

export function sum(x: Tensor, axes?: Axes, keepDim = false): Tensor {
  const p = plan('sum', x, axes, keepDim);
  const y = reduceRaw('sum', 'sum', x, p);
  return attach(y, 'sum', x, (g) => expand(reshape(g, p.keptShape), x.shape));
}

export function mean(x: Tensor, axes?: Axes, keepDim = false): Tensor {
  const p = plan('mean', x, axes, keepDim);
  if (p.inner === 0) throw new Error(`mean: cannot average over an empty dimension of ${fmtShape(x.shape)}`);
  return div(sum(x, axes, keepDim), p.inner);
}

/** Largest value over `axes`; the gradient is shared evenly among tied maxima. */
export function max(x: Tensor, axes?: Axes, keepDim = false): Tensor {
  return extreme('max', x, axes, keepDim);
}

export function min(x: Tensor, axes?: Axes, keepDim = false): Tensor {
  return extreme('min', x, axes, keepDim);
}

function extreme(op: 'max' | 'min', x: Tensor, axes: Axes | undefined, keepDim: boolean): Tensor {
  const p = plan(op, x, axes, keepDim);
  if (p.inner === 0) throw new Error(`${op}: cannot reduce over an empty dimension of ${fmtShape(x.shape)}`);
  const y = reduceRaw(op, op, x, p);
  return attach(y, op, x, (g) => {
    const hit = eq(x, reshape(y, p.keptShape));
    const count = sum(hit, p.axes, true);
    return mul(div(hit, count), reshape(g, p.keptShape));
  });
}

/** Index of the largest value along `axis` (first one on ties); not differentiable. */
export function argmax(x: Tensor, axis?: number, keepDim = false): Tensor {
  // Without an axis the index is into the flattened tensor (as torch.argmax).
  if (axis === undefined) return argmax(reshape(x, [-1]), 0);
  const a = normAxis('argmax', axis, x.rank);
  const p = plan('argmax', x, a, keepDim);
  if (p.inner === 0) throw new Error(`argmax: cannot reduce over an empty dimension of ${fmtShape(x.shape)}`);
  return reduceRaw('argmax', 'argmax', x, p);
}

function attach(y: Tensor, op: string, x: Tensor, grad: (g: Tensor) => Tensor): Tensor {
  return recordGrad(y, op, [x], (g) => [grad(g)]);
}

/**
 * Sums a broadcast gradient back to `shape` (the inverse of broadcasting). Always
 * returns a fresh tensor.
 */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  if (axes.length === 0) return g.shareAs(shape);
  return reshape(sum(g, axes, true), shape);
}
