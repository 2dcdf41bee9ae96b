/**
 * Timing for the sparse benchmark, following DESIGN.md §4 (written here because
 * `bench/protocol.ts` did not exist yet when the sparse benchmark was written):
 * `warmup` untimed runs (pipeline compilation, buffer pool), then `reps` timed
 * repetitions, each one call of the workload followed by a device sync; the median
 * is the figure, with min/max as the spread. Wall clock around
 * `queue.onSubmittedWorkDone()` (llvmpipe has no timestamp queries).
 */
import { performance } from 'node:perf_hooks';

export interface Timing {
  /** Median seconds per repetition. */
  median: number;
  min: number;
  max: number;
  reps: number;
  warmup: number;
}

export interface TimingOptions {
  warmup?: number;
  reps?: number;
  /** Stop adding repetitions once this many seconds were spent (at least 3 are run). */
  budget?: number;
}

/** Times `work` (which records GPU work and disposes what it creates) with `sync` ending each repetition. */
export async function timeIt(work: () => void, sync: () => Promise<void>, o: TimingOptions = {}): Promise<Timing> {
  const warmup = o.warmup ?? 2, reps = o.reps ?? 7, budget = o.budget ?? Infinity;
  for (let i = 0; i < warmup; i++) {
    work();
    await sync();
  }
  const times: number[] = [];
  const start = performance.now();
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    work();
    await sync();
    times.push((performance.now() - t0) / 1000);
    if (i >= 2 && (performance.now() - start) / 1000 > budget) break;
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  const median = times.length % 2 ? times[mid]! : (times[mid - 1]! + times[mid]!) / 2;
  return { median, min: times[0]!, max: times[times.length - 1]!, reps: times.length, warmup };
}
