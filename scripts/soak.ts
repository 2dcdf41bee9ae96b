/**
 * Soak: trains and prunes LeNet-5 on MNIST for many steps and checks that nothing accumulates.
 *
 *   npm run soak [-- --steps 2000] [--batch 16] [--segments 10] [--warmup 2] [--backend webgpu] [--json FILE]
 *
 * The steps are cut into segments; each segment is one epoch of the library's training loop
 * (`trainEpoch`, SGD with momentum) over the same `steps/segments × batch` MNIST images,
 * reshuffled, followed at its boundary by a pruning round (global L1 unstructured pruning of every
 * layer and L2 filter pruning of the convolutions, both raising their target sparsity a little
 * each round, the way iterative pruning does) and an evaluation on held-out images.
 *
 * After the warm-up segments (the first creates the momentum buffers and the masks, the second
 * lets caches settle) it asserts:
 *   - device memory held by live tensors (`memoryStats().inUseBytes`) is exactly the same at
 *     every boundary, after training and after pruning (a leak of one tensor per step, per epoch
 *     or per pruning round shows at once); pooled memory (`allocatedBytes`) is printed only;
 *   - the process's resident memory (RSS, after a forced GC where `--expose-gc` allows) grows
 *     less than 5 % after the warm-up: the median of the last third of the boundaries against
 *     the median of the first third (single boundaries move by a few MB either way);
 *   - the training loss stays finite.
 * It prints the figures at every boundary and a verdict; the exit status is 1 when an assertion
 * fails, 2 on bad arguments. `--json FILE` also writes every figure (the test suite runs a short
 * soak this way: test/soak.test.ts).
 */
import { writeFileSync } from 'node:fs';
import { Generator, init, memoryStats, shutdown, sync } from '../engine/internal.js';
import { useDawn } from '../gpu/dawn.js';
import { loadMnist } from '../nn/data/mnist.js';
import { createModel } from '../nn/models/index.js';
import { SGD } from '../nn/optim/sgd.js';
import { evaluate, trainEpoch } from '../nn/train.js';
import { prune } from '../pruning/prune.js';
import { sparsityReport } from '../pruning/report.js';

interface Options {
  steps: number;
  batch: number;
  segments: number;
  warmup: number;
  backend: 'webgpu' | 'cpu';
  json?: string;
  seed: number;
  /** Allowed RSS growth after warm-up (fraction). */
  rssLimit: number;
}

const USAGE = 'usage: npm run soak [-- --steps N] [--batch B] [--segments S] [--warmup W] [--backend webgpu|cpu] [--seed K] [--json FILE]';

function parseArgs(argv: string[]): Options {
  const o: Options = { steps: 2000, batch: 16, segments: 10, warmup: 2, backend: 'webgpu', seed: 0, rssLimit: 0.05 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--help' || flag === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    const value = argv[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    const int = (min: number) => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be an integer ≥ ${min}, got '${value}'`);
      return n;
    };
    switch (flag) {
      case '--steps': o.steps = int(1); break;
      case '--batch': o.batch = int(1); break;
      case '--segments': o.segments = int(2); break;
      case '--warmup': o.warmup = int(1); break;
      case '--seed': o.seed = int(0); break;
      case '--json': o.json = value; break;
      case '--backend':
        if (value !== 'webgpu' && value !== 'cpu') throw new UsageError(`--backend must be webgpu or cpu, got '${value}'`);
        o.backend = value;
        break;
      default: throw new UsageError(`unknown option '${flag}'`);
    }
  }
  if (o.warmup >= o.segments) throw new UsageError(`--warmup (${o.warmup}) must be less than --segments (${o.segments}): the checks need boundaries after the warm-up`);
  if (o.steps < o.segments) throw new UsageError(`--steps (${o.steps}) must be at least --segments (${o.segments})`);
  return o;
}

class UsageError extends Error {}

