/**
 * `wgprune study`: a model through pruning to a measured, plotted report. Every input is checked
 * before any work starts (a bad one exits with code 2 naming the flag); progress bars show the
 * phase and the time left; Ctrl-C stops after the current step and keeps every finished run
 * (`results.json` is valid at every moment), a second Ctrl-C quits at once.
 */
import { mkdir, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { init } from '../engine/internal.js';
import { loadSafetensors, MODELS } from '../nn/node.js';
import { loadModelCheckpoint } from '../pruning/node.js';
import { resolveStudy, type StudyOptions, StudyInputError } from '../study/config.js';
import { PRESETS } from '../study/presets.js';
import { FORMATS } from '../study/results.js';
import type { StudyResults } from '../study/results.js';
import { StudyStopped } from '../study/method.js';
import { dataMismatch, datasetOfShape, defaultData, inspectOnnxModel, isOnnxModel } from '../study/model-source.js';
import { runStudy, type StudyProgress } from '../study/run.js';

/** A shell-quoted command line, to record how the study was run. */
export function commandLine(argv: readonly string[]): string {
  const q = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`);
  return ['wgprune', ...argv.map(q)].join(' ');
}

/**
 * mkdir -p one level at a time (Node's recursive mkdir never returns on some pseudo file
 * systems, such as /proc, where a folder cannot be made).
 */
async function makeFolders(dir: string): Promise<void> {
  const missing: string[] = [];
  let cur = dir;
  while (!(await stat(cur).catch(() => null))) {
    missing.unshift(cur);
    const up = dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  for (const d of missing) await mkdir(d);
}

/** The output folder: created if needed, and proved writable before any work. */
async function prepareOut(dir: string, force: boolean): Promise<void> {
  const fail = (why: string): never => {
    throw new StudyInputError('--out', `${dir}: ${why}`);
  };
  const info = await stat(dir).catch(() => null);
  if (info && !info.isDirectory()) fail('exists and is not a folder');
  if (info && !force && (await stat(join(dir, 'results.json')).catch(() => null))) fail('already holds a results.json (choose another folder, or --force to replace it)');
  await makeFolders(dir).catch((e: Error) => fail(`cannot be created (${e.message})`));
  const probe = join(dir, `.wgprune-write-test-${process.pid}`);
  await writeFile(probe, '').catch((e: Error) => fail(`is not writable (${e.message})`));
  await unlink(probe).catch(() => undefined);
}

function defaultOut(model: string): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `wgprune-study-${model}-${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** Progress bars on a terminal; a line per run and phase otherwise. */
function makeProgress(enabled: boolean): StudyProgress {
  if (!enabled || !process.stderr.isTTY) {
    let current = '';
    let lastPhase = '';
    return {
      start: (n) => console.error(`study: ${n} run(s)`),
      run: (i, id) => {
        current = id;
        console.error(`[run ${i + 1}] ${id}`);
      },
      // Each phase once, when it starts (a log, not a redraw).
      phase: (text) => {
        if (text === lastPhase) return;
        lastPhase = text;
        console.error(`  ${current ? '' : 'set-up: '}${text}`);
      },
      runDone: () => undefined,
      stop: () => undefined,
    };
  }
  const multi = new cliProgress.MultiBar({
    hideCursor: true, clearOnComplete: false, stopOnComplete: false, etaBuffer: 4,
  }, cliProgress.Presets.shades_classic);
  let runs: cliProgress.SingleBar | null = null;
  const phase = multi.create(100, 0, { detail: 'starting' }, { format: 'step |{bar}| {percentage}% | {detail}' });
  return {
    start: (n) => {
      runs = multi.create(n, 0, { detail: '' }, { format: 'runs |{bar}| {value}/{total} | ETA {eta_formatted} | {detail}' });
    },
    run: (i, id) => {
      runs?.update(i, { detail: id });
    },
    phase: (text, fraction) => {
      phase.update(Math.round(100 * (fraction ?? 0)), { detail: text });
    },
    runDone: (i) => runs?.update(i + 1),
    stop: () => multi.stop(),
  };
}

export interface StudyCommandOptions extends StudyOptions {
  out?: string;
  force?: boolean;
  progress?: boolean;
  listPresets?: boolean;
}

export async function studyCommand(opts: StudyCommandOptions, argv: readonly string[]): Promise<StudyResults | null> {
  if (opts.listPresets) {
    for (const p of PRESETS.values()) console.log(`${p.name}\n  ${p.description}\n  source: ${p.source}\n`);
    return null;
  }
  const { out: outArg, force, progress: progressFlag, listPresets: _l, ...options } = opts;
  const { config } = resolveStudy(options);
  // Checkpoint: readable, of a registered architecture, matching --arch — loaded once on the CPU
  // backend (cheap for these models) before any work, so a mismatch is refused up front.
  if (config.checkpoint) {
    await loadSafetensors(config.checkpoint).catch((e: Error) => {
      throw new StudyInputError('--model', e.message);
    });
    await init({ backend: 'cpu' });
    try {
      // Warnings (e.g. non-finite values) are reported by the study's own load, into the results' notes.
      const loaded = await loadModelCheckpoint(config.checkpoint, { arch: config.model || undefined, onWarning: () => undefined });
      loaded.model.dispose();
      config.model = loaded.arch;
    } catch (e) {
      throw new StudyInputError(options.arch ? '--arch' : '--model', (e as Error).message);
    }
    const dataset = MODELS.get(config.model)!.dataset;
    if (options.data === undefined) config.data = dataset === 'cifar10' ? 'synthetic-cifar' : 'mnist';
    else if ((dataset === 'cifar10') !== (config.data === 'synthetic-cifar')) throw new StudyInputError('--data', `${config.model} does not take ${config.data} inputs`);
  }
  // ONNX file: read and imported once on the CPU backend before any work, so a file that is not
  // ONNX, or holds operators wgprune does not import, is refused up front; its input shape picks the data.
  const onnx = isOnnxModel(config.model);
  if (onnx) {
    const { inputShape } = await inspectOnnxModel(config.model);
    if (options.data === undefined) config.data = defaultData(datasetOfShape(inputShape));
    else {
      const why = dataMismatch(config.data, inputShape, basename(config.model));
      if (why) throw new StudyInputError('--data', why);
    }
  }
  if (config.runtimes?.includes('onnxruntime')) {
    await import('onnxruntime-node').catch((e: Error) => {
      throw new StudyInputError('--runtime', `ONNX Runtime (the onnxruntime-node package) cannot be loaded: ${e.message}`);
    });
  }
  const out = resolve(outArg ?? defaultOut(onnx ? basename(config.model).replace(/\.onnx$/i, '') : config.model));
  await prepareOut(out, force ?? false);

  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      console.error('\nwgprune: stopping after the current step (Ctrl-C again to quit now; finished runs are already in results.json)');
      controller.abort();
    } else process.exit(130);
  };
  process.on('SIGINT', onSigint);
  const progress = makeProgress(progressFlag !== false);
  try {
    console.error(`wgprune study: ${config.model} on ${config.data}, ${config.methods.length} method(s) × ${config.sparsities.length} sparsit${config.sparsities.length === 1 ? 'y' : 'ies'} × ${config.seeds.length} seed(s); formats ${config.formats.join(', ')}; batches ${config.batches.join(', ')}; writing to ${out}`);
    let results: StudyResults;
    try {
      results = await runStudy({ config, out, command: commandLine(argv), signal: controller.signal, progress, log: (s) => console.error(s) });
    } catch (e) {
      if (!(e instanceof StudyStopped)) throw e;
      console.error('wgprune: stopped before the first run finished setting up; nothing was measured');
      process.exitCode = 130;
      return null;
    }
    const { writeReport, headlineTable } = await import('../report/index.js');
    const written = await writeReport(out, results);
    console.log(headlineTable(results));
    console.log(`\n${results.complete ? 'done' : `stopped: ${results.stopReason}`} in ${results.durationS.toFixed(0)} s. Results: ${join(out, 'results.json')}; report: ${written.html}`);
    return results;
  } finally {
    process.off('SIGINT', onSigint);
    progress.stop();
  }
}

/** Registers `wgprune study` on the program. */
export function registerStudy(program: Command): void {
  program
    .command('study')
    .description('take a model through pruning: prune → fine-tune → evaluate → convert/compact → check outputs → time every format against the dense model; writes results.json, report.md and report.html')
    .option('-m, --model <name|file>', `${[...MODELS.keys()].join(' | ')}, a .safetensors checkpoint (with --arch), or an .onnx model file (default: lenet5 from the trained checkpoint shipped with wgprune)`)
    .option('--arch <name>', 'architecture of a .safetensors checkpoint given to --model (default: read from the file)')
    .option('--data <name>', 'mnist | synthetic-cifar | synthetic (seeded random inputs); the last two are timing only (default: what the model\'s input shape takes)')
    .option('--preset <name>', `a study from the pruning notes: ${[...PRESETS.keys()].join(' | ')} (other flags override it)`)
    .option('--list-presets', 'describe the presets and exit')
    .option('--methods <list>', 'criterion:granularity list, e.g. random:weight,l1:weight,l2:filter,l1:4x4,l1:2:4 (criteria: random, l1, l2, linf, gradient, taylor, bn-scale) (default: random:weight,l1:weight,l1:filter)')
    .option('--scope <list>', 'local | global, or both: local,global (default: local)')
    .option('--schedule <list>', 'oneshot | iterative | agp | lottery | lottery-reinit, or several (default: oneshot)')
    .option('--rounds <k>', 'iterative/lottery: rounds; agp: mask updates (default 3; agp 10)')
    .option('--finetune-epochs <n>', 'fine-tuning epochs (per round for iterative and lottery) (default 1; agp 2)')
    .option('--sparsities <list>', 'target sparsities in [0, 1) (default: 0.5,0.75,0.9)')
    .option('--formats <list>', `${FORMATS.join(', ')} (default: dense,masked,csr,bsr,compacted)`)
    .option('--batches <list>', 'batch sizes timed (default: 1,256)')
    .option('--seeds <list>', 'seeds: pruning randomness and fine-tuning order (default: 0)')
    .option('--train-epochs <n>', 'train the dense model here for N epochs instead of loading a checkpoint')
    .option('--train-limit <n|all>', 'training samples for fine-tuning and gradient scores (default 2000)')
    .option('--test-limit <n|all>', 'test samples for accuracy (default 1000)')
    .option('--batch-size <n>', 'training batch size (default 64)')
    .option('--optimizer <name>', 'sgd | adam (default sgd)')
    .option('--lr <x>', 'learning rate (default: 0.01 for SGD, 1e-3 for Adam)')
    .option('--momentum <x>', 'SGD momentum (default 0.9)')
    .option('--weight-decay <x>', 'weight decay (default 0)')
    .option('--bsr-block <RxC>', 'block shape of the bsr format (default 4x4)')
    .option('--reps <n>', 'timed repetitions (rounds) per batch size (default 5)')
    .option('--warmup <n>', 'untimed warm-up calls per model (default 2)')
    .option('--min-sample <s>', 'each repetition repeats the forward until it lasts this many seconds (default 0.1)')
    .option('--no-layer-times', 'skip the per-layer times')
    .option('--backend <name>', 'webgpu | cpu (default webgpu)')
    .option('--runtime <list>', 'wgprune | onnxruntime, or both: wgprune,onnxruntime; onnxruntime also exports each run\'s dense, masked and compacted models to ONNX and times them on ONNX Runtime (CPU) (default: wgprune)')
    .option('-o, --out <dir>', 'output folder (default: wgprune-study-<model>-<date>-<time>)')
    .option('--force', 'replace the results in an output folder that already has them')
    .option('--no-progress', 'plain log lines instead of progress bars')
    .action(async (opts: StudyCommandOptions & { methods?: string }, cmd: Command) => {
      void cmd;
      const results = await studyCommand(opts, process.argv.slice(2));
      // Stopped by Ctrl-C: the files are valid and hold every finished run; the exit status says it stopped early.
      if (results && !results.complete) process.exitCode = 130;
    });
}
