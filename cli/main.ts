#!/usr/bin/env node
/** The `wgprune` command. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { shutdown } from '../engine/internal.js';
import { useDawn } from '../gpu/dawn.js';
import { smoke } from './smoke.js';
import { train } from './train.js';
import { registerExport } from './export.js';
import { registerStudy } from './study.js';
import { registerReport } from './report.js';
import { PRUNE_METHODS, pruneCommand } from './prune.js';
import { runBundled } from './run-bundled.js';
import { registerTune } from './tune.js';
import { useTuningCache } from '../tune/cache-file.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  return n;
}

/** A comma-separated list of positive numbers. */
function positiveNumbers(value: string): number[] {
  const list = value.split(',').map((v) => Number(v.trim()));
  if (list.length === 0 || list.some((n) => !(Number.isFinite(n) && n > 0))) throw new InvalidArgumentError(`expected comma-separated positive numbers, got '${value}'`);
  return list;
}

const program = new Command()
  .name('wgprune')
  .description('Neural-network pruning research on WebGPU: real sparse speedups next to the FLOPs that promised them')
  .version('0.1.0')
  // Usage errors (unknown flag, missing or invalid value) exit with 2, like every refused input.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

const backendOption = () => new Option('-b, --backend <name>', 'compute backend').choices(['webgpu', 'cpu']).default('webgpu');

program
  .command('smoke')
  .description('print the adapter and train a tiny MLP for a few steps (checks the install end to end)')
  .addOption(backendOption())
  .option('--steps <n>', 'SGD steps', positiveInt, 60)
  .option('--seed <n>', 'random seed', (v) => Number(v), 0)
  .action(async (opts: { backend: 'webgpu' | 'cpu'; steps: number; seed: number }) => {
    const report = await smoke(opts);
    if (!(report.losses.at(-1)! < report.losses[0]!)) throw new Error('smoke: the loss did not decrease');
  });

program
  .command('train')
  .description('train a model on MNIST, keeping the best checkpoint (safetensors)')
  .requiredOption('-m, --model <name>', 'lenet300 | lenet5 | mnist-cnn2 | conv4')
  .option('-e, --epochs <n>', 'epochs', positiveInt, 10)
  .option('--batch-size <n>', 'mini-batch size', positiveInt, 128)
  .addOption(new Option('--optimizer <name>', 'optimizer').choices(['sgd', 'adam', 'adamw']).default('sgd'))
  .option('--lr <x>', 'learning rate (default: 0.05 for SGD, 1e-3 for Adam)', Number)
  .option('--momentum <x>', 'SGD momentum', Number, 0.9)
  .option('--weight-decay <x>', 'weight decay', Number, 0)
  .addOption(new Option('--schedule <name>', 'learning-rate schedule').choices(['none', 'cosine', 'step']).default('cosine'))
  .option('-o, --out <file>', 'checkpoint path (.safetensors); the best epoch by test accuracy is kept. Its folder must exist (checked before training starts); without --out nothing is saved')
  .option('--seed <n>', 'random seed (initial weights, shuffling)', Number, 0)
  .option('--limit <n>', 'use only the first N training samples', positiveInt)
  .option('--test-limit <n>', 'use only the first N test samples', positiveInt)
  .option('--no-progress', 'no progress bar')
  .option('--allow-nonfinite', 'keep training when the loss becomes NaN or infinite (default: stop, naming the epoch and steps; such epochs are never saved)')
  .addOption(backendOption())
  .action(async (opts) => {
    const result = await train({ ...opts, allowNonFinite: opts.allowNonfinite });
    if (result.bestEpoch === 0) console.log('no epoch ended with a finite loss: nothing was saved');
    else console.log(`best test accuracy ${(100 * result.bestAccuracy).toFixed(2)}% at epoch ${result.bestEpoch}`);
  });

registerStudy(program);
registerReport(program);

const list = (v: string) => v.split(',').map((x) => x.trim()).filter(Boolean);