interface Boundary {
  segment: number;
  step: number;
  loss: number;
  accuracy: number;
  weightSparsity: number;
  /** Device bytes of live tensors after the segment's training, and after pruning + evaluation. */
  inUseAfterTrain: number;
  inUseAfterPrune: number;
  storages: number;
  allocatedBytes: number;
  rssMB: number;
  heapMB: number;
  /** Memory of ArrayBuffers and other objects V8 does not manage (host copies of tensors, batches). */
  externalMB: number;
  seconds: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const mb = (bytes: number) => Math.round(bytes / 1048576 * 10) / 10;
const gc = (globalThis as { gc?: () => void }).gc;

async function soak(o: Options): Promise<boolean> {
  const device = await init({ backend: o.backend });
  const perSegment = Math.floor(o.steps / o.segments);
  const steps = perSegment * o.segments;
  const [train, test] = await Promise.all([loadMnist('train', { limit: perSegment * o.batch }), loadMnist('test', { limit: 500 })]);
  const model = createModel('lenet5', { seed: o.seed });
  const optimizer = new SGD(model.parameters(), { lr: 0.02, momentum: 0.9 });
  const generator = new Generator(o.seed + 1);
  console.log(`soak: LeNet-5 on MNIST, ${steps} steps of batch ${o.batch} in ${o.segments} segments of ${perSegment} (one epoch of ${train.n} images each), ` +
    `a pruning round and an evaluation on ${test.n} test images at every boundary; warm-up ${o.warmup} segment(s); ${device.backend} on ${device.adapter}; ` +
    `RSS measured ${gc ? 'after a forced GC' : 'without forced GC (run node with --expose-gc for steadier figures)'}`);
  console.log('segment  step   loss   test acc  sparsity  in use after train / prune (B)  storages  pooled (B)  RSS (MB)  heap (MB)  external (MB)  s');
  const rows: Boundary[] = [];
  const start = performance.now();
  for (let s = 0; s < o.segments; s++) {
    const epoch = await trainEpoch(model, train, optimizer, { batchSize: o.batch, generator, epoch: s + 1 });
    const inUseAfterTrain = memoryStats().inUseBytes;
    // Iterative pruning: a little more each round (up to 80 % of the weights, 50 % of the conv filters).
    // The first round already prunes a filter of each conv (10 %: 1 of 6, 2 of 16), so the masks of
    // every kind (weights, filters and their coupled biases) exist from the first boundary on.
    const round = (s + 1) / o.segments;
    await prune(model, { criterion: 'l1', granularity: 'weight', scope: 'global', sparsity: 0.8 * round });
    await prune(model, { criterion: 'l2', granularity: 'filter', sparsity: 0.1 + 0.4 * round, layers: ['features.0', 'features.3'] });
    const { accuracy } = await evaluate(model, test);
    const weightSparsity = (await sparsityReport(model)).weights.sparsity;
    await sync();
    gc?.();
    const stats = memoryStats();
    const mem = process.memoryUsage();
    rows.push({
      segment: s + 1, step: (s + 1) * perSegment, loss: epoch.loss, accuracy, weightSparsity, inUseAfterTrain, inUseAfterPrune: stats.inUseBytes,
      storages: stats.storages, allocatedBytes: stats.allocatedBytes, rssMB: mb(mem.rss), heapMB: mb(mem.heapUsed), externalMB: mb(mem.external), seconds: Math.round((performance.now() - start) / 100) / 10,
    });
    const r = rows.at(-1)!;
    console.log(`${String(r.segment).padStart(7)}  ${String(r.step).padStart(5)}  ${r.loss.toFixed(3).padStart(5)}  ${(100 * r.accuracy).toFixed(1).padStart(7)} %  ${(100 * r.weightSparsity).toFixed(1).padStart(6)} %  ` +
      `${`${r.inUseAfterTrain} / ${r.inUseAfterPrune}`.padStart(30)}  ${String(r.storages).padStart(8)}  ${String(r.allocatedBytes).padStart(10)}  ${r.rssMB.toFixed(1).padStart(8)}  ${r.heapMB.toFixed(1).padStart(9)}  ${r.externalMB.toFixed(1).padStart(13)}  ${r.seconds}`);
  }

  // Checks, from the end of the warm-up on.
  const base = rows[o.warmup - 1]!;
  const after = rows.slice(o.warmup);
  const failures: string[] = [];
  const driftTrain = after.filter((r) => r.inUseAfterTrain !== after[0]!.inUseAfterTrain);
  const driftPrune = after.filter((r) => r.inUseAfterPrune !== base.inUseAfterPrune);
  if (driftTrain.length) failures.push(`in-use bytes after training moved: ${after.map((r) => r.inUseAfterTrain).join(', ')} B`);
  if (driftPrune.length) failures.push(`in-use bytes at the boundaries moved from ${base.inUseAfterPrune} B: ${after.map((r) => r.inUseAfterPrune).join(', ')} B`);
  // RSS moves by a few MB between boundaries (allocator and driver caches): growth is the trend, the median
  // of the last third of the boundaries after the warm-up over the median of the first third.
  const third = Math.max(1, Math.floor(after.length / 3));
  const early = after.slice(0, third), late = after.slice(-third);
  const rssEarly = median(early.map((r) => r.rssMB)), rssLate = median(late.map((r) => r.rssMB));
  const rssGrowth = rssLate / rssEarly - 1;
  const rssMax = Math.max(...after.map((r) => r.rssMB));
  const span = (rs: Boundary[]) => (rs.length > 1 ? `boundaries ${rs[0]!.segment}–${rs.at(-1)!.segment}` : `boundary ${rs[0]!.segment}`);
  if (rssGrowth >= o.rssLimit) failures.push(`RSS grew ${(100 * rssGrowth).toFixed(1)} % after warm-up (median ${rssEarly} MB at ${span(early)} → ${rssLate} MB at ${span(late)}; limit ${100 * o.rssLimit} %)`);
  const nonFinite = rows.filter((r) => !Number.isFinite(r.loss));
  if (nonFinite.length) failures.push(`the loss was not finite in segment(s) ${nonFinite.map((r) => r.segment).join(', ')}`);

  console.log(`in-use device bytes after warm-up: ${driftPrune.length || driftTrain.length ? 'MOVED' : 'flat'} at ${base.inUseAfterPrune} B at every boundary ` +
    `(${after[0]!.inUseAfterTrain} B after each segment's training, before pruning)`);
  console.log(`RSS after warm-up: median ${rssEarly} MB at ${span(early)}, ${rssLate} MB at ${span(late)}: ${rssGrowth >= 0 ? '+' : ''}${(100 * rssGrowth).toFixed(1)} % ` +
    `(limit ${100 * o.rssLimit} %); between ${Math.min(...after.map((r) => r.rssMB))} and ${rssMax} MB`);
  console.log(`final: test accuracy ${(100 * rows.at(-1)!.accuracy).toFixed(1)} %, weights ${(100 * rows.at(-1)!.weightSparsity).toFixed(1)} % sparse, ${rows.at(-1)!.seconds} s`);
  console.log(failures.length ? `soak FAILED:\n  ${failures.join('\n  ')}` : 'soak passed');

  if (o.json) {
    writeFileSync(o.json, JSON.stringify({
      adapter: `${device.backend}: ${device.adapter}`, steps, batch: o.batch, segments: o.segments, warmup: o.warmup, gcForced: !!gc,
      inUseBytes: base.inUseAfterPrune, inUseFlat: !driftPrune.length && !driftTrain.length,
      rssEarlyMB: rssEarly, rssLateMB: rssLate, rssMaxMB: rssMax, rssGrowth, rssLimit: o.rssLimit,
      finalAccuracy: rows.at(-1)!.accuracy, finalWeightSparsity: rows.at(-1)!.weightSparsity,
      passed: failures.length === 0, failures, boundaries: rows,
    }, null, 2));
  }
  optimizer.dispose();
  model.dispose();
  return failures.length === 0;
}

let options: Options;
try {
  options = parseArgs(process.argv.slice(2));
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  console.error(`soak: ${e.message}\n${USAGE}`);
  process.exit(2);
}
useDawn();
soak(options)
  .then((ok) => { process.exitCode = ok ? 0 : 1; })
  .catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => shutdown());
