/**
 * Property tests with fast-check against the CPU reference: a fixed seed per property (so CI
 * runs the same cases every time), the seed and the failing case's path printed on failure,
 * and a way to replay or explore from the environment:
 *
 *   FC_SEED=<n> [FC_PATH=<path>] npx vitest run test/property-dense.test.ts -t '<property>'   # replay a failure
 *   FC_SEED=random npx vitest run test/property-*.test.ts                                    # fresh cases
 *   FC_RUNS=<k>                                                                               # k × the runs of every property
 *
 * Every property is recorded for RELIABILITY.md (test/helpers/reliability.ts) with its seed,
 * the cases run and the labels its cases reported (e.g. which kernel path a shape took).
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { Generator, type Tensor } from '../../index.js';
import { expectClose, type InputSpec, materialise, runOn } from './backends.js';
import { record } from './reliability.js';

/** A stable 31-bit seed from a property's name (FNV-1a), so each property has its own cases. */
function nameSeed(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return (h >>> 1) % 2_000_000_000;
}

/** `-t` takes a regular expression. */
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function envSeed(): number | null {
  const s = process.env.FC_SEED;
  if (!s) return null;
  if (s === 'random') return Math.floor(Math.random() * 2_000_000_000);
  const n = Number(s);
  if (!Number.isInteger(n)) throw new Error(`FC_SEED must be an integer or 'random', got '${s}'`);
  return n;
}

/** FC_RUNS: a multiplier of every property's runs (default 1). */
function runsFactor(): number {
  const k = Number(process.env.FC_RUNS ?? 1);
  if (!(k > 0)) throw new Error(`FC_RUNS must be a positive number, got '${process.env.FC_RUNS}'`);
  return k;
}

export interface PropertyOptions {
  /** Cases to run (scaled by FC_RUNS). */
  numRuns: number;
  /** Also list the property under the bad inputs of RELIABILITY.md (its cases are invalid arguments). */
  badInputs?: boolean;
  /** Labels (see `note`) that the cases must have reported at least once: the generators reach every path they aim at. */
  cover?: readonly string[];
}

/** Reports a label for the current case (counted per property, listed in RELIABILITY.md). */
export type Note = (label: string) => void;

/**
 * Runs an async property, records it, and fails with fast-check's report (seed, path, the shrunk
 * counterexample and its error) plus the command that replays it.
 */
export async function checkProperty<T>(name: string, arb: fc.Arbitrary<T>, body: (value: T, note: Note) => Promise<void>, options: PropertyOptions): Promise<void> {
  const seed = envSeed() ?? nameSeed(name);
  const numRuns = Math.max(1, Math.round(options.numRuns * runsFactor()));
  const path = process.env.FC_PATH || undefined;
  const labels: Record<string, number> = {};
  const note: Note = (label) => void (labels[label] = (labels[label] ?? 0) + 1);
  const started = performance.now();
  const details = await fc.check(fc.asyncProperty(arb, (v) => body(v, note)), { seed, numRuns, path });
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  record('property', name, {
    seed, numRuns, cases: details.numRuns, shrinks: details.numShrinks, seconds, labels,
    outcome: details.failed ? 'failed' : 'passed',
    ...(details.failed ? { counterexample: fc.stringify(details.counterexample), path: details.counterexamplePath } : {}),
  });
  if (options.badInputs) record('bad-input', name, { cases: details.numRuns, seed, labels });
  if (details.failed) {
    const file = expect.getState().testPath?.replace(/^.*?\/(test\/)/, '$1') ?? '<file>';
    const cause = details.errorInstance;
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new Error(`${fc.defaultReportMessage(details)}\nFailure: ${why}\nReplay: FC_SEED=${seed} FC_PATH='${details.counterexamplePath}' npx vitest run ${file} -t '${escapeRegExp(name)}'`, { cause });
  }
  for (const label of options.cover ?? []) {
    expect(labels[label] ?? 0, `${name}: no case reached '${label}' (labels seen: ${JSON.stringify(labels)})`).toBeGreaterThan(0);
  }
}

/**
 * Registers a test titled `${name}: ${what}` running the property (the title starts with the
 * name, so `-t '<name>'` selects it for a replay). `arb` is built when the test runs (after the
 * hooks: its filters may ask the device).
 */
export function itProperty<T>(name: string, what: string, arb: () => fc.Arbitrary<T>, body: (value: T, note: Note) => Promise<void>, options: PropertyOptions): void {
  // The suite's 60 s per test, stretched with FC_RUNS (shader compiles of new variants dominate cold runs).
  it(`${name}: ${what}`, () => checkProperty(name, arb(), body, options), 60_000 * Math.max(1, runsFactor()));
}

export const maxAbs = (a: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i]!)) m = Math.max(m, Math.abs(a[i]!));
  return m;
};

export interface ScaledTolerance {
  rtol?: number;
  /** atol = scale × max(1, max |expected|) per compared tensor: float32 sums err with the terms' size, not the result's. */
  scale?: number;
}

/**
 * Forward output and every input gradient on WebGPU against the CPU reference, for the same
 * float32 inputs and upstream gradient; tolerances relative to each tensor's scale.
 */
export async function parity(build: (xs: Tensor[]) => Tensor, inputs: InputSpec[], seed: number, { rtol = 1e-4, scale = 1e-5 }: ScaledTolerance = {}, label = ''): Promise<void> {
  const specs = materialise(inputs, seed);
  const probe = await runOn('cpu', build, specs.map((s) => ({ ...s, requiresGrad: false })));
  const g = new Generator(seed + 1000);
  const upstream = Float32Array.from({ length: probe.out.length }, () => g.normal());
  const cpu = await runOn('cpu', build, specs, upstream);
  const gpu = await runOn('webgpu', build, specs, upstream);
  expect(gpu.shape, `${label} shape`).toEqual(cpu.shape);
  expectClose(gpu.out, cpu.out, { rtol, atol: scale * Math.max(1, maxAbs(cpu.out)) }, `${label} forward`);
  cpu.grads.forEach((cg, i) => {
    if (specs[i]!.requiresGrad === false) return;
    expect(gpu.grads[i] === null, `${label} grad ${i} presence`).toBe(cg === null);
    if (cg && gpu.grads[i]) expectClose(gpu.grads[i]!, cg, { rtol, atol: scale * Math.max(1, maxAbs(cg)) }, `${label} grad of input ${i}`);
  });
}

/** fast-check's seed for the host data of one case (any 31-bit integer). */
export const seedArb = fc.integer({ min: 1, max: 1_000_000 });
