#!/usr/bin/env node
/** The `wgprune` command. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { shutdown } from '../engine/index.js';
import { smoke } from './smoke.js';

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

program.hook('postAction', () => shutdown());

program.parseAsync().catch((e: Error) => {
  shutdown();
  console.error(`wgprune: ${e.message}`);
  process.exit(1);
});
