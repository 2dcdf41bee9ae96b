/**
 * The Dawn GC crash: if the GPU instance from `create()` is not kept
 * referenced, V8 collects it and the process later dies (futex error, segfault, hang),
 * typically after heavy CPU work and a GC. Here: many tensors allocated and dropped,
 * CPU churn and forced collections between dispatches, and every result verified.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as wg from '../index.js';
import { expectClose, initBoth, on, shutdown } from './helpers/backends.js';
import { record } from './helpers/reliability.js';

beforeAll(initBoth);
afterAll(shutdown);

function churnCpu(seed: number): number {
  // Allocation-heavy CPU work that gives the collector plenty to do.
  let acc = seed;
  for (let i = 0; i < 40; i++) {
    const junk = Array.from({ length: 5000 }, (_, j) => ({ j, v: Math.sin(j + acc) }));
    acc += junk.reduce((s, o) => s + o.v, 0);
  }
  return acc;
}

it('survives forced GCs and CPU churn between dispatches, with correct results', async () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  expect(gc, 'tests run with --expose-gc').toBeTypeOf('function');
  const gen = new wg.Generator(7);
  record('fault', 'forced GCs and allocation-heavy CPU churn between dispatches, tensors left to the finalizer', { rounds: 25, expected: 'no crash or hang, results equal the CPU reference' });
  for (let round = 0; round < 25; round++) {
    const a = Float32Array.from({ length: 24 * 20 }, () => gen.normal());
    const b = Float32Array.from({ length: 20 * 12 }, () => gen.normal());
    const build = () => {
      // Tensors deliberately left undisposed: only the finalizer backstop frees them.
      for (let k = 0; k < 20; k++) wg.ones([128]).mul(k);
      return wg.relu(wg.matmul(wg.tensor(a, [24, 20]), wg.tensor(b, [20, 12]))).sum(1);
    };
    const pending = on('webgpu', build);
    churnCpu(round);
    gc!();
    const expected = on('cpu', build);
    gc!();
    expectClose(await pending.toArray(), await expected.toArray(), { rtol: 1e-4, atol: 1e-4 }, `round ${round}`);
  }
  // The backstop returned most of what was never disposed.
  gc!();
  await new Promise((r) => setTimeout(r, 50));
  expect(wg.memoryStats('webgpu').storages).toBeLessThan(25 * 25);
});
