/**
 * `wgprune prune`: load a checkpoint, prune it (one-shot, iterative with
 * fine-tuning, or gradual), report test accuracy before and after and the
 * sparsity per layer, and save the pruned checkpoint.
 *
 *   wgprune prune --model in.safetensors --method l1-unstructured --amount 0.7 \
 *     [--scope global] [--schedule iterative --rounds 3 --finetune-epochs 4] --out out.safetensors
 *
 * `--amount` is the target sparsity: the fraction of units (weights, or groups of
 * the granularity) pruned at the end, per layer (local) or over the pruned layers
 * (global). Methods: l1-unstructured, random-unstructured, l1-structured,
 * l2-structured, ln-structured (with --n), random-structured, gradient, taylor
 * (scores from gradients over training batches) and bn-scale; *-unstructured
 * default to 'weight' granularity, the others to 'filter' (override with
 * --granularity: weight, row, column, kernel, filter, channel, 4x4, 1x4, 2:4 …).
 *
 * Output: by default the masks are made permanent with `remove()` (pruned
 * weights are stored as zeros under the plain keys, so the file loads into a
 * fresh model with loadCheckpoint) and the metadata records the method and the
 * sparsity. With `keepMasks` the weight_orig / weight_mask pairs are saved
 * instead (PyTorch's keys; such a file loads back through this command, which
 * re-creates the masks). Datasets: MNIST (the test split for accuracy, the
 * training split for fine-tuning and gradient criteria); CIFAR-shaped models
 * use synthetic inputs and say so.
 *
 * Checked before any work: the output path (its folder must exist and take a new
 * file; the input checkpoint itself only with `force`); no `out` is a warning that
 * nothing will be saved. A checkpoint holding NaN or ±Infinity is loaded with a
 * warning naming the tensors, or refused with `nonFinite: 'error'` (`--strict`).
 * Fine-tuning that diverges (a NaN or infinite loss) stops with a NonFiniteLossError.
 */
import { type BackendName, Generator, init } from '../engine/internal.js';
import {
  evaluate, loadMnist, MODELS, NonFiniteLossError, saveCheckpoint, SGD, Adam, syntheticCifar, trainEpoch,
  type ArrayDataset, type EvalStats, type Module, type NonFinitePolicy,
} from '../nn/node.js';
import { checkCheckpointOut } from '../nn/checkpoint-out.js';
import type { Criterion } from '../pruning/criteria.js';
import { GradientAccumulator } from '../pruning/gradient.js';
import { type Granularity, parseGranularity } from '../pruning/granularity.js';
import { loadModelCheckpoint } from '../pruning/load-file.js';
import { removeAll } from '../pruning/masked.js';
import { type Normalization, prune, type PruneOptions, type PruneResult, type Scope } from '../pruning/prune.js';
import { sparsityReport, type SparsityReport } from '../pruning/report.js';
import { GradualPruner, iterativeTargets } from '../pruning/schedule.js';

export const PRUNE_METHODS = [
  'l1-unstructured', 'random-unstructured', 'l1-structured', 'l2-structured', 'ln-structured', 'random-structured', 'gradient', 'taylor', 'bn-scale',
] as const;
export type PruneMethod = (typeof PRUNE_METHODS)[number];

