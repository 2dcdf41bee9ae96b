/**
 * The timing protocol (measure/timing.ts): interleaved rounds, repetitions stretched to a minimum
 * length (minSampleS) with the time per call reported, and the time budget. Workloads are counted
 * calls that advance a fake clock (the protocol's `now`), so the figures are exact and the test
 * checks the protocol's logic whatever the host's speed — no device, no wall clock.
 */
import { describe, expect, it } from 'vitest';
import { measure, measureInterleaved } from '../measure/index.js';

/** A deterministic clock in milliseconds and a workload that "takes" `ms` on it. */
function fakeClock() {
  let t = 1000;
  return { now: () => t, takes: (ms: number) => () => void (t += ms), advance: (ms: number) => void (t += ms) };
}

describe('measureInterleaved', () => {
  it('runs warm-ups, then one call of each workload per round, in order', async () => {
    const log: string[] = [];
    const clock = fakeClock();
    const ms = await measureInterleaved([() => void log.push('a'), () => void log.push('b')], async () => void log.push('|'), { warmup: 1, reps: 3, budgetS: 10, minReps: 3 }, undefined, clock.now);
    expect(log.join('')).toBe('a|b|a|b|a|b|a|b|');
    expect(ms.map((m) => [m.samples.length, m.loops])).toEqual([[3, 1], [3, 1]]);
  });

  it('times each repetition with the clock: the median, quartiles and range of per-call seconds', async () => {
    const clock = fakeClock();
    const durations = [5, 9, 7, 3, 11];
    let call = 0;
    // The warm-up call takes 100 ms (compiling), then 5, 9, 7, 3, 11 ms.
    const work = () => clock.advance(call++ === 0 ? 100 : durations[call - 2]!);
    const [m] = await measureInterleaved([work], async () => {}, { warmup: 1, reps: 5, budgetS: 10, minReps: 5 }, undefined, clock.now);
    expect(m!.samples).toEqual([0.005, 0.009, 0.007, 0.003, 0.011]);
    expect(m!.median).toBeCloseTo(0.007, 12);
    expect([m!.min, m!.max]).toEqual([0.003, 0.011]);
    expect(m!.q1).toBeCloseTo(0.005, 12);
    expect(m!.q3).toBeCloseTo(0.009, 12);
  });

  it('minSampleS: a short workload repeats (each call synced) until a repetition lasts that long; the time per call is reported', async () => {
    const clock = fakeClock();
    const calls = [0, 0];
    let syncs = 0;
    const [short, long] = await measureInterleaved(
      [() => { calls[0]!++; clock.advance(1); }, () => { calls[1]!++; clock.advance(60); }],
      async () => void syncs++,
      { warmup: 1, reps: 3, budgetS: 10, minReps: 3, minSampleS: 0.05 },
      undefined,
      clock.now,
    );
    // 1 ms calls: 50 a repetition (50 ms); 60 ms calls already last long enough.
    expect(short!.loops).toBe(50);
    expect(long!.loops).toBe(1);
    expect(calls).toEqual([1 + 3 * 50, 1 + 3]);
    expect(syncs).toBe(calls[0]! + calls[1]!);
    // Per call, not per repetition.
    for (const v of short!.samples) expect(v).toBeCloseTo(0.001, 12);
    expect(short!.samples.length).toBe(3);
    expect(long!.samples).toEqual([0.06, 0.06, 0.06]);
  });

  it('the count of calls a repetition is fixed from the last warm-up call', async () => {
    const clock = fakeClock();
    let call = 0;
    // Warm-ups of 40 ms then 4 ms: loops = ⌈20 / 4⌉ = 5, even though the timed calls then take 2 ms.
    const [m] = await measureInterleaved([() => clock.advance([40, 4][call++] ?? 2)], async () => {}, { warmup: 2, reps: 2, budgetS: 10, minReps: 2, minSampleS: 0.02 }, undefined, clock.now);
    expect(m!.loops).toBe(5);
    expect(m!.samples.length).toBe(2);
    for (const v of m!.samples) expect(v).toBeCloseTo(0.002, 12);
  });

  it('stops starting rounds once the budget per workload is spent, but not before minReps', async () => {
    const clock = fakeClock();
    const calls = [0, 0];
    // Two workloads of 30 ms: a round takes 60 ms; the budget is 0.1 s per workload, 0.2 s for both.
    const works = [0, 1].map((w) => () => { calls[w]!++; clock.advance(30); });
    const ms = await measureInterleaved(works, async () => {}, { warmup: 0, reps: 20, budgetS: 0.1, minReps: 2 }, undefined, clock.now);
    // After round 3, 180 ms ≤ 200 ms: go on; after round 4, 240 ms > 200 ms: stop.
    expect(ms.map((m) => m.samples.length)).toEqual([4, 4]);
    expect(calls).toEqual([4, 4]);
    // minReps wins over an exhausted budget.
    const slow = fakeClock();
    const [m] = await measureInterleaved([slow.takes(1000)], async () => {}, { warmup: 0, reps: 20, budgetS: 0.1, minReps: 3 }, undefined, slow.now);
    expect(m!.samples.length).toBe(3);
  });

  it('stops after the current round when aborted', async () => {
    const clock = fakeClock();
    const abort = new AbortController();
    let calls = 0;
    const [m] = await measureInterleaved([() => { if (++calls === 2) abort.abort(); clock.advance(1); }], async () => {}, { warmup: 0, reps: 10, budgetS: 10, minReps: 1 }, abort.signal, clock.now);
    expect(m!.samples.length).toBe(2);
  });
});

describe('measure', () => {
  it('passes its clock to the protocol and names the workloads', async () => {
    const clock = fakeClock();
    const { results, protocol } = await measure(
      { dense: clock.takes(8), sparse: clock.takes(2) },
      { sync: async () => {}, syncName: 'nothing', warmup: 1, reps: 3, minReps: 3, budgetS: 10, now: clock.now },
    );
    expect(results.dense.median).toBe(0.008);
    expect(results.sparse.median).toBe(0.002);
    expect(protocol.interleaved).toBe(true);
    expect(protocol.sync).toBe('nothing');
    expect(protocol).not.toHaveProperty('now');
  });
});
