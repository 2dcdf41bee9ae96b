/**
 * What the tuner needs from a kernel family: its planner (candidates and the settled choice) and a
 * way to run any of its candidates on synthetic inputs of a recorded problem's sizes.
 *
 * A problem is what a plan record names: the family, the problem key and the planner's own
 * arguments (`PlanRecord.args`), so the tuner can plan it again with other settings and run each
 * candidate through the family's launcher.
 */
import type { Candidate, Chosen } from '../kernels/choose.js';
import type { KernelFamily, KernelSettings } from '../gpu/profile.js';
import type { GpuRuntime, GpuStorage } from '../gpu/runtime.js';

/** One problem to tune: a plan record's family, key and planner arguments. */
export interface Problem {
  family: KernelFamily;
  key: string;
  args: unknown;
}

/** A problem's inputs on the device, ready to run any candidate plan. */
export interface ProblemRunner<P> {
  /** Records one launch with `plan` and returns its output (the caller releases it). */
  run(plan: P): GpuStorage;
  dispose(): void;
}

export interface TunableFamily<A = unknown, P = unknown> {
  family: KernelFamily;
  /** The planner's arguments from a plan record or a JSON problem list; throws naming what is malformed. */
  parse(args: unknown): A;
  /** The problem key the planner reports for these arguments. */
  key(args: A): string;
  candidates(args: A, settings: KernelSettings): ReadonlyArray<Candidate<P>>;
  /** The planner's settled choice under `settings` (it reports to settings.onPlan like any launch). */
  plan(args: A, settings: KernelSettings): Chosen<P>;
  /** Uploads seeded synthetic inputs of the problem's sizes (sparse families: a random matrix of its shape and non-zeros). */
  prepare(rt: GpuRuntime, args: A, seed: number): ProblemRunner<P>;
  /** A short human description, e.g. `64×32 · 32×48`. */
  describe(args: A): string;
  /** Useful FLOPs of one launch (multiply-add = 2); 0 when not meaningful. */
  flops(args: A): number;
}