export interface PruneCommandOptions {
  /** Input checkpoint (safetensors with `model` in its metadata). */
  model: string;
  /** Output checkpoint; nothing is saved when absent. */
  out?: string;
  method: PruneMethod | string;
  /** Target sparsity, a fraction in [0, 1] (a string is parsed). */
  amount: number | string;
  scope?: Scope;
  granularity?: Granularity | string;
  /** Norm order for ln-structured (default 2). */
  n?: number;
  normalize?: Normalization;
  layers?: string[];
  exclude?: string[];
  schedule?: 'oneshot' | 'iterative' | 'agp';
  /** Iterative: prune → fine-tune rounds (default 3). AGP: number of mask updates (default 10). */
  rounds?: number;
  /** Fine-tuning epochs per round (iterative: default 4), after pruning (one-shot: default 0), or in total (AGP: default 4). */
  finetuneEpochs?: number;
  batchSize?: number;
  optimizer?: 'sgd' | 'adam';
  lr?: number;
  momentum?: number;
  /** Use only the first N training samples for fine-tuning and gradient scores. */
  limit?: number;
  /** Use only the first N test samples for accuracy. */
  testLimit?: number;
  /** Batches of training data fed to the gradient/taylor criteria (default 20). */
  scoreBatches?: number;
  seed?: number;
  backend?: BackendName;
  /** Save weight_orig/weight_mask instead of making the pruning permanent. */
  keepMasks?: boolean;
  /** Allow `out` to be the input checkpoint (overwriting it). */
  force?: boolean;
  /** An input checkpoint holding NaN or ±Infinity: 'warn' (default), 'error' (refuse it) or 'allow'. */
  nonFinite?: NonFinitePolicy;
  log?: (line: string) => void;
  /** Warnings (no output path, non-finite values in the input); default console.warn. */
  warn?: (line: string) => void;
}

export interface PruneCommandResult {
  modelName: string;
  before: EvalStats;
  after: EvalStats;
  /** After each round (iterative), each mask update (AGP) or the single prune. */
  steps: Array<{ target: number; result: PruneResult; accuracy?: number }>;
  report: SparsityReport;
  out: string | null;
  metadata: Record<string, string>;
}

/** Reads an amount like Python reads a literal, but as a target sparsity: it must be in [0, 1]. */
export function parseSparsity(v: number | string): number {
  const x = typeof v === 'number' ? v : Number(String(v).trim());
  if (typeof v === 'string' && String(v).trim() === '') throw new Error('prune: --amount is empty');
  if (!Number.isFinite(x) || x < 0 || x > 1) throw new Error(`prune: --amount is the target sparsity, a fraction in [0, 1]; got '${v}'`);
  return x;
}

