/**
 * `npm run bench:prune`: the pruning toolkit's targets on MNIST.
 *
 *   lenet300-imp  LeNet-300-100, iterative magnitude pruning (K rounds of prune →
 *                 fine-tune) to 8% of the weights remaining; target: test accuracy
 *                 within 0.3 points of the dense baseline (Han et al. 2015: 98.36% → 98.41%).
 *   lenet5-imp    the same for LeNet-5 (Han et al.: 99.20% → 99.23%).
 *   lottery       Lottery Ticket on LeNet-300-100 (Frankle & Carbin 2019): prune p% per
 *                 round with rewinding to initialisation until ≤ 10% remains; the ticket,
 *                 retrained, within 0.3 points of dense; the same mask with random
 *                 re-initialisation measurably worse.
 *
 * Everything is configurable (flags, or environment variables PRUNE_<FLAG> with
 * dashes as underscores, e.g. PRUNE_EPOCHS=2); defaults are the full targets.
 * Quick check:  npx tsx bench/prune.ts --targets lenet300-imp --epochs 1 --finetune-epochs 1 \
 *                 --rounds 2 --limit 2000 --test-limit 1000
 * --finetune-schedule cosine anneals each round's fine-tuning learning rate to zero
 * (default: constant).
 * --dense-dir DIR keeps each IMP target's trained dense model as DIR/<model>-dense.safetensors
 * and, when that file is already there, loads it instead of training again (so the
 * pruning phase can be rerun with other settings from the same baseline).
 * Results go to bench/results/prune.json (--out to change), with the configuration,
 * the device, per-round accuracies and sparsities, and wall-clock seconds.
 */
import { access, mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type BackendName, Generator, init, shutdown } from '../engine/internal.js';
import { useDawn } from '../gpu/dawn.js';
import {
  Adam, CosineAnnealingLR, createModel, evaluate, loadCheckpoint, loadMnist, type MnistDataset, type Module, saveCheckpoint, SGD, trainEpoch,
} from '../nn/node.js';
import { iterativePrune, LotteryTicket, type Scope, sparsityReport } from '../pruning/index.js';

const OPTIONS = {
  targets: { type: 'string', default: 'lenet300-imp,lenet5-imp,lottery' },
  epochs: { type: 'string', default: '20' },
  'finetune-epochs': { type: 'string', default: '4' },
  rounds: { type: 'string', default: '3' },
  sparsity: { type: 'string', default: '0.92' },
  scope: { type: 'string', default: 'global' },
  'batch-size': { type: 'string', default: '128' },
  lr: { type: 'string', default: '0.05' },
  'finetune-lr': { type: 'string', default: '0.01' },
  'finetune-schedule': { type: 'string', default: 'constant' },
  momentum: { type: 'string', default: '0.9' },
  'weight-decay': { type: 'string', default: '0.0001' },
  'lt-rounds': { type: 'string', default: '11' },
  'lt-fraction': { type: 'string', default: '0.2' },
  'lt-head-fraction': { type: 'string', default: '0.1' },
  'lt-epochs': { type: 'string', default: '' },
  'lt-lr': { type: 'string', default: '0.0012' },
  'lt-batch-size': { type: 'string', default: '60' },
  limit: { type: 'string', default: '' },
  'test-limit': { type: 'string', default: '' },
  tolerance: { type: 'string', default: '0.3' },
  backend: { type: 'string', default: 'webgpu' },
  seed: { type: 'string', default: '0' },
  'dense-dir': { type: 'string', default: '' },
  out: { type: 'string', default: 'bench/results/prune.json' },
} as const;

type Key = keyof typeof OPTIONS;

function config(): Record<Key, string> {
  const { values } = parseArgs({ options: OPTIONS, allowPositionals: false });
  const out = {} as Record<Key, string>;
  for (const key of Object.keys(OPTIONS) as Key[]) {
    const env = process.env[`PRUNE_${key.toUpperCase().replace(/-/g, '_')}`];
    const given = process.argv.some((a) => a === `--${key}` || a.startsWith(`--${key}=`));
    out[key] = given ? String(values[key]) : env ?? String(values[key]);
  }
  return out;
}

const num = (s: string, name: string): number => {
  const v = Number(s);
  if (s === '' || !Number.isFinite(v)) throw new Error(`bench:prune: --${name} must be a number, got '${s}'`);
  return v;
};
const optInt = (s: string): number | undefined => (s === '' ? undefined : Math.trunc(Number(s)));
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

interface Data {
  train: MnistDataset;
  test: MnistDataset;
}

interface Training {
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  seed: number;
  cosine: boolean;
  optimizer: 'sgd' | 'adam';
  afterStep?: (step: number) => void;
}