program
  .command('prune')
  .description('prune a trained checkpoint (masks made permanent), reporting sparsity and MNIST accuracy before/after')
  .requiredOption('-m, --model <file>', 'input checkpoint (.safetensors written by wgprune train)')
  .requiredOption('--method <name>', `pruning method: ${PRUNE_METHODS.join(' | ')}`)
  .requiredOption('--amount <x>', 'target sparsity: fraction of weights (or of structures) removed, in [0, 1]')
  .option('-o, --out <file>', 'output checkpoint. Its folder must exist (checked before any work); without --out nothing is saved')
  .option('--force', 'allow --out to be the --model file (overwrites the input)')
  .option('--strict', 'refuse a --model checkpoint holding NaN or infinite values (default: warn and go on)')
  .addOption(new Option('--scope <scope>', 'rank per layer or across layers').choices(['local', 'global']).default('local'))
  .option('--granularity <g>', 'weight | row | column | kernel | filter | channel | RxC blocks (e.g. 4x4) | N:M (e.g. 2:4)')
  .option('--n <p>', 'norm order for structured (Ln) methods', Number)
  .addOption(new Option('--normalize <how>', 'per-layer score normalisation for global scope').choices(['none', 'l1', 'l2', 'max', 'mean']))
  .option('--layers <names>', 'only these modules (comma-separated)', list)
  .option('--exclude <names>', 'skip these modules (comma-separated)', list)
  .addOption(new Option('--schedule <name>', 'one-shot, K rounds of prune + fine-tune, or gradual (AGP)').choices(['oneshot', 'iterative', 'agp']).default('oneshot'))
  .option('--rounds <k>', 'rounds for iterative pruning', positiveInt)
  .option('--finetune-epochs <n>', 'fine-tune epochs per round', (v) => Number(v))
  .option('--batch-size <n>', 'fine-tuning batch size', positiveInt)
  .addOption(new Option('--optimizer <name>', 'fine-tuning optimizer').choices(['sgd', 'adam']))
  .option('--lr <x>', 'fine-tuning learning rate', Number)
  .option('--limit <n>', 'use only the first N training samples', positiveInt)
  .option('--test-limit <n>', 'use only the first N test samples', positiveInt)
  .option('--keep-masks', 'save weight_orig/weight_mask instead of making pruning permanent')
  .option('--seed <n>', 'random seed', Number, 0)
  .addOption(backendOption())
  .action(async (opts) => {
    await pruneCommand({ ...opts, finetuneEpochs: opts.finetuneEpochs, testLimit: opts.testLimit, keepMasks: opts.keepMasks, nonFinite: opts.strict ? 'error' : 'warn' });
  });

registerExport(program);
registerTune(program);

// Every command that starts a WebGPU backend uses the tuning table measured on its adapter, if the cache holds one.
useTuningCache();

/** Options given to a bench command, back as the entry's command line (`--name value`, flags bare). */
function benchArgs(opts: Record<string, unknown>): string[] {
  const flag = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  return Object.entries(opts).flatMap(([k, v]) => (v === undefined || v === false ? [] : v === true ? [flag(k)] : [flag(k), Array.isArray(v) ? v.join(',') : String(v)]));
}

const bench = program.command('bench').description('benchmarks (warm-up, then timed repetitions each ending in a device sync; median and spread): dense, sparse, compact');
bench
  .command('dense')
  .description('GFLOP/s of our dense matmul and conv2d vs TF.js WebGPU on the same device')
  .option('--json <file>', 'write every figure to a JSON file')
  .option('--quick', 'a few shapes only')
  .action((opts: { json?: string; quick?: boolean }) => {
    runBundled('bench/entries/dense.ts', benchArgs(opts));
  });
bench
  .command('sparse')
  .description('dense vs CSR vs BSR speed over density: speedup, FLOP speedup, realization ratio, break-even')
  .option('--json <file>', 'write every figure to a JSON file')
  .option('--quick', 'a few shapes and densities only')
  .option('--layers <names>', 'only the layers whose name contains one of these comma-separated strings, e.g. CIFAR,1024')
  .option('--out-dir <dir>', 'folder for sparse.svg and sparse.md (default bench/results)')
  .action((opts: { json?: string; quick?: boolean; layers?: string; outDir?: string }) => {
    runBundled('bench/entries/sparse.ts', benchArgs(opts));
  });
bench
  .command('compact')
  .description('dense vs masked vs compacted models at 25/50/75% filter sparsity: latency, FLOP speedup, realization, accuracy')
  .option('--json <file>', 'write every figure to a JSON file')
  .option('--quick', 'one model, small batches, short fine-tuning')
  .option('--models <list>', 'comma-separated models (default: lenet5,mnist-cnn2,conv4)', (v) => v.split(',').map((m) => m.trim()))
  .option('--sparsities <list>', 'comma-separated filter sparsities (default: 0.25,0.5,0.75)', positiveNumbers)
  .option('--cifar-batches <list>', 'batch sizes timed for conv4 (default: 1,256)', positiveNumbers)
  .option('--reps <n>', 'timed repetitions per measurement (protocol)', positiveInt)
  .option('--no-masked', 'do not time the masked models')
  .option('--layer-times', 'also time every layer of the dense and compacted models at the largest batch')
  .option('--fuse', 'also time the dense and compacted models after fuseForInference (BatchNorm folded into the conv, ReLU and max pooling fused)')
  .option('--epochs <n>', 'baseline training epochs of the MNIST models (default 3)', positiveInt)
  .option('--finetune-epochs <n>', 'fine-tuning epochs of each compacted MNIST model (default 1)', positiveInt)
  .action((opts: { json?: string; quick?: boolean; models?: string[]; sparsities?: number[]; cifarBatches?: number[]; reps?: number; masked: boolean; layerTimes?: boolean; fuse?: boolean; epochs?: number; finetuneEpochs?: number }) => {
    const { masked, ...rest } = opts;
    runBundled('bench/entries/compact.ts', [...benchArgs(rest), ...(masked ? [] : ['--no-masked'])]);
  });

program.hook('postAction', () => shutdown());

// The commands run on WebGPU in Node: Dawn (the 'webgpu' package).
useDawn();
program.parseAsync().catch((e: Error & { exitCode?: number }) => {
  shutdown();
  console.error(`wgprune: ${e.message}`);
  // Refused input carries exitCode 2; anything else that fails exits with 1.
  process.exit(typeof e.exitCode === 'number' ? e.exitCode : 1);
});
