/**
 * Training benchmark (issue "nn, training and MNIST"), run by `npm run bench:train`:
 *  1. accuracy: LeNet-5 and LeNet-300-100 trained on MNIST for up to N epochs
 *     (per-epoch time, test accuracy, device memory in use before/after each epoch);
 *  2. throughput: LeNet-5 training steps at batch 128, ours vs TF.js's WebGPU backend on
 *     the same device, same protocol (warm-up, R steps each ending in a loss readback).
 * Writes bench/results/train.json. Flags: --epochs N, --skip-accuracy, --skip-throughput,
 * --models a,b, --reps R, --out FILE.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import * as wg from '../engine/internal.js';
import { useDawn } from '../gpu/dawn.js';
import { batches, createModel, CosineAnnealingLR, loadMnist, SGD } from '../nn/node.js';
import { fit } from '../nn/fit.js';
import { tfjsOnOurDevice } from './peers/tfjs-device.js';
import { tfjsLenet5 } from './peers/tfjs-lenet5.js';

const { values: args } = parseArgs({
  options: {
    epochs: { type: 'string', default: '15' },
    models: { type: 'string', default: 'lenet5,lenet300' },
    reps: { type: 'string', default: '10' },
    'skip-accuracy': { type: 'boolean', default: false },
    'skip-throughput': { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results/train.json' },
  },
});

useDawn();
const device = await wg.init();
console.log(`device: ${device.adapter} (${device.featureLevel}), ${new Date().toISOString().slice(0, 10)}`);
const [train, test] = await Promise.all([loadMnist('train'), loadMnist('test')]);
const results: Record<string, unknown> = { device: device.adapter, featureLevel: device.featureLevel, date: new Date().toISOString() };

/** Settings known to reach the published accuracies with plain SGD and a cosine schedule. */
const recipes: Record<string, { lr: number; weightDecay: number; target: number }> = {
  lenet5: { lr: 0.05, weightDecay: 5e-4, target: 0.99 },
  lenet300: { lr: 0.05, weightDecay: 1e-4, target: 0.98 },
};

if (!args['skip-accuracy']) {
  const epochs = Number(args.epochs);
  for (const name of args.models!.split(',')) {
    const recipe = recipes[name];
    if (!recipe) throw new Error(`bench:train: no recipe for model '${name}'`);
    const model = createModel(name, { seed: 0 });
    const optimizer = new SGD(model.parameters(), { lr: recipe.lr, momentum: 0.9, weightDecay: recipe.weightDecay });
    const memory: Array<{ before: number; after: number }> = [];
    let before = wg.memoryStats().inUseBytes;
    const result = await fit(model, {
      epochs, batchSize: 128, optimizer, scheduler: new CosineAnnealingLR(optimizer, epochs), train, test, seed: 0,
      onEpoch: ({ train: t, test: e }) => {
        memory.push({ before, after: t.inUseBytes });
        before = wg.memoryStats().inUseBytes;
        console.log(`${name} epoch ${t.epoch}: ${t.seconds.toFixed(1)} s (${t.samplesPerSecond.toFixed(0)} samples/s), train loss ${t.loss.toFixed(4)}, test acc ${(100 * e!.accuracy).toFixed(2)}%, in use ${t.inUseBytes} B`);
      },
    });
    const reached = result.history.findIndex((h) => h.test!.accuracy >= recipe.target) + 1;
    results[name] = {
      recipe: { optimizer: 'SGD', momentum: 0.9, ...recipe, batchSize: 128, schedule: `cosine over ${epochs} epochs`, seed: 0 },
      epochs: result.history.map((h) => ({ epoch: h.train.epoch, seconds: h.train.seconds, samplesPerSecond: h.train.samplesPerSecond, trainLoss: h.train.loss, testAccuracy: h.test!.accuracy })),
      bestAccuracy: result.bestAccuracy,
      bestEpoch: result.bestEpoch,
      targetReachedAtEpoch: reached || null,
      memory,
    };
    console.log(`${name}: best ${(100 * result.bestAccuracy).toFixed(2)}% at epoch ${result.bestEpoch}; target ${100 * recipe.target}% ${reached ? `reached at epoch ${reached}` : 'NOT reached'}`);
    model.dispose();
    optimizer.dispose();
  }
}

if (!args['skip-throughput']) {
  const reps = Number(args.reps);
  const batch = 128;
  const warmup = 3;
  const sample = [...batches(train, { batchSize: batch, shuffle: true, generator: new wg.Generator(1) })].slice(0, warmup + reps);
  const hostX = await Promise.all(sample.map((b) => b.x.toArray()));
  for (const b of sample) b.x.dispose();

  const timeSteps = async (step: (i: number) => Promise<number>) => {
    for (let i = 0; i < warmup; i++) await step(i);
    const times: number[] = [];
    for (let i = warmup; i < warmup + reps; i++) {
      const t0 = performance.now();
      await step(i);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)]!;
    return { medianMs: median, minMs: times[0]!, maxMs: times.at(-1)!, samplesPerSecond: (1000 * batch) / median };
  };

  const model = createModel('lenet5', { seed: 0 });
  const optimizer = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  model.train();
  const ours = await timeSteps(async (i) => {
    const loss = wg.tidy(() => {
      const x = wg.tensor(hostX[i]!, [batch, 1, 28, 28]);
      const l = wg.crossEntropy(model.forward(x), sample[i]!.y);
      l.backward();
      optimizer.step();
      model.zeroGrad();
      return l;
    });
    const v = await loss.item();
    loss.dispose();
    return v;
  });

  const tf = await tfjsOnOurDevice();
  const peer = tfjsLenet5(tf, batch);
  const theirs = await timeSteps((i) => peer.step(hostX[i]!, sample[i]!.y));
  peer.dispose();
  const protocol = `batch ${batch}, ${warmup} warm-up steps then ${reps} timed steps, each ending in a loss readback; median (min-max)`;
  results.throughput = { protocol, ours, tfjs: theirs, ratio: ours.samplesPerSecond / theirs.samplesPerSecond };
  const fmt = (r: typeof ours) => `${r.samplesPerSecond.toFixed(0)} samples/s (step ${r.medianMs.toFixed(1)} ms, ${r.minMs.toFixed(1)}-${r.maxMs.toFixed(1)})`;
  console.log(`LeNet-5 training throughput (${protocol}):\n  wgprune: ${fmt(ours)}\n  TF.js WebGPU, same device: ${fmt(theirs)}\n  ratio ours/TF.js: ${(ours.samplesPerSecond / theirs.samplesPerSecond).toFixed(2)}x`);
}

mkdirSync(dirname(args.out!), { recursive: true });
writeFileSync(args.out!, `${JSON.stringify(results, null, 2)}\n`);
console.log(`wrote ${args.out}`);
wg.shutdown();