/** Trains `model` in place; returns the final and the best test accuracy over the epochs. */
async function train(model: Module, data: Data, t: Training, label: string): Promise<{ final: number; best: number; seconds: number }> {
  const start = performance.now();
  const optimizer = t.optimizer === 'adam'
    ? new Adam(model.parameters(), { lr: t.lr })
    : new SGD(model.parameters(), { lr: t.lr, momentum: t.momentum, weightDecay: t.weightDecay });
  const scheduler = t.cosine ? new CosineAnnealingLR(optimizer, t.epochs) : null;
  const generator = new Generator(t.seed);
  let final = NaN;
  let best = -Infinity;
  try {
    for (let epoch = 1; epoch <= t.epochs; epoch++) {
      const stats = await trainEpoch(model, data.train, optimizer, { batchSize: t.batchSize, generator, epoch, afterStep: t.afterStep });
      scheduler?.step();
      final = (await evaluate(model, data.test)).accuracy;
      best = Math.max(best, final);
      console.log(`  ${label} epoch ${epoch}/${t.epochs}: loss ${stats.loss.toFixed(4)}, test ${pct(final)}, ${stats.samplesPerSecond.toFixed(0)} samples/s`);
    }
  } finally {
    optimizer.dispose();
  }
  return { final, best, seconds: (performance.now() - start) / 1000 };
}

const exists = (path: string) => access(path).then(() => true, () => false);

/** Trains the dense baseline, or loads it from --dense-dir when a previous run left it there. */
async function denseBaseline(model: Module, modelName: string, data: Data, c: Record<Key, string>, t: Training): Promise<{ final: number; best: number; loaded?: string }> {
  const path = c['dense-dir'] === '' ? null : resolve(c['dense-dir'], `${modelName}-dense.safetensors`);
  if (path && await exists(path)) {
    await loadCheckpoint(path, model);
    const accuracy = (await evaluate(model, data.test)).accuracy;
    console.log(`${modelName}: dense model loaded from ${path}: test ${pct(accuracy)}`);
    return { final: accuracy, best: accuracy, loaded: path };
  }
  console.log(`${modelName}: dense training`);
  const result = await train(model, data, t, 'dense');
  if (path) {
    await mkdir(dirname(path), { recursive: true });
    await saveCheckpoint(path, model, { model: modelName, epochs: String(t.epochs), accuracy: String(result.final) });
    console.log(`${modelName}: dense model saved to ${path}`);
  }
  return result;
}

async function imp(modelName: string, data: Data, c: Record<Key, string>) {
  const start = performance.now();
  const seed = num(c.seed, 'seed');
  const model = createModel(modelName, { seed });
  const base = { batchSize: num(c['batch-size'], 'batch-size'), momentum: num(c.momentum, 'momentum'), weightDecay: num(c['weight-decay'], 'weight-decay'), optimizer: 'sgd' as const };
  const dense = await denseBaseline(model, modelName, data, c, { ...base, epochs: num(c.epochs, 'epochs'), lr: num(c.lr, 'lr'), seed, cosine: true });
  const sparsity = num(c.sparsity, 'sparsity');
  const finetuneEpochs = num(c['finetune-epochs'], 'finetune-epochs');
  const rounds: Array<{ round: number; sparsity: number; accuracy: number }> = [];
  await iterativePrune(model, {
    sparsity, rounds: num(c.rounds, 'rounds'), scope: c.scope as Scope,
    finetune: async (round, result) => {
      console.log(`${modelName}: round ${round}: ${pct(result.sparsity)} of the weights pruned`);
      const ft = await train(model, data, { ...base, epochs: finetuneEpochs, lr: num(c['finetune-lr'], 'finetune-lr'), seed: seed + round, cosine: c['finetune-schedule'] === 'cosine' }, `fine-tune ${round}`);
      rounds.push({ round, sparsity: result.sparsity, accuracy: ft.final });
    },
  });
  const after = (await evaluate(model, data.test)).accuracy;
  const report = await sparsityReport(model);
  const tolerance = num(c.tolerance, 'tolerance');
  const delta = 100 * (after - dense.final);
  return {
    target: `${modelName}-imp`, model: modelName,
    goal: `test accuracy within ${tolerance} points of dense at ≤ ${pct(1 - sparsity)} of the weights remaining`,
    dense: { accuracy: dense.final, best: dense.best, ...(dense.loaded ? { loadedFrom: dense.loaded } : {}) },
    pruned: { accuracy: after, remaining: 1 - report.weights.sparsity, nonzeroWeights: report.weights.nonzero, weights: report.weights.size },
    deltaPoints: delta,
    pass: delta >= -tolerance && 1 - report.weights.sparsity <= 1 - sparsity + 1e-4,
    rounds,
    layers: report.rows.filter((r) => r.prunable).map((r) => ({ key: r.key, size: r.size, nonzero: r.nonzero, sparsity: r.sparsity })),
    seconds: (performance.now() - start) / 1000,
  };
}

