/** Few very long rows are reduced in two passes (segments, then partials): same results as the CPU. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../index.js';
import { expectClose, expectParity, initBoth, on, shutdown } from './helpers/backends.js';

beforeAll(initBoth);
afterAll(shutdown);

describe('split reductions', () => {
  // [N, C, H, W] bias-gradient shapes: C rows of N·H·W after the permute.
  it.each([
    ['sum', [128, 6, 28, 28], [0, 2, 3]],
    ['sum', [1, 70001], [1]],
    ['mean', [3, 50000], [1]],
    ['max', [2, 40000], [1]],
    ['min', [5, 20000], [1]],
  ] as const)('%s over %j axes %j', async (op, shape, axes) => {
    await expectParity(([x]) => wg[op](x!, [...axes]), [{ shape: [...shape] }], { rtol: 1e-4, atol: 1e-3 });
  });

  it('propagates NaN and keeps exact extremes across segments', async () => {
    const data = new Float32Array(2 * 30000).map((_, i) => Math.sin(i));
    data[12345] = 7; // row 0 max, in the fourth segment
    data[30000 + 29999] = NaN; // row 1, last segment
    const [cpu, gpu] = await Promise.all(
      (['cpu', 'webgpu'] as const).map(async (b) => {
        const t = on(b, () => wg.tensor(data, [2, 30000]));
        return { max: await wg.max(t, 1).toArray(), sum: await wg.sum(t, 1).toArray() };
      }),
    );
    for (const r of [cpu!, gpu!]) {
      expect(r.max[0]).toBe(7);
      expect(Number.isNaN(r.max[1]!)).toBe(true);
      expect(Number.isNaN(r.sum[1]!)).toBe(true);
    }
    expectClose(gpu!.sum, cpu!.sum, { rtol: 1e-4, atol: 1e-2 });
  });
});
