/**
 * The measured tuner: for every problem, every candidate of its family's planner is run on
 * synthetic inputs of the problem's sizes and timed with the library's interleaved protocol
 * (measure/timing.ts: warm-up, then rounds that run each candidate once). The rule's own choice
 * keeps its place unless another candidate beats it clearly: by at least MIN_GAIN on the median
 * and in every round (each round times both back to back, so a slow spell of the host cannot
 * favour one of them). Of the candidates that do, the fastest median wins. The result is a
 * TuningTable for this adapter: planners then take the measured winner for those problems
 * instead of the device profile's rule.
 *
 * Before timing, each candidate runs once and its output is compared with the rule's choice
 * (the planner's own answer): a candidate that fails to compile, exceeds the device's limits or
 * computes something else is skipped and reported, never fatal.
 */
import type { KernelSettings, TunedEntry, TuningTable } from '../gpu/profile.js';
import { adapterKey } from '../gpu/profile.js';
import type { GpuRuntime } from '../gpu/runtime.js';
import { getBackend } from '../engine/internal.js';
import type { WebGpuBackend } from '../engine/webgpu/backend.js';
import { measureInterleaved, type ProtocolOptions } from '../measure/timing.js';
import type { Problem, TunableFamily } from './family.js';
import { familyOf } from './families.js';

/** Full tuning: long enough repetitions to average over a drifting host. */
export const TUNE_PROTOCOL: ProtocolOptions = { warmup: 2, reps: 7, budgetS: 2, minReps: 3, minSampleS: 0.2 };
/** `--quick`: fewer and shorter repetitions. */
export const QUICK_TUNE_PROTOCOL: ProtocolOptions = { warmup: 1, reps: 3, budgetS: 0.5, minReps: 3, minSampleS: 0.02 };

/**
 * How much faster than the rule's choice a candidate must be (median) to replace it. Timings on a
 * CPU rasterizer drift by ±30 % over seconds; without a margin and the every-round condition, quick
 * tuning replaced plans with ones that then ran slower in the benchmarks.
 */
export const MIN_GAIN = 1.05;

/** Candidates slower than this many times the rule's choice in a single call are not timed further. */
export const SCREEN_FACTOR = 3;

export interface CandidateTime {
  variant: string;
  /** Median milliseconds per launch; null when skipped. */
  ms: number | null;
  /** Milliseconds per launch in each round (paired with the other candidates' by index). */
  rounds?: number[];
  /** Timed once only: over SCREEN_FACTOR × the rule's time in that call (`ms` is that one call). */
  screened?: boolean;
  /** Why it was skipped (compile error, limits, wrong output). */
  skipped?: string;
}

export interface ProblemResult {
  family: Problem['family'];
  key: string;
  args: unknown;
  description: string;
  flops: number;
  /** What the device profile's rule picks for this problem. */
  rule: string;
  /** The fastest candidate (null when every candidate was skipped). */
  winner: string | null;
  candidates: CandidateTime[];
  /** Rule median / winner median (how much tuning buys here); null when the rule's plan was skipped. */
  speedup: number | null;
}

export interface TuneResult {
  adapter: string;
  profile: { name: string; reason: string };
  protocol: ProtocolOptions;
  problems: ProblemResult[];
  table: TuningTable;
}

export interface TuneOptions {
  problems: Problem[];
  protocol?: ProtocolOptions;
  /** Seed of the synthetic inputs. */
  seed?: number;
  /** Called as each problem finishes (progress, printing). */
  onProblem?: (r: ProblemResult, index: number, total: number) => void;
  /** The runtime to tune on (default: the initialised WebGPU backend's). */
  rt?: GpuRuntime;
}

/** Settings that let the profile's rule decide: nothing forced, no table, nothing reported. */
export function ruleSettings(s: KernelSettings): KernelSettings {
  return { ...s, forced: {}, tuned: null, onPlan: undefined };
}

/** The WebGPU runtime of the initialised backend. */
export function webgpuRuntime(): GpuRuntime {
  return (getBackend('webgpu') as WebGpuBackend).rt;
}

/** Largest |x − ref| over the largest |ref| (1 when magnitudes are below 1). */
function relativeDifference(x: Float32Array, ref: Float32Array): number {
  if (x.length !== ref.length) return Infinity;
  let worst = 0, scale = 1;
  for (let i = 0; i < ref.length; i++) {
    scale = Math.max(scale, Math.abs(ref[i]!));
    const d = Math.abs(x[i]! - ref[i]!);
    if (!(d <= worst)) worst = d; // NaN propagates
  }
  return worst / scale;
}

const message = (e: unknown) => ((e as Error)?.message ?? String(e)).split('\n')[0]!.slice(0, 200);

