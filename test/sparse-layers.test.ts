/** SparseLinear / SparseConv2d against the dense layers, and toSparse on LeNet models. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Generator, mul, noGrad, type Tensor, tensor } from '../index.js';
import { Conv2d, createModel, Linear, type Module, SparseConv2d, SparseLinear, SparseSequential, toSparse } from '../nn/index.js';
import { expectClose, initBoth, on, shutdown } from './helpers/backends.js';
import { randomDense } from './helpers/sparse.js';

beforeAll(initBoth);
afterAll(shutdown);

/** Zeroes a random `fraction` of every weight in place (a pruned model without masks). */
async function zeroWeights(model: Module, fraction: number, seed: number): Promise<void> {
  const g = new Generator(seed);
  for (const m of model.modules()) {
    const w = m instanceof Linear || m instanceof Conv2d ? m.parameter('weight') : null;
    if (!w) continue;
    const mask = tensor(Float32Array.from({ length: w.size }, () => (g.uniform() < fraction ? 0 : 1)), w.shape, { backend: w.backend.name });
    const z = noGrad(() => mul(w, mask));
    w.assign(z);
    z.dispose();
    mask.dispose();
  }
}

async function outputs(m: Module, x: Tensor): Promise<Float64Array> {
  const y = noGrad(() => m.forward(x));
  const r = await y.toFloat64Array();
  y.dispose();
  return r;
}

function tolFor(expected: Float64Array) {
  let max = 0;
  for (const v of expected) max = Math.max(max, Math.abs(v));
  return { rtol: 1e-5, atol: 1e-5 * Math.max(1, max) };
}

describe('sparse layers match the dense layers (1e-5 relative)', () => {
  for (const be of ['cpu', 'webgpu'] as const) {
    it(`SparseLinear (csr, bsr 4x4, bsr 16x16) on ${be}, batch 1, 3 and 32, with a pruning-style weight override`, async () => {
      await on(be, async () => {
        const layer = new Linear(70, 45, { generator: new Generator(1) });
        // A mask applied through the getParam hook, as pruning does: the weight stays dense, the override zeroes 80%.
        const g = new Generator(2);
        const mask = tensor(Float32Array.from({ length: 45 * 70 }, () => (g.uniform() < 0.8 ? 0 : 1)), [45, 70]);
        layer.setParamOverride('weight', (m) => mul(m.parameter('weight')!, mask));
        for (const [format, block] of [['csr', undefined], ['bsr', [4, 4]], ['bsr', [16, 16]]] as const) {
          const sl = await SparseLinear.fromLinear(layer, format, block);
          if (format === 'csr') expect(sl.matrix.density).toBeCloseTo(0.2, 1);
          for (const batch of [1, 3, 32]) {
            const x = tensor(randomDense(batch * 70, batch), [batch, 70]);
            const expected = await outputs(layer, x);
            expectClose(await outputs(sl, x), expected, tolFor(expected), `${format} ${block ?? ''} batch ${batch}`);
            x.dispose();
          }
          expect([...sl.stateDict().keys()]).toEqual(['bias']);
          sl.dispose();
        }
        mask.dispose();
        layer.dispose();
      });
    });

    it(`SparseConv2d (csr, bsr 4x4) on ${be}`, async () => {
      await on(be, async () => {
        const layer = new Conv2d(6, 10, 3, { padding: 1, stride: 2, generator: new Generator(3) });
        await zeroWeights(layer, 0.7, 4);
        const x = tensor(randomDense(2 * 6 * 11 * 9, 5), [2, 6, 11, 9]);
        const expected = await outputs(layer, x);
        for (const [format, block] of [['csr', undefined], ['bsr', [4, 4]]] as const) {
          const sc = await SparseConv2d.fromConv2d(layer, format, block);
          expectClose(await outputs(sc, x), expected, tolFor(expected), `${format}`);
          sc.dispose();
        }
        x.dispose();
        layer.dispose();
      });
    });
  }
});

describe('toSparse', () => {
  it('converts LeNet-5 (csr, bsr) on both backends; outputs match the pruned dense model', async () => {
    for (const be of ['cpu', 'webgpu'] as const) {
      await on(be, async () => {
        const model = createModel('lenet5', { seed: 1 });
        await zeroWeights(model, 0.75, 7);
        const x = tensor(randomDense(3 * 28 * 28, 8), [3, 1, 28, 28]);
        const expected = await outputs(model.eval(), x);
        for (const options of [{ format: 'csr' as const }, { format: 'bsr' as const, block: [8, 8] as const }]) {
          const sparse = await toSparse(model, options);
          const kinds = sparse.modules().filter((m) => m instanceof SparseLinear || m instanceof SparseConv2d).length;
          expect(kinds).toBe(5);
          expect(sparse.modules().some((m) => m instanceof Linear || m instanceof Conv2d)).toBe(false);
          expect(sparse.toString()).toContain('SparseConv2d');
          expectClose(await outputs(sparse, x), expected, tolFor(expected), `${be} ${options.format}`);
          sparse.dispose();
        }
        // The source model is intact after the sparse copy is disposed.
        expectClose(await outputs(model, x), expected, { rtol: 0, atol: 0 }, 'source model');
        x.dispose();
        model.dispose();
      });
    }
  });

  it("'auto' times dense, CSR and BSR per layer on the device and picks one; LeNet-300-100 too", async () => {
    await on('webgpu', async () => {
      const model = createModel('lenet5', { seed: 2 });
      await zeroWeights(model, 0.9, 9);
      const x = tensor(randomDense(2 * 28 * 28, 10), [2, 1, 28, 28]);
      const expected = await outputs(model.eval(), x);
      const sparse = (await toSparse(model, { format: 'auto', inputShape: [1, 28, 28], batch: 8, reps: 2 })) as SparseSequential;
      expect(sparse.choices.length).toBe(5);
      for (const c of sparse.choices) {
        expect(Object.keys(c.timings).sort()).toEqual(['bsr 4x4', 'bsr 8x8', 'csr', 'dense']);
        expect(c.timings[c.choice]).toBe(Math.min(...Object.values(c.timings)));
      }
      expectClose(await outputs(sparse, x), expected, tolFor(expected), 'auto');
      sparse.dispose();
      model.dispose();

      const mlp = createModel('lenet300', { seed: 3 });
      await zeroWeights(mlp, 0.9, 11);
      const xm = tensor(randomDense(5 * 784, 12), [5, 1, 28, 28]);
      const want = await outputs(mlp.eval(), xm);
      const sm = (await toSparse(mlp, { format: 'auto', batch: 16, reps: 2 })) as SparseSequential;
      expect(sm.choices.map((c) => c.name).length).toBe(3);
      expectClose(await outputs(sm, xm), want, tolFor(want), 'auto mlp');
      sm.dispose();
      mlp.dispose();
      x.dispose();
      xm.dispose();
    });
  });

  it('refuses unknown formats, bad blocks and auto without an input shape for convolutions', async () => {
    await on('cpu', async () => {
      const model = createModel('lenet5');
      await expect(toSparse(model, { format: 'coo' as never })).rejects.toThrow(/unknown format 'coo'/);
      await expect(toSparse(model, { format: 'bsr', block: [3, 3] })).rejects.toThrow(/unsupported block shape/);
      await expect(toSparse(model, { format: 'auto' })).rejects.toThrow(/inputShape/);
      model.dispose();
    });
  });
});
