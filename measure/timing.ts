/**
 * The timing protocol: how every speed figure in wgprune is taken.
 *
 *   const { results, protocol } = await measure({ dense: () => run(dense), csr: () => run(csr) });
 *   results.dense.median / results.csr.median   // the speedup, both from the same rounds
 *
 * For each workload: `warmup` untimed calls (the first compiles pipelines and fills the buffer
 * pools), then timed repetitions run in *interleaved rounds* — every round runs each workload
 * once, in order — so workloads compared as a ratio see the same machine state (a host whose
 * speed drifts shifts all of them alike). Every call ends in a device sync (the engine's
 * `sync()`, i.e. `queue.onSubmittedWorkDone()` on WebGPU), timed with the wall clock
 * (`performance.now()`): WebGPU timestamp queries are optional and absent on software adapters.
 * With `minSampleS`, a repetition repeats the call (each with its sync) until it lasts at least
 * that long and reports the time per call (like `timeit`'s autorange), so short and long
 * workloads average over the host's slow spells alike. The median is the figure; min, max and
 * the interquartile range are the spread; every repetition is returned.
 *
 * Uses only `performance` (a global in Node and browsers).
 */
import { sync as engineSync } from '../engine/internal.js';

export interface ProtocolOptions {
  /** Untimed calls of each workload before timing (the first compiles pipelines). */
  warmup: number;
  /** Timed repetitions (rounds). */
  reps: number;
  /** No new round after this many seconds per workload (at least `minReps` rounds are run). */
  budgetS: number;
  minReps: number;
  /**
   * Each timed repetition repeats the workload (one call + sync each time) until it lasts at
   * least this long, by a count fixed from the last warm-up call; the time per call is
   * reported. Default 0: one call per repetition.
   */
  minSampleS?: number;
}

export const DEFAULT_PROTOCOL: ProtocolOptions = { warmup: 2, reps: 7, budgetS: 6, minReps: 3, minSampleS: 0 };

export interface Measurement {
  /** Seconds per call: the median over repetitions. */
  median: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
  /** Every timed repetition, in run order (seconds per call). */
  samples: number[];
  warmup: number;
  /** Calls per timed repetition (`minSampleS`). */
  loops: number;
}

/** The protocol as run: its settings and a sentence describing it, to keep with the figures. */
export interface Protocol extends Required<ProtocolOptions> {
  interleaved: boolean;
  /** What ends each call. */
  sync: string;
  description: string;
}

export interface MeasureOptions extends Partial<ProtocolOptions> {
  /** Ends each call (default: the engine's `sync()` on the current backend). */
  sync?: () => Promise<void>;
  /** How `sync` is described in the protocol (default: the engine's sync). */
  syncName?: string;
  /** Stops after the current round when aborted (the rounds run so far are summarised). */
  signal?: AbortSignal;
  /** The clock (milliseconds; default `performance.now()`), e.g. a deterministic one in tests. */
  now?: Clock;
}

export interface MeasureResult<K extends string> {
  results: Record<K, Measurement>;
  protocol: Protocol;
}

/** A workload: records device work (and disposes what it creates). */
export type Work = () => void | Promise<void>;

/** Milliseconds from an arbitrary origin, like `performance.now()` (the default). */
export type Clock = () => number;

const ENGINE_SYNC = 'the engine\'s sync() (WebGPU: queue.onSubmittedWorkDone())';

/** One sentence describing the protocol, to print next to the figures. */
export function describeProtocol(o: ProtocolOptions, sync: string = ENGINE_SYNC, interleaved = true): string {
  const loops = o.minSampleS ? `, each repeating the call (with its sync) until it lasts ≥ ${o.minSampleS} s (a count fixed from the last warm-up call; time per call reported)` : '';
  const rounds = interleaved ? ' in interleaved rounds (one repetition of each workload per round)' : '';
  return `${o.warmup} warm-up call(s) (compile pipelines), then up to ${o.reps} timed repetitions${rounds} (at least ${o.minReps}; no new one after ${o.budgetS} s per workload)${loops}, each call ending in a device sync (${sync}); median reported, spread as min–max and IQR; wall clock`;
}

