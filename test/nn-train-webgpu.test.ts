/**
 * Small training runs on WebGPU whose loss falls with flat memory. In a file of their own: the
 * memory check counts every live storage of the backend, so tensors other tests left to the
 * garbage collector (freed by the finalizer at any moment) must not share the process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../index.js';
import * as nn from '../nn/index.js';
import { initBoth, on, shutdown } from './helpers/backends.js';

beforeAll(initBoth);
afterAll(shutdown);

describe('training on WebGPU', () => {
  it('an MLP separates three Gaussian blobs: loss falls, accuracy is high, memory stays flat', async () => {
    on('webgpu', () => undefined);
    const g = new wg.Generator(11);
    const centers = [[2, 0], [-1, 1.7], [-1, -1.7]];
    const n = 90;
    const xs = new Float32Array(n * 2);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const c = i % 3;
      labels[i] = c;
      xs[2 * i] = centers[c]![0]! + 0.4 * g.normal();
      xs[2 * i + 1] = centers[c]![1]! + 0.4 * g.normal();
    }
    const x = wg.tensor(xs, [n, 2]);
    const model = new nn.Sequential(new nn.Linear(2, 16, { generator: g }), new nn.ReLU(), new nn.Linear(16, 3, { generator: g }));
    const opt = new nn.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const sched = new nn.CosineAnnealingLR(opt, 40);
    const criterion = new nn.CrossEntropyLoss();
    const losses: number[] = [];
    let storagesAfterWarmup = 0;
    for (let step = 0; step < 40; step++) {
      const loss = wg.tidy(() => {
        const l = criterion.forward(model.forward(x), labels);
        opt.zeroGrad();
        l.backward();
        opt.step();
        return l;
      });
      losses.push(await loss.item());
      loss.dispose();
      sched.step();
      if (step === 4) storagesAfterWarmup = wg.memoryStats().storages;
    }
    expect(wg.memoryStats().storages).toBe(storagesAfterWarmup);
    expect(losses[0]).toBeGreaterThan(0.5);
    expect(losses.at(-1)!).toBeLessThan(0.1 * losses[0]!);
    const predicted = await wg.noGrad(() => wg.argmax(model.eval().forward(x), 1)).toArray();
    const correct = predicted.filter((p, i) => p === labels[i]).length;
    expect(correct / n).toBeGreaterThan(0.95);
    opt.dispose();
    model.dispose();
  });

  it('LeNet-5 with Adam learns synthetic class templates', async () => {
    on('webgpu', () => undefined);
    const g = new wg.Generator(5);
    const model = nn.createModel('lenet5', { seed: 1, dropout: 0.1 });
    // Each class is a fixed random 28×28 template; samples add noise to it.
    const templates = Array.from({ length: 10 }, () => Float32Array.from({ length: 784 }, () => g.normal()));
    const n = 20;
    const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
    const data = new Float32Array(n * 784);
    for (let i = 0; i < n; i++) for (let j = 0; j < 784; j++) data[i * 784 + j] = templates[labels[i]!]![j]! + 0.5 * g.normal();
    const x = wg.tensor(data, [n, 1, 28, 28]);
    const opt = new nn.Adam(model.parameters(), { lr: 1e-2 });
    const losses: number[] = [];
    for (let step = 0; step < 16; step++) {
      const loss = wg.tidy(() => {
        const l = wg.crossEntropy(model.forward(x), labels);
        opt.zeroGrad();
        l.backward();
        opt.step();
        return l;
      });
      losses.push(await loss.item());
      loss.dispose();
    }
    expect(losses.at(-1)!, losses.map((l) => l.toFixed(3)).join(' ')).toBeLessThan(0.5 * losses[0]!);
    opt.dispose();
    model.dispose();
  });
});
