/**
 * Test harness: both backends live in one process, the same host data goes to
 * each, and results are compared with float32-appropriate tolerances.
 */
import { expect } from 'vitest';
import { type BackendName, Generator, init, setBackend, shutdown, type Tensor, tensor } from '../../index.js';

export async function initBoth(): Promise<void> {
  await init({ backend: 'cpu' });
  await init({ backend: 'webgpu' });
}

export { shutdown };

/** Runs `fn` with `name` as the current backend. */
export function on<T>(name: BackendName, fn: () => T): T {
  setBackend(name);
  return fn();
}

export interface Tolerance {
  rtol?: number;
  atol?: number;
}

/** Element-wise |a − e| ≤ atol + rtol·|e|, NaN only where NaN is expected; reports the worst element. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, { rtol = 1e-4, atol = 1e-5 }: Tolerance = {}, label = ''): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  let worst = -1, worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (Number.isNaN(e) || Number.isNaN(a)) {
      if (Number.isNaN(e) !== Number.isNaN(a)) {
        worst = i;
        worstExcess = Infinity;
      }
      continue;
    }
    if (a === e) continue;
    // Infinities must match exactly: the bound below is itself infinite (inf − inf is NaN) and would accept anything.
    if (!Number.isFinite(a) || !Number.isFinite(e)) {
      worst = i;
      worstExcess = Infinity;
      continue;
    }
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (excess > worstExcess) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    expect.fail(`${label}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`);
  }
}

export interface InputSpec {
  shape: number[];
  /** Values; random normal when absent. */
  data?: ArrayLike<number>;
  requiresGrad?: boolean;
}

export interface RunResult {
  out: Float64Array;
  shape: readonly number[];
  grads: Array<Float64Array | null>;
}

/**
 * Builds inputs on `backend`, runs `build`, back-propagates a fixed random upstream
 * gradient, and reads the output and every input gradient.
 */
export async function runOn(backend: BackendName, build: (xs: Tensor[]) => Tensor, inputs: InputSpec[], upstream?: ArrayLike<number>): Promise<RunResult> {
  setBackend(backend);
  const xs = inputs.map((s) => tensor(s.data!, s.shape, { requiresGrad: s.requiresGrad ?? true }));
  const y = build(xs);
  const out = await y.toFloat64Array();
  let grads: Array<Float64Array | null> = xs.map(() => null);
  if (y.requiresGrad) {
    y.backward(tensor(upstream!, y.shape));
    grads = await Promise.all(xs.map((x) => (x.grad ? x.grad.toFloat64Array() : null)));
  }
  const result = { out, shape: y.shape, grads };
  y.dispose();
  for (const x of xs) x.dispose();
  return result;
}

/** Fills missing input data with seeded normals and returns a matching upstream generator. */
export function materialise(inputs: InputSpec[], seed: number): InputSpec[] {
  const g = new Generator(seed);
  return inputs.map((s) => ({ ...s, data: s.data ?? Float32Array.from({ length: s.shape.reduce((p, d) => p * d, 1) }, () => g.normal()) }));
}

/**
 * The core parity check: forward output and all gradients on WebGPU must match
 * the CPU reference for the same inputs and upstream gradient.
 */
export async function expectParity(build: (xs: Tensor[]) => Tensor, inputs: InputSpec[], tol: Tolerance = {}, seed = 1): Promise<RunResult> {
  const specs = materialise(inputs, seed);
  // Probe the output size on the CPU, then draw the upstream gradient.
  const cpuProbe = await runOn('cpu', build, specs.map((s) => ({ ...s, requiresGrad: false })));
  const g = new Generator(seed + 1000);
  const upstream = Float32Array.from({ length: cpuProbe.out.length }, () => g.normal());
  const cpu = await runOn('cpu', build, specs, upstream);
  const gpu = await runOn('webgpu', build, specs, upstream);
  expect(gpu.shape).toEqual(cpu.shape);
  expectClose(gpu.out, cpu.out, tol, 'forward');
  cpu.grads.forEach((cg, i) => {
    if (specs[i]!.requiresGrad === false) return;
    expect(gpu.grads[i] === null, `grad ${i} presence`).toBe(cg === null);
    if (cg && gpu.grads[i]) expectClose(gpu.grads[i]!, cg, tol, `grad of input ${i}`);
  });
  return cpu;
}