function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Median, quartiles and range of `samples` (seconds). */
export function summarise(samples: number[], warmup: number, loops: number): Measurement {
  if (samples.length === 0) throw new Error('summarise: no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    median: quantile(sorted, 0.5), min: sorted[0]!, max: sorted[sorted.length - 1]!,
    q1: quantile(sorted, 0.25), q3: quantile(sorted, 0.75), samples, warmup, loops,
  };
}

function resolveProtocol(o: Partial<ProtocolOptions>): Required<ProtocolOptions> {
  const p = { ...DEFAULT_PROTOCOL, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) } as Required<ProtocolOptions>;
  for (const k of ['warmup', 'reps', 'minReps'] as const) {
    if (!Number.isInteger(p[k]) || p[k] < 0) throw new Error(`measure: ${k} must be a non-negative integer, got ${p[k]}`);
  }
  if (p.reps < 1) throw new Error(`measure: reps must be at least 1, got ${p.reps}`);
  if (!(p.budgetS >= 0) || !(p.minSampleS >= 0)) throw new Error(`measure: budgetS and minSampleS must be non-negative (got ${p.budgetS}, ${p.minSampleS})`);
  return p;
}

/**
 * Times several workloads in interleaved rounds; see the file comment. `works` in order; the
 * result in the same order. Used by `measure`; exported for callers that hold a list.
 */
export async function measureInterleaved(works: Work[], sync: () => Promise<void>, options: Partial<ProtocolOptions> = DEFAULT_PROTOCOL, signal?: AbortSignal, now: Clock = () => performance.now()): Promise<Measurement[]> {
  const o = resolveProtocol(options);
  const loops = works.map(() => 1);
  for (let w = 0; w < works.length; w++) {
    for (let i = 0; i < o.warmup; i++) {
      const t0 = now();
      await works[w]!();
      await sync();
      if (o.minSampleS) loops[w] = Math.max(1, Math.ceil((o.minSampleS * 1000) / Math.max(now() - t0, 1e-3)));
    }
  }
  const samples: number[][] = works.map(() => []);
  const start = now();
  for (let i = 0; i < o.reps; i++) {
    for (let w = 0; w < works.length; w++) {
      const t0 = now();
      for (let j = 0; j < loops[w]!; j++) {
        await works[w]!();
        await sync();
      }
      samples[w]!.push((now() - t0) / 1000 / loops[w]!);
    }
    if (signal?.aborted) break;
    if (i + 1 >= o.minReps && (now() - start) / 1000 > o.budgetS * works.length) break;
  }
  return samples.map((s, w) => summarise(s, o.warmup, loops[w]!));
}

/**
 * Times named workloads with the interleaved protocol and returns each one's measurement with
 * the protocol as run. `fns` maps a name to a workload (a list is named '0', '1', …).
 */
export async function measure<K extends string>(fns: Record<K, Work>, options: MeasureOptions = {}): Promise<MeasureResult<K>> {
  const names = Object.keys(fns) as K[];
  if (names.length === 0) throw new Error('measure: no workloads given');
  for (const n of names) if (typeof fns[n] !== 'function') throw new Error(`measure: workload '${n}' is not a function`);
  const { sync, syncName, signal, now, ...rest } = options;
  const o = resolveProtocol(rest);
  const ms = await measureInterleaved(names.map((n) => fns[n]), sync ?? (() => engineSync()), o, signal, now);
  const results = Object.fromEntries(names.map((n, i) => [n, ms[i]!])) as Record<K, Measurement>;
  const syncText = syncName ?? (sync ? 'the caller\'s sync' : ENGINE_SYNC);
  return { results, protocol: { ...o, interleaved: names.length > 1, sync: syncText, description: describeProtocol(o, syncText, names.length > 1) } };
}
