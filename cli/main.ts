#!/usr/bin/env node
/** The `wgprune` command. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { shutdown } from '../engine/index.js';
import { smoke } from './smoke.js';
import { train } from './train.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  return n;
}

const program = new Command()
  .name('wgprune')
  .description('Neural-network pruning research on WebGPU: real sparse speedups next to the FLOPs that promised them')
  .version('0.1.0');

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
  .option('-o, --out <file>', 'checkpoint path (.safetensors); the best epoch by test accuracy is kept')
  .option('--seed <n>', 'random seed (initial weights, shuffling)', Number, 0)
  .option('--limit <n>', 'use only the first N training samples', positiveInt)
  .option('--no-progress', 'no progress bar')
  .addOption(backendOption())
  .action(async (opts) => {
    const result = await train(opts);
    console.log(`best test accuracy ${(100 * result.bestAccuracy).toFixed(2)}% at epoch ${result.bestEpoch}`);
  });

program.hook('postAction', () => shutdown());

program.parseAsync().catch((e: Error) => {
  shutdown();
  console.error(`wgprune: ${e.message}`);
  process.exit(1);
});
