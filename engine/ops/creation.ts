/** Tensor factories. Random values are drawn on the host from a seedable generator. */
import type { Backend } from '../backend.js';
import { defaultGenerator, type Generator } from '../random.js';
import { type BackendName, getBackend } from '../registry.js';
import { checkShape, fmtShape, sizeOf, type Shape } from '../shape.js';
import { keep } from '../scope.js';
import { Tensor } from '../tensor.js';

export interface TensorOptions {
  requiresGrad?: boolean;
  /** Backend to create on; the current one by default. */
  backend?: BackendName;
}

export interface RandomOptions extends TensorOptions {
  generator?: Generator;
}

type Nested = number | readonly Nested[];

function inferShape(data: Nested): number[] {
  const shape: number[] = [];
  let level: Nested = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0] as Nested;
  }
  return shape;
}

function flatten(data: Nested, shape: readonly number[], depth: number, out: number[]): void {
  if (depth === shape.length) {
    if (typeof data !== 'number') throw new Error(`tensor: ragged nested array (expected a number at depth ${depth})`);
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new Error(`tensor: ragged nested array (expected ${shape[depth]} elements at depth ${depth})`);
  }
  for (const d of data as readonly Nested[]) flatten(d, shape, depth + 1, out);
}

function fromValues(values: ArrayLike<number>, shape: Shape, options: TensorOptions): Tensor {
  const backend = getBackend(options.backend);
  const t = Tensor.fromStorage(backend, backend.upload(values), shape);
  if (options.requiresGrad) t.requireGrad();
  return t;
}

/**
 * A tensor from a flat typed array / array (with `shape`, default 1-D) or a nested
 * array (shape inferred), or a scalar.
 */
export function tensor(data: Nested | ArrayLike<number>, shape?: Shape, options: TensorOptions = {}): Tensor {
  let values: ArrayLike<number>;
  let inferred: number[];
  if (typeof data === 'number') {
    values = [data];
    inferred = [];
  } else if (Array.isArray(data) && data.some((d) => Array.isArray(d))) {
    inferred = inferShape(data as Nested);
    const flat: number[] = [];
    flatten(data as Nested, inferred, 0, flat);
    values = flat;
  } else {
    values = data as ArrayLike<number>;
    inferred = [values.length];
  }
  const finalShape = shape ?? inferred;
  checkShape('tensor', finalShape);
  if (sizeOf(finalShape) !== values.length) {
    throw new Error(`tensor: ${values.length} values cannot fill shape ${fmtShape(finalShape)} (${sizeOf(finalShape)} elements)`);
  }
  return fromValues(values, finalShape, options);
}

export function full(shape: Shape, value: number, options: TensorOptions = {}): Tensor {
  checkShape('full', shape);
  const backend = getBackend(options.backend);
  const t = Tensor.fromStorage(backend, backend.fill(sizeOf(shape), value), shape);
  if (options.requiresGrad) t.requireGrad();
  return t;
}

export const zeros = (shape: Shape, options?: TensorOptions) => full(shape, 0, options);
export const ones = (shape: Shape, options?: TensorOptions) => full(shape, 1, options);

/** Standard normal samples (× std + mean). */
export function randn(shape: Shape, options: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  checkShape('randn', shape);
  const gen = options.generator ?? defaultGenerator;
  const { mean = 0, std = 1 } = options;
  const values = new Float32Array(sizeOf(shape));
  for (let i = 0; i < values.length; i++) values[i] = mean + std * gen.normal();
  return fromValues(values, shape, options);
}

/** Uniform samples in [low, high). */
export function rand(shape: Shape, options: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  checkShape('rand', shape);
  const gen = options.generator ?? defaultGenerator;
  const { low = 0, high = 1 } = options;
  const values = new Float32Array(sizeOf(shape));
  for (let i = 0; i < values.length; i++) values[i] = low + (high - low) * gen.uniform();
  return fromValues(values, shape, options);
}

/** Values start, start+step, … below end (like torch.arange). */
export function arange(start: number, end?: number, step = 1, options: TensorOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0 || !Number.isFinite(step)) throw new Error(`arange: step must be a finite non-zero number, got ${step}`);
  const n = Math.max(0, Math.ceil((end - start) / step));
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = start + i * step;
  return fromValues(values, [n], options);
}

const constants = new WeakMap<Backend, Map<number, Tensor>>();

/** A cached, never-disposed scalar tensor used when an op receives a plain number. */
export function scalar(value: number, backend: Backend): Tensor {
  let cache = constants.get(backend);
  if (!cache) constants.set(backend, (cache = new Map()));
  let t = cache.get(value);
  if (!t || t.isDisposed) {
    if (cache.size > 4096) cache.clear();
    t = keep(Tensor.fromStorage(backend, backend.upload([value]), []));
    t.persistent = true;
    cache.set(value, t);
  }
  return t;
}
