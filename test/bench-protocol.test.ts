/**
 * The timing protocol (measure/timing.ts): interleaved rounds, and repetitions stretched to a
 * minimum length (minSampleS) with the time per call reported. Workloads are counted calls and
 * busy waits, no device.
 */
import { describe, expect, it } from 'vitest';
import { measureInterleaved } from '../measure/index.js';

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* spin */ }
}

describe('measureInterleaved', () => {
  it('runs warm-ups, then one call of each workload per round, in order', async () => {
    const log: string[] = [];
    const ms = await measureInterleaved([() => void log.push('a'), () => void log.push('b')], async () => void log.push('|'), { warmup: 1, reps: 3, budgetS: 10, minReps: 3 });
    expect(log.join('')).toBe('a|b|a|b|a|b|a|b|');
    expect(ms.map((m) => [m.samples.length, m.loops])).toEqual([[3, 1], [3, 1]]);
  });

  it('minSampleS: a short workload repeats (each call synced) until a repetition lasts that long; the time per call is reported', async () => {
    const calls = [0, 0];
    let syncs = 0;
    const [short, long] = await measureInterleaved(
      [() => { calls[0]!++; busy(1); }, () => { calls[1]!++; busy(60); }],
      async () => void syncs++,
      { warmup: 1, reps: 3, budgetS: 10, minReps: 3, minSampleS: 0.05 },
    );
    // 1 ms calls: up to 50 a repetition (fewer if the warm-up call was slowed down); 60 ms calls already last long enough.
    expect(short!.loops).toBeGreaterThanOrEqual(2);
    expect(long!.loops).toBe(1);
    expect(calls).toEqual([1 + 3 * short!.loops, 1 + 3]);
    expect(syncs).toBe(calls[0]! + calls[1]!);
    // Per call, not per repetition: a 1 ms call reads about 1 ms (a repetition lasts ≥ 50 ms).
    expect(short!.median).toBeGreaterThanOrEqual(0.001);
    expect(short!.median).toBeLessThan(0.025);
    expect(long!.median).toBeGreaterThanOrEqual(0.06);
  });
});