async function lottery(data: Data, c: Record<Key, string>) {
  const start = performance.now();
  const seed = num(c.seed, 'seed');
  const model = createModel('lenet300', { seed });
  const epochs = c['lt-epochs'] === '' ? num(c.epochs, 'epochs') : num(c['lt-epochs'], 'lt-epochs');
  const t = { epochs, batchSize: num(c['lt-batch-size'], 'lt-batch-size'), lr: num(c['lt-lr'], 'lt-lr'), momentum: 0, weightDecay: 0, cosine: false, optimizer: 'adam' as const };
  const ticket = new LotteryTicket(model, {
    rounds: num(c['lt-rounds'], 'lt-rounds'), pruneFraction: num(c['lt-fraction'], 'lt-fraction'),
    layerFractions: { 'classifier.4': num(c['lt-head-fraction'], 'lt-head-fraction') }, scope: 'local',
  });
  const result = await ticket.run(async ({ round, afterStep }) => {
    console.log(`lottery round ${round}`);
    return (await train(model, data, { ...t, seed: seed + round, afterStep }, `round ${round}`)).final;
  });
  const report = await sparsityReport(model);
  const ticketAcc = result.rounds.at(-1)!.metric!;
  const dense = result.rounds[0]!.metric!;
  console.log('lottery: random re-initialisation control');
  ticket.reinitialize(seed + 1000);
  const control = await train(model, data, { ...t, seed: seed + 1000 }, 'control');
  ticket.dispose();
  const tolerance = num(c.tolerance, 'tolerance');
  const remaining = 1 - report.weights.sparsity;
  // "Measurably worse": the gap must exceed twice the standard error of the difference of
  // two accuracies measured on data.test.n samples each (binomial, unpaired: conservative).
  const se = Math.sqrt((ticketAcc * (1 - ticketAcc) + control.final * (1 - control.final)) / data.test.n);
  const gap = ticketAcc - control.final;
  return {
    target: 'lottery', model: 'lenet300',
    goal: `a ticket at ≤ 10% remaining within ${tolerance} points of dense; random re-init measurably worse`,
    dense: { accuracy: dense },
    ticket: { accuracy: ticketAcc, remaining },
    control: { accuracy: control.final, best: control.best },
    deltaPoints: 100 * (ticketAcc - dense),
    controlGapPoints: 100 * gap,
    controlGapStandardErrorPoints: 100 * se,
    pass: remaining <= 0.1 && 100 * (ticketAcc - dense) >= -tolerance && gap > 2 * se,
    rounds: result.rounds.map((r) => ({ round: r.round, remaining: r.remaining, accuracy: r.metric })),
    seconds: (performance.now() - start) / 1000,
  };
}

async function main(): Promise<void> {
  useDawn();
  const c = config();
  const targets = c.targets.split(',').map((s) => s.trim()).filter(Boolean);
  const known = ['lenet300-imp', 'lenet5-imp', 'lottery'];
  for (const t of targets) if (!known.includes(t)) throw new Error(`bench:prune: unknown target '${t}' (known: ${known.join(', ')})`);
  if (c['finetune-schedule'] !== 'constant' && c['finetune-schedule'] !== 'cosine') throw new Error(`bench:prune: --finetune-schedule must be constant or cosine, got '${c['finetune-schedule']}'`);
  if (c.scope !== 'local' && c.scope !== 'global') throw new Error(`bench:prune: --scope must be local or global, got '${c.scope}'`);
  const device = await init({ backend: c.backend as BackendName });
  console.log(`device: ${device.backend} — ${device.adapter}`);
  const [train, test] = await Promise.all([loadMnist('train', { limit: optInt(c.limit) }), loadMnist('test', { limit: optInt(c['test-limit']) })]);
  const data = { train, test };
  console.log(`MNIST: ${train.n} training / ${test.n} test samples`);
  const results: unknown[] = [];
  const outPath = resolve(c.out);
  const save = async () => {
    await mkdir(dirname(outPath), { recursive: true });
    const doc = {
      benchmark: 'prune', date: new Date().toISOString(), device: { backend: device.backend, adapter: device.adapter },
      config: c, data: { train: train.n, test: test.n, full: train.n === 60000 && test.n === 10000 }, results,
    };
    await writeFile(outPath, `${JSON.stringify(doc, null, 2)}\n`);
  };
  try {
    for (const t of targets) {
      const r = t === 'lottery' ? await lottery(data, c) : await imp(t === 'lenet300-imp' ? 'lenet300' : 'lenet5', data, c);
      results.push(r);
      await save();
      console.log(JSON.stringify(r, (k, v) => (k === 'layers' || k === 'rounds' ? undefined : v)));
    }
  } finally {
    await save();
    console.log(`wrote ${outPath}`);
  }
}

main().then(() => shutdown(), (e: Error) => {
  shutdown();
  console.error(`bench:prune: ${e.stack ?? e.message}`);
  process.exit(1);
});