/** Tunes one problem (see the file comment). */
export async function tuneProblem(rt: GpuRuntime, problem: Problem, protocol: ProtocolOptions, seed = 1): Promise<ProblemResult> {
  const family = familyOf(problem.family) as TunableFamily;
  const args = family.parse(problem.args);
  const base = ruleSettings(rt.settings);
  const candidates = family.candidates(args, base);
  const rule = family.plan(args, base).variant;
  const runner = family.prepare(rt, args, seed);
  const times: CandidateTime[] = candidates.map((c) => ({ variant: c.variant, ms: null }));
  try {
    // The rule's output first: the reference every other candidate must reproduce.
    const order = [...candidates.keys()].sort((a, b) => Number(candidates[b]!.variant === rule) - Number(candidates[a]!.variant === rule));
    let reference: Float32Array | null = null;
    const ok: number[] = [];
    for (const i of order) {
      try {
        const out = runner.run(candidates[i]!.plan);
        const data = await rt.read(out);
        rt.release(out);
        if (!reference) reference = data;
        else {
          const diff = relativeDifference(data, reference);
          if (!(diff < 1e-3)) throw new Error(`output differs from the ${candidates[order[0]!]!.variant} plan's (relative difference ${diff.toExponential(1)})`);
        }
        ok.push(i);
      } catch (e) {
        times[i]!.skipped = message(e);
      }
    }
    // One timed call each (all compiled by now): candidates over SCREEN_FACTOR × the rule's time
    // are reported with that time and not timed further — on a CPU rasterizer a poor tile of a
    // large product takes seconds a call, which would dominate the tuning time for nothing.
    const once = new Map<number, number>();
    for (const i of ok) {
      const t0 = performance.now();
      rt.release(runner.run(candidates[i]!.plan));
      await rt.sync();
      once.set(i, performance.now() - t0);
    }
    const ruleIndex = ok.find((i) => candidates[i]!.variant === rule);
    const limit = ruleIndex === undefined ? Infinity : SCREEN_FACTOR * once.get(ruleIndex)!;
    for (const i of ok) {
      if (once.get(i)! > limit) {
        times[i]!.ms = once.get(i)!;
        times[i]!.screened = true;
      }
    }
    const contenders = ok.filter((i) => !times[i]!.screened);
    if (contenders.length) {
      const works = contenders.map((i) => () => rt.release(runner.run(candidates[i]!.plan)));
      const ms = await measureInterleaved(works, () => rt.sync(), protocol);
      contenders.forEach((i, j) => {
        times[i]!.ms = ms[j]!.median * 1e3;
        times[i]!.rounds = ms[j]!.samples.map((x) => x * 1e3);
      });
    }
  } finally {
    runner.dispose();
  }
  const best = winnerOf(times, rule);
  const ruleMs = times.find((t) => t.variant === rule)?.ms ?? null;
  return {
    family: problem.family, key: problem.key, args: problem.args, description: family.describe(args), flops: family.flops(args),
    rule, winner: best?.variant ?? null, candidates: times, speedup: best && ruleMs !== null ? ruleMs / best.ms! : null,
  };
}

/**
 * The rule's choice, unless candidates beat it by MIN_GAIN on the median and in every paired
 * round: then the fastest of those. Without a timed rule, the fastest median.
 */
export function winnerOf(times: readonly CandidateTime[], rule: string): CandidateTime | null {
  const timed = times.filter((t) => t.ms !== null);
  const fastest = (list: CandidateTime[]) => list.reduce<CandidateTime | null>((b, t) => (b === null || t.ms! < b.ms! ? t : b), null);
  const ruled = timed.find((t) => t.variant === rule);
  if (!ruled) return fastest(timed);
  const clearlyFaster = timed.filter((t) => {
    if (t === ruled || !(t.ms! * MIN_GAIN <= ruled.ms!)) return false;
    const a = t.rounds ?? [], b = ruled.rounds ?? [];
    return a.length === b.length && a.every((x, i) => x < b[i]!);
  });
  return fastest(clearlyFaster) ?? ruled;
}

/** A table entry from a problem's result (null when nothing could be timed). */
export function entryOf(r: ProblemResult): TunedEntry | null {
  if (!r.winner) return null;
  const candidates: Record<string, number> = {};
  for (const c of r.candidates) if (c.ms !== null) candidates[c.variant] = c.ms;
  return { variant: r.winner, ms: candidates[r.winner]!, candidates };
}

/** Tunes every problem on the initialised WebGPU backend and returns the table for its adapter. */
export async function tune(options: TuneOptions): Promise<TuneResult> {
  const rt = options.rt ?? webgpuRuntime();
  const protocol = options.protocol ?? TUNE_PROTOCOL;
  const table: TuningTable = { adapter: adapterKey(rt.ctx.facts), entries: {} };
  const problems: ProblemResult[] = [];
  let index = 0;
  for (const p of options.problems) {
    const r = await tuneProblem(rt, p, protocol, (options.seed ?? 1) + index);
    problems.push(r);
    const entry = entryOf(r);
    if (entry) (table.entries[r.family] ??= {})[r.key] = entry;
    options.onProblem?.(r, index++, options.problems.length);
  }
  return { adapter: table.adapter, profile: { name: rt.settings.profile, reason: rt.settings.profileReason }, protocol, problems, table };
}
