/**
 * The smoke run: acquire a device, print what was found, and train a tiny MLP for a
 * few SGD steps on a synthetic two-class problem, checking the loss falls. It proves
 * the install end to end (Dawn, adapter, kernels, autograd) in a few seconds.
 */
import * as wg from '../engine/internal.js';

export interface SmokeOptions {
  backend: wg.BackendName;
  steps: number;
  seed: number;
}

export interface SmokeReport {
  device: wg.DeviceDescription;
  losses: number[];
  accuracy: number;
  ms: number;
}

/** Points in two interleaved rings, labelled by ring: not linearly separable. */
function rings(n: number, gen: wg.Generator): { x: Float32Array; y: Int32Array } {
  const x = new Float32Array(n * 2);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    const r = (label ? 2 : 1) + 0.15 * gen.normal();
    const a = 2 * Math.PI * gen.uniform();
    x[2 * i] = r * Math.cos(a);
    x[2 * i + 1] = r * Math.sin(a);
    y[i] = label;
  }
  return { x, y };
}

export async function smoke(options: SmokeOptions, log: (line: string) => void = console.log): Promise<SmokeReport> {
  const device = await wg.init({ backend: options.backend });
  log(`backend: ${device.backend} (${device.featureLevel})`);
  log(`adapter: ${device.adapter}`);
  if (device.backend === 'webgpu') log(`maxComputeInvocationsPerWorkgroup: ${device.limits.maxComputeInvocationsPerWorkgroup}`);
  const gen = new wg.Generator(options.seed);
  const { x, y } = rings(256, gen);
  const input = wg.tensor(x, [256, 2]);
  const hidden = 32;
  // Kaiming-uniform-like initialisation, drawn from the seeded generator.
  const init = (shape: number[], fanIn: number) => wg.rand(shape, { generator: gen, low: -1 / Math.sqrt(fanIn), high: 1 / Math.sqrt(fanIn), requiresGrad: true });
  const params = [init([hidden, 2], 2), init([hidden], 2), init([2, hidden], hidden), init([2], hidden)];
  const [w1, b1, w2, b2] = params as [wg.Tensor, wg.Tensor, wg.Tensor, wg.Tensor];
  const forward = () => wg.linear(wg.relu(wg.linear(input, w1, b1)), w2, b2);
  const losses: number[] = [];
  const start = performance.now();
  for (let step = 0; step < options.steps; step++) {
    const loss = wg.tidy(() => {
      const l = wg.crossEntropy(forward(), y);
      l.backward();
      // Plain SGD, in place.
      wg.noGrad(() => {
        for (const p of params) {
          p.assign(wg.sub(p, wg.mul(p.grad!, 0.5)));
          p.grad!.dispose();
          p.grad = null;
        }
      });
      return l;
    });
    losses.push(await loss.item());
    loss.dispose();
  }
  const ms = performance.now() - start;
  const predicted = await wg.tidy(() => wg.argmax(forward(), 1)).toArray();
  const accuracy = predicted.reduce((s, p, i) => s + (p === y[i] ? 1 : 0), 0) / y.length;
  log(`trained a 2-${hidden}-2 MLP for ${options.steps} SGD steps in ${ms.toFixed(0)} ms: loss ${losses[0]!.toFixed(4)} -> ${losses.at(-1)!.toFixed(4)}, train accuracy ${(100 * accuracy).toFixed(1)}%`);
  return { device, losses, accuracy, ms };
}