function methodSpec(method: string, n: number): { criterion: string | null; granularity: Granularity } {
  switch (method) {
    case 'l1-unstructured': return { criterion: 'l1', granularity: 'weight' };
    case 'random-unstructured': return { criterion: 'random', granularity: 'weight' };
    case 'l1-structured': return { criterion: 'l1', granularity: 'filter' };
    case 'l2-structured': return { criterion: 'l2', granularity: 'filter' };
    case 'ln-structured': return { criterion: n === Infinity ? 'linf' : `l${n}`, granularity: 'filter' };
    case 'random-structured': return { criterion: 'random', granularity: 'filter' };
    case 'gradient': return { criterion: null, granularity: 'weight' };
    case 'taylor': return { criterion: null, granularity: 'filter' };
    case 'bn-scale': return { criterion: 'bn-scale', granularity: 'filter' };
    default: throw new Error(`prune: unknown method '${method}' (known: ${PRUNE_METHODS.join(', ')})`);
  }
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

export async function pruneCommand(opts: PruneCommandOptions): Promise<PruneCommandResult> {
  const log = opts.log ?? console.log;
  const warn = opts.warn ?? console.warn;
  const sparsity = parseSparsity(opts.amount);
  const schedule = opts.schedule ?? 'oneshot';
  if (!['oneshot', 'iterative', 'agp'].includes(schedule)) throw new Error(`prune: --schedule must be oneshot, iterative or agp, got '${schedule}'`);
  const spec = methodSpec(opts.method, opts.n ?? 2);
  const granularity = parseGranularity(opts.granularity ?? spec.granularity);
  const rounds = opts.rounds ?? (schedule === 'agp' ? 10 : 3);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`prune: --rounds must be a positive integer, got ${rounds}`);
  const finetuneEpochs = opts.finetuneEpochs ?? (schedule === 'oneshot' ? 0 : 4);
  if (!Number.isInteger(finetuneEpochs) || finetuneEpochs < 0) throw new Error(`prune: --finetune-epochs must be a non-negative integer, got ${finetuneEpochs}`);
  if (schedule === 'agp' && finetuneEpochs < 1) throw new Error('prune: the agp schedule prunes during training: --finetune-epochs must be at least 1');
  const seed = opts.seed ?? 0;
  const batchSize = opts.batchSize ?? 128;
  if (opts.out !== undefined) await checkCheckpointOut(opts.out, { input: opts.model, force: opts.force });
  else warn('warning: no --out given: the pruned model will not be saved');

  // The checkpoint: which model, and whether it holds masks (re-created before loading).
  const device = await init({ backend: opts.backend ?? 'webgpu' });
  log(`device: ${device.backend} — ${device.adapter}`);
  const onWarning = (message: string) => warn(`warning: ${message}${opts.nonFinite === undefined || opts.nonFinite === 'warn' ? '; --strict refuses such a checkpoint' : ''}`);
  const loaded = await loadModelCheckpoint(opts.model, { seed, nonFinite: opts.nonFinite, onWarning }).catch((e: Error) => {
    // Whatever is wrong with the input checkpoint is bad input.
    throw Object.assign(new Error(`prune: ${e.message}`, { cause: e }), { exitCode: 2 });
  });
  const { model, arch: modelName, metadata: fileMetadata } = loaded;
  const modelSpec = MODELS.get(modelName)!;

  const mnist = modelSpec.dataset === 'mnist';
  if (!mnist) log('data: synthetic CIFAR-shaped inputs (no CIFAR-10 offline; accuracy is meaningless)');
  const test: ArrayDataset = mnist ? await loadMnist('test', { limit: opts.testLimit }) : syntheticCifar({ n: opts.testLimit ?? 512, seed: seed + 1 });
  let trainSet: ArrayDataset | null = null;
  const needTrain = finetuneEpochs > 0 || spec.criterion === null;
  if (needTrain) trainSet = mnist ? await loadMnist('train', { limit: opts.limit }) : syntheticCifar({ n: opts.limit ?? 2048, seed });

  const before = await evaluate(model, test);
  log(`${modelName} from ${opts.model}: test accuracy ${pct(before.accuracy)} (${before.samples} samples)`);

  let criterion: Criterion | string = spec.criterion ?? 'l1';
  const base: Omit<PruneOptions, 'sparsity'> = {
    granularity, scope: opts.scope ?? 'local', normalize: opts.normalize, layers: opts.layers, exclude: opts.exclude,
    generator: new Generator(seed + 7),
  };
  let acc: GradientAccumulator | null = null;
  const scoreCriterion = async (): Promise<void> => {
    if (spec.criterion !== null) return;
    acc?.dispose();
    acc = new GradientAccumulator(model, { layers: opts.layers });
    await acc.feed(trainSet!, { batchSize, maxBatches: opts.scoreBatches ?? 20, seed });
    criterion = opts.method === 'taylor' ? acc.taylor() : acc.gradientMagnitude();
  };
  const generator = new Generator(seed + 11);
  let epochCount = 0;
  const makeOptimizer = () =>
    opts.optimizer === 'adam'
      ? new Adam(model.parameters(), { lr: opts.lr ?? 1e-4 })
      : new SGD(model.parameters(), { lr: opts.lr ?? 0.01, momentum: opts.momentum ?? 0.9 });
  const finetune = async (epochs: number, afterStep?: (step: number) => void | Promise<void>): Promise<number | undefined> => {
    if (epochs === 0 || !trainSet) return undefined;
    const optimizer = makeOptimizer();
    try {
      for (let e = 0; e < epochs; e++) {
        const stats = await trainEpoch(model, trainSet, optimizer, { batchSize, generator, epoch: ++epochCount, afterStep, stopOnNonFinite: true }).catch((err: Error) => {
          if (!(err instanceof NonFiniteLossError)) throw err;
          throw new Error(`prune: fine-tuning ${err.message.replace(/^training /, '')}; nothing was saved (try a lower --lr)`, { cause: err });
        });
        log(`  fine-tune epoch ${epochCount}: loss ${stats.loss.toFixed(4)}, train accuracy ${pct(stats.accuracy)}, ${stats.samplesPerSecond.toFixed(0)} samples/s`);
      }
    } finally {
      optimizer.dispose();
    }
    return (await evaluate(model, test)).accuracy;
  };

  const steps: PruneCommandResult['steps'] = [];
  if (schedule === 'agp') {
    const perEpoch = Math.ceil(trainSet!.n / batchSize);
    const totalSteps = perEpoch * finetuneEpochs;
    const frequency = Math.max(1, Math.floor((0.75 * totalSteps) / rounds));
    await scoreCriterion();
    const pruner = new GradualPruner(model, { finalSparsity: sparsity, numUpdates: rounds, frequency }, { ...base, criterion });
    log(`AGP: ${rounds} mask updates every ${frequency} steps over ${totalSteps} steps to ${pct(sparsity)}`);
    const accuracy = await finetune(finetuneEpochs, pruner.afterStep);
    if (!pruner.done) await pruner.update(pruner.schedule.startStep + rounds * frequency);
    for (const h of pruner.history) steps.push({ target: h.target, result: h.result });
    if (steps.length) steps[steps.length - 1]!.accuracy = accuracy;
  } else {
    const targets = schedule === 'iterative' ? iterativeTargets(sparsity, rounds) : [sparsity];
    for (const [i, target] of targets.entries()) {
      await scoreCriterion();
      const result = await prune(model, { ...base, criterion, sparsity: target });
      log(`round ${i + 1}/${targets.length}: pruned to ${pct(result.sparsity)} of ${result.units} units (${result.criterion}, ${result.granularity}, ${result.scope})`);
      const accuracy = await finetune(finetuneEpochs);
      if (accuracy !== undefined) log(`  test accuracy ${pct(accuracy)}`);
      steps.push({ target, result, accuracy });
    }
  }

  (acc as GradientAccumulator | null)?.dispose();
  const after = await evaluate(model, test);
  const report = await sparsityReport(model);
  log(report.text);
  log(`test accuracy: ${pct(before.accuracy)} before, ${pct(after.accuracy)} after; ${report.weights.nonzero} of ${report.weights.size} weights non-zero (${pct(report.weights.sparsity)} sparse)`);

  if (!opts.keepMasks) removeAll(model);
  const metadata: Record<string, string> = {
    ...fileMetadata,
    model: modelName,
    format: opts.keepMasks ? 'wgprune-checkpoint-v1-masked' : 'wgprune-checkpoint-v1',
    pruned_from: opts.model,
    pruning_method: opts.method,
    pruning_granularity: typeof granularity === 'string' ? granularity : 'block' in granularity ? `${granularity.block[0]}x${granularity.block[1]}` : `${granularity.nm[0]}:${granularity.nm[1]}`,
    pruning_scope: base.scope!,
    pruning_schedule: schedule,
    pruning_amount: String(sparsity),
    pruning_masks: opts.keepMasks ? 'kept (weight_orig, weight_mask)' : 'removed (zeros stored)',
    sparsity_weights: String(report.weights.sparsity),
    sparsity_all: String(report.total.sparsity),
    nonzero_params: String(report.total.nonzero),
    test_accuracy_before: String(before.accuracy),
    test_accuracy: String(after.accuracy),
  };
  if (opts.out) {
    await saveCheckpoint(opts.out, model, metadata, { nonFinite: 'error' });
    log(`saved ${opts.out}`);
  }
  return { modelName, before, after, steps, report, out: opts.out ?? null, metadata };
}
