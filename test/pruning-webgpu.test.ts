/**
 * Masked layers on WebGPU: forward and backward through orig × mask match the
 * CPU reference, and pruned weights stay exactly zero in the effective weight
 * through many optimizer steps — SGD with momentum, Nesterov and weight decay,
 * and Adam/AdamW — even when the optimizer state at pruned positions is
 * non-zero (the model was trained before pruning).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../index.js';
import { Adam, AdamW, Conv2d, Flatten, Linear, type Optimizer, type BaseOptions, ReLU, SGD, Sequential } from '../nn/index.js';
import { getMask, l1Unstructured, lnStructured, prune, remove } from '../pruning/index.js';
import { expectClose, initBoth, on, shutdown } from './helpers/backends.js';

beforeAll(initBoth);
afterAll(shutdown);

type B = 'cpu' | 'webgpu';

/** A mask with both pruned (0) and kept (1) entries: loops over its zeros then check something. */
function expectPartlyPruned(mask: ArrayLike<number>, what: string): void {
  const zeros = Array.prototype.filter.call(mask, (v: number) => v === 0).length;
  expect(zeros, `${what}: pruned entries`).toBeGreaterThan(0);
  expect(zeros, `${what}: kept entries`).toBeLessThan(mask.length);
}

/** conv [4,1,3,3] → flatten 4·4·4 = 64 → fc [8,64] → relu → head [3,8]; input [N,1,6,6]. */
function model(backend: B): Sequential {
  return on(backend, () => {
    const g = new wg.Generator(21);
    return new Sequential(
      ['conv', new Conv2d(1, 4, 3, { generator: g })], ['relu', new ReLU()], ['flatten', new Flatten()],
      ['fc', new Linear(64, 8, { generator: g })], ['relu2', new ReLU()], ['head', new Linear(8, 3, { generator: g })],
    );
  });
}

const X = Float32Array.from({ length: 4 * 36 }, (_, i) => Math.cos(i * 0.37) * 1.5);
const Y = new Int32Array([0, 2, 1, 2]);

function step(m: Sequential, opt: { step(): void; zeroGrad(): void }, backend: B): void {
  on(backend, () =>
    wg.tidy(() => {
      opt.zeroGrad();
      wg.crossEntropy(m.forward(wg.tensor(X, [4, 1, 6, 6])), Y).backward();
      opt.step();
    }),
  );
}

it('masked forward and backward on WebGPU match the CPU reference', async () => {
  const results: Record<B, { out: Float32Array; grads: Float32Array[] }> = {} as never;
  for (const b of ['cpu', 'webgpu'] as const) {
    const m = model(b);
    await l1Unstructured(m.at('conv'), 'weight', 0.4);
    await lnStructured(m.at('fc'), 'weight', 0.25, 2, 0);
    await l1Unstructured(m.at('fc'), 'weight', 0.5);
    const out = on(b, () => {
      const y = m.forward(wg.tensor(X, [4, 1, 6, 6]));
      wg.crossEntropy(y, Y).backward();
      return y;
    });
    const grads = await Promise.all(['conv', 'fc'].map((n) => m.at(n).parameter('weight_orig')!.grad!.toArray()));
    const masks = await Promise.all(['conv', 'fc'].map((n) => getMask(m.at(n), 'weight')!.toArray()));
    masks.forEach((mask, j) => expectPartlyPruned(mask, `${['conv', 'fc'][j]} weight mask on ${b}`));
    masks.forEach((mask, j) => mask.forEach((v, i) => v === 0 && expect(Math.abs(grads[j]![i]!)).toBe(0)));
    results[b] = { out: await out.toArray(), grads };
  }
  expectClose(results.webgpu.out, results.cpu.out, { rtol: 1e-4, atol: 1e-5 }, 'forward');
  results.cpu.grads.forEach((g, j) => expectClose(results.webgpu.grads[j]!, g, { rtol: 1e-3, atol: 1e-5 }, `grad ${j}`));
});

describe('pruned weights stay exactly zero through optimizer steps', () => {
  const optimizers: Array<[string, (params: wg.Tensor[]) => Optimizer<BaseOptions>]> = [
    ['SGD momentum + Nesterov + weight decay', (p) => new SGD(p, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 })],
    ['Adam with L2 weight decay', (p) => new Adam(p, { lr: 0.01, weightDecay: 1e-3 })],
    ['AdamW', (p) => new AdamW(p, { lr: 0.01 })],
  ];
  for (const backend of ['webgpu', 'cpu'] as const) {
    for (const [name, make] of optimizers) {
      it(`${name} on ${backend}`, async () => {
        const m = model(backend);
        const opt = make(m.parameters());
        // Train first, so momentum / Adam moments are non-zero where weights will be pruned.
        for (let i = 0; i < 3; i++) step(m, opt, backend);
        await prune(m, { sparsity: 0.7, scope: 'global' });
        await prune(m, { sparsity: 0.5, granularity: 'filter', layers: ['fc'] });
        const masks = await Promise.all(['conv', 'fc', 'head'].map((n) => getMask(m.at(n), 'weight')!.toArray()));
        // The checks below look only at masked entries: each mask must have some.
        masks.forEach((mask, j) => expectPartlyPruned(mask, `${['conv', 'fc', 'head'][j]} weight mask`));
        const origBefore = await m.at('fc').parameter('weight_orig')!.toArray();
        for (let i = 0; i < 12; i++) {
          step(m, opt, backend);
          if (i % 4 !== 3) continue;
          for (const [j, n] of ['conv', 'fc', 'head'].entries()) {
            const eff = await m.at(n).getParam('weight')!.toArray();
            masks[j]!.forEach((v, k) => {
              if (v === 0 && eff[k] !== 0) expect.fail(`${n}.weight[${k}] = ${eff[k]} after ${i + 1} steps (masked)`);
            });
          }
        }
        // The optimizer did move orig (live entries, and dead ones via momentum/decay) — masking is what keeps them out.
        const origAfter = await m.at('fc').parameter('weight_orig')!.toArray();
        expect(origAfter.some((v, k) => v !== origBefore[k])).toBe(true);
        // remove() keeps the zeros.
        remove(m.at('fc'), 'weight');
        const w = await m.at('fc').parameter('weight')!.toArray();
        masks[1]!.forEach((v, k) => v === 0 && expect(w[k]! + 0).toBe(0));
        opt.dispose();
      });
    }
  }
});
