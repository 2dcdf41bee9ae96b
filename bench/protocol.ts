/**
 * The timing protocol of DESIGN.md §4, shared by benchmarks: `warmup` untimed runs
 * (pipeline compilation, buffer pools), then `reps` timed repetitions, each one call
 * of the workload followed by a device sync; the median is the figure, with min, max
 * and the interquartile range as the spread. Wall clock (`performance.now()`) around the
 * sync, because llvmpipe has no timestamp queries.
 */
import { performance } from 'node:perf_hooks';

export interface ProtocolOptions {
  /** Untimed runs before timing (the first compiles pipelines). */
  warmup: number;
  /** Timed repetitions. */
  reps: number;
  /** Stop adding repetitions after this many seconds (at least `minReps` are run). */
  budgetS: number;
  minReps: number;
  /**
   * Each timed repetition repeats the workload (one call + sync each time) until it lasts at
   * least this long, by a count fixed from the last warm-up run; the repetition's time per
   * call is reported. For ratios between workloads of very different lengths on a host whose
   * speed changes over fractions of a second: a 1 s workload averages the slow spells inside
   * every repetition while a 0.1 s one lands in them or not, so without this their medians see
   * different machines (`timeit`'s autorange, Google Benchmark's min_time). Default 0: one call.
   */
  minSampleS?: number;
}

export const DEFAULT_PROTOCOL: ProtocolOptions = { warmup: 2, reps: 7, budgetS: 6, minReps: 3 };

export interface Measurement {
  /** Seconds per repetition. */
  median: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
  /** Every timed repetition, in run order (seconds per call). */
  samples: number[];
  warmup: number;
  /** Calls per timed repetition (ProtocolOptions.minSampleS). */
  loops: number;
}

/** One line describing the protocol, to print next to the figures. */
export function describeProtocol(o: ProtocolOptions, sync: string): string {
  const loops = o.minSampleS ? `, each repeating the call (with its sync) until it lasts ≥ ${o.minSampleS} s (a count fixed from the last warm-up run; time per call reported)` : '';
  return `${o.warmup} warm-up run(s) (compile pipelines), then up to ${o.reps} timed repetitions (at least ${o.minReps}; no new one after ${o.budgetS} s)${loops}, each call ending in a device sync (${sync}); median reported, spread as min–max and IQR; wall clock`;
}

function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

type Work = () => void | Promise<void>;

function summarise(samples: number[], warmup: number, loops: number): Measurement {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    median: quantile(sorted, 0.5), min: sorted[0]!, max: sorted[sorted.length - 1]!,
    q1: quantile(sorted, 0.25), q3: quantile(sorted, 0.75), samples, warmup, loops,
  };
}

/** Times `work` (which records device work and disposes what it creates); `sync` ends each repetition. */
export async function measure(work: Work, sync: () => Promise<void>, o: ProtocolOptions = DEFAULT_PROTOCOL): Promise<Measurement> {
  return (await measureInterleaved([work], sync, o))[0]!;
}

/**
 * Times several workloads in rounds — each round runs every workload once, in order — so
 * that workloads compared as a ratio see the same machine state (a host whose speed drifts
 * or switches between modes shifts all of them alike). Warm-up runs for each first; the
 * budget counts the whole set (a new round starts only while within it, after `minReps`).
 */
export async function measureInterleaved(works: Work[], sync: () => Promise<void>, o: ProtocolOptions = DEFAULT_PROTOCOL): Promise<Measurement[]> {
  const loops = works.map(() => 1);
  for (let w = 0; w < works.length; w++) {
    for (let i = 0; i < o.warmup; i++) {
      const t0 = performance.now();
      await works[w]!();
      await sync();
      if (o.minSampleS) loops[w] = Math.max(1, Math.ceil((o.minSampleS * 1000) / Math.max(performance.now() - t0, 1e-3)));
    }
  }
  const samples: number[][] = works.map(() => []);
  const start = performance.now();
  for (let i = 0; i < o.reps; i++) {
    for (let w = 0; w < works.length; w++) {
      const t0 = performance.now();
      for (let j = 0; j < loops[w]!; j++) {
        await works[w]!();
        await sync();
      }
      samples[w]!.push((performance.now() - t0) / 1000 / loops[w]!);
    }
    if (i + 1 >= o.minReps && (performance.now() - start) / 1000 > o.budgetS * works.length) break;
  }
  return samples.map((s, w) => summarise(s, o.warmup, loops[w]!));
}
