/**
 * A study's configuration from loose options (command-line strings or values), checked in
 * full before anything runs: every problem is a StudyInputError naming the option.
 *
 * Methods are written `criterion:granularity`, e.g. `random:weight`, `l1:weight`, `l2:filter`,
 * `l1:4x4`, `l1:2:4` (N:M), `taylor:weight`; the prune command's names (`l1-unstructured`,
 * `random-unstructured`, `l1-structured`, `l2-structured`, `random-structured`) work too. Each
 * method is crossed with every scope and schedule given.
 */
import { MODELS } from '../nn/index.js';
import { isNM, parseGranularity, granularityName } from '../pruning/index.js';
import { DEFAULT_STUDY_PROTOCOL, DEFAULT_TEST_LIMIT, DEFAULT_TRAIN_LIMIT, SHIPPED_CHECKPOINTS } from './defaults.js';
import { PRESETS } from './presets.js';
import { FORMATS, type Format, RUNTIMES, SCHEDULES, type StudyConfig, type StudyMethod, type StudyRuntime, type StudySchedule } from './results.js';

/** Bad input: `option` names the flag (without dashes' meaning lost: '--sparsities'). */
export class StudyInputError extends Error {
  readonly exitCode = 2;
  constructor(readonly option: string, message: string) {
    super(`${option}: ${message}`);
    this.name = 'StudyInputError';
  }
}

/** What a user may set; strings are parsed as on the command line. */
export interface StudyOptions {
  preset?: string;
  /** A registered model name, a .safetensors checkpoint (with `arch`), or an .onnx model file. */
  model?: string;
  arch?: string;
  data?: string;
  methods?: string | string[];
  scope?: string | string[];
  schedule?: string | string[];
  rounds?: number | string;
  finetuneEpochs?: number | string;
  sparsities?: string | number[];
  formats?: string | string[];
  batches?: string | number[];
  seeds?: string | number[];
  trainEpochs?: number | string;
  trainLimit?: number | string | null;
  testLimit?: number | string | null;
  batchSize?: number | string;
  optimizer?: string;
  lr?: number | string;
  momentum?: number | string;
  weightDecay?: number | string;
  bsrBlock?: string | [number, number];
  reps?: number | string;
  warmup?: number | string;
  minSample?: number | string;
  layerTimes?: boolean;
  backend?: string;
  /** 'wgprune' (the default), or 'onnxruntime' / 'wgprune,onnxruntime' to time on ONNX Runtime too. */
  runtime?: string | string[];
}

const CRITERIA = /^(random|l1|l2|linf|l\d+(\.\d+)?|gradient|taylor|bn-scale)$/;

const ALIASES: Record<string, string> = {
  'l1-unstructured': 'l1:weight', 'random-unstructured': 'random:weight', 'l1-structured': 'l1:filter',
  'l2-structured': 'l2:filter', 'random-structured': 'random:filter',
};

/** True when `--model` names an ONNX file rather than a registered architecture or a checkpoint. */
export function isOnnxModel(model: string): boolean {
  return /\.onnx$/i.test(model);
}

function list(v: string | readonly (string | number)[] | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const items = (typeof v === 'string' ? v.split(',') : v.map(String)).map((s) => s.trim()).filter(Boolean);
  return items;
}

function numbers(option: string, v: string | readonly number[] | undefined, check: (n: number) => boolean, what: string): number[] | undefined {
  const items = list(v);
  if (items === undefined) return undefined;
  if (items.length === 0) throw new StudyInputError(option, `expected ${what}, got an empty list`);
  return items.map((s) => {
    const n = Number(s);
    if (s === '' || !check(n)) throw new StudyInputError(option, `expected ${what}, got '${s}'`);
    return n;
  });
}

function integer(option: string, v: number | string | undefined | null, min: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new StudyInputError(option, `expected an integer ≥ ${min}, got '${v}'`);
  return n;
}

/** A sample count: an integer ≥ 1, or 'all' / null for the whole split; undefined keeps the default. */
function limit(option: string, v: number | string | undefined | null, fallback: number): number | null {
  if (v === undefined) return fallback;
  if (v === null || v === 'all') return null;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new StudyInputError(option, `expected a number of samples ≥ 1 or 'all', got '${v}'`);
  return n;
}

function positive(option: string, v: number | string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(Number.isFinite(n) && n > 0)) throw new StudyInputError(option, `expected a positive number, got '${v}'`);
  return n;
}

function nonNegative(option: string, v: number | string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(Number.isFinite(n) && n >= 0)) throw new StudyInputError(option, `expected a non-negative number, got '${v}'`);
  return n;
}

function oneOf<T extends string>(option: string, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) throw new StudyInputError(option, `unknown value '${v}' (expected ${allowed.join(', ')})`);
  return v as T;
}

/** Parses 'criterion:granularity' (or an alias) into a criterion and a canonical granularity name. */
export function parseMethod(spec: string): { criterion: string; granularity: string } {
  const s = ALIASES[spec.trim().toLowerCase()] ?? spec.trim().toLowerCase();
  const colon = s.indexOf(':');
  if (colon <= 0 || colon === s.length - 1) {
    throw new StudyInputError('--methods', `'${spec}' is not criterion:granularity (e.g. l1:weight, random:weight, l1:filter, l1:4x4, l1:2:4)`);
  }
  const criterion = s.slice(0, colon);
  if (!CRITERIA.test(criterion)) throw new StudyInputError('--methods', `unknown criterion '${criterion}' in '${spec}' (expected random, l1, l2, linf, l<p>, gradient, taylor or bn-scale)`);
  let granularity: string;
  try {
    granularity = granularityName(parseGranularity(s.slice(colon + 1)));
  } catch (e) {
    throw new StudyInputError('--methods', `${(e as Error).message} in '${spec}'`);
  }
  return { criterion, granularity };
}

/** 'l1 weight', 'l1 filter global', 'l1 weight iterative×3', … */
export function methodLabel(m: Omit<StudyMethod, 'label'>): string {
  const parts = [m.criterion, m.granularity];
  if (m.scope === 'global') parts.push('global');
  if (m.schedule === 'iterative' || m.schedule === 'lottery' || m.schedule === 'lottery-reinit') parts.push(`${m.schedule}×${m.rounds}`);
  else if (m.schedule === 'agp') parts.push('agp');
  return parts.join(' ');
}

/** True for N:M granularities, whose sparsity is fixed (1 − N/M). */
export function fixedSparsity(m: StudyMethod): number | null {
  const g = parseGranularity(m.granularity);
  return isNM(g) ? 1 - g.nm[0] / g.nm[1] : null;
}

export interface ResolvedStudy {
  config: StudyConfig;
  /** The checkpoint to load (user's or shipped), or null to train / use a fresh model. */
  checkpointPath: string | null;
}

/**
 * Resolves options (a preset first, then explicit options over it) into a complete, checked
 * configuration. Files are not read here (see `checkStudyInputs`).
 */
export function resolveStudy(options: StudyOptions): ResolvedStudy {
  const presetName = options.preset;
  let base: StudyOptions = {};
  if (presetName !== undefined) {
    const preset = PRESETS.get(presetName);
    if (!preset) throw new StudyInputError('--preset', `unknown preset '${presetName}' (known: ${[...PRESETS.keys()].join(', ')})`);
    base = preset.options;
  }
  const explicit = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as StudyOptions;
  const o: StudyOptions = { ...base, ...explicit };
  const presetMethods = presetName !== undefined ? PRESETS.get(presetName)!.methods : undefined;

  // The model: a registered name, a checkpoint file naming (or named by --arch) one, or an ONNX file.
  const modelArg = o.model ?? 'lenet5';
  const onnx = isOnnxModel(modelArg);
  let arch: string;
  let checkpointPath: string | null = null;
  if (onnx) {
    if (o.arch !== undefined) throw new StudyInputError('--arch', `an ONNX file holds its own architecture: --arch only applies to a .safetensors checkpoint (got --model ${modelArg})`);
    arch = '';
  } else if (/\.safetensors$/i.test(modelArg)) {
    checkpointPath = modelArg;
    if (o.arch !== undefined && !MODELS.has(o.arch)) throw new StudyInputError('--arch', `unknown architecture '${o.arch}' (known: ${[...MODELS.keys()].join(', ')})`);
    arch = o.arch ?? '';
  } else {
    if (!MODELS.has(modelArg)) throw new StudyInputError('--model', `unknown model '${modelArg}' (known: ${[...MODELS.keys()].join(', ')}, or a .safetensors checkpoint with --arch)`);
    if (o.arch !== undefined && o.arch !== modelArg) throw new StudyInputError('--arch', `--arch ${o.arch} contradicts --model ${modelArg} (--arch names the architecture of a checkpoint file)`);
    arch = modelArg;
  }
  const trainEpochs = integer('--train-epochs', o.trainEpochs, 0);
  if (onnx && trainEpochs) throw new StudyInputError('--train-epochs', 'an ONNX model is studied with the values in the file (train it before exporting it)');
  if (!checkpointPath && trainEpochs === undefined && SHIPPED_CHECKPOINTS.has(arch)) checkpointPath = SHIPPED_CHECKPOINTS.get(arch)!;

  const datasetOf = (a: string) => MODELS.get(a)?.dataset;
  const data = o.data !== undefined ? oneOf('--data', o.data, ['mnist', 'synthetic-cifar', 'synthetic'] as const) : null;

  const scopes = (list(o.scope) ?? ['local']).map((s) => oneOf('--scope', s, ['local', 'global'] as const));
  const schedules = (list(o.schedule) ?? ['oneshot']).map((s) => oneOf('--schedule', s, SCHEDULES));
  const roundsArg = integer('--rounds', o.rounds, 1);
  const finetuneArg = integer('--finetune-epochs', o.finetuneEpochs, 0);
  let methods: StudyMethod[];
  if (presetMethods && options.methods === undefined) {
    methods = presetMethods.map((m) => ({ ...m, ...(finetuneArg !== undefined ? { finetuneEpochs: finetuneArg } : {}), ...(roundsArg !== undefined ? { rounds: roundsArg } : {}) }));
  } else {
    const specs = list(o.methods) ?? ['random:weight', 'l1:weight', 'l1:filter'];
    if (specs.length === 0) throw new StudyInputError('--methods', 'expected at least one method');
    methods = [];
    for (const spec of specs) {
      const { criterion, granularity } = parseMethod(spec);
      // N:M is a pattern inside each group of M weights: there is nothing to rank globally.
      const nm = /^\d+:\d+$/.test(granularity);
      for (const scope of nm ? (['local'] as const) : scopes) {
        for (const schedule of schedules) {
          const rounds = roundsArg ?? (schedule === 'agp' ? 10 : schedule === 'oneshot' ? 1 : 3);
          const finetuneEpochs = finetuneArg ?? (schedule === 'agp' ? 2 : 1);
          if (schedule === 'agp' && finetuneEpochs < 1) throw new StudyInputError('--finetune-epochs', 'the agp schedule prunes during fine-tuning: give at least 1 epoch');
          if ((schedule === 'lottery' || schedule === 'lottery-reinit') && finetuneEpochs < 1) throw new StudyInputError('--finetune-epochs', 'the lottery schedules retrain after every round: give at least 1 epoch');
          const m = { criterion, granularity, scope, schedule: schedule as StudySchedule, rounds, finetuneEpochs };
          methods.push({ label: methodLabel(m), ...m });
        }
      }
    }
  }
  // An ONNX file holds trained values only: nothing to rewind to.
  const lottery = onnx ? methods.find((m) => m.schedule === 'lottery' || m.schedule === 'lottery-reinit') : undefined;
  if (lottery) throw new StudyInputError('--schedule', `${lottery.schedule} (method '${lottery.label}') rewinds to the model's initial values, which an ONNX file does not hold: use oneshot, iterative or agp`);
  const labels = new Set<string>();
  for (const m of methods) {
    if (labels.has(m.label)) throw new StudyInputError('--methods', `method '${m.label}' is listed twice`);
    labels.add(m.label);
  }

  const sparsities = numbers('--sparsities', o.sparsities as string | number[] | undefined, (n) => Number.isFinite(n) && n >= 0 && n < 1, 'sparsities in [0, 1) (the fraction removed; 1 would remove everything)') ?? [0.5, 0.75, 0.9];
  const formats = (list(o.formats) ?? ['dense', 'masked', 'csr', 'bsr', 'compacted']).map((f) => oneOf('--formats', f, FORMATS)) as Format[];
  if (formats.length === 0) throw new StudyInputError('--formats', 'expected at least one format');
  if (!formats.includes('dense')) formats.unshift('dense');
  const batches = numbers('--batches', o.batches as string | number[] | undefined, (n) => Number.isInteger(n) && n >= 1, 'positive integer batch sizes') ?? [1, 256];
  const seeds = numbers('--seeds', o.seeds as string | number[] | undefined, (n) => Number.isInteger(n) && n >= 0, 'non-negative integer seeds') ?? [0];
  const dup = (xs: number[], flag: string) => {
    if (new Set(xs).size !== xs.length) throw new StudyInputError(flag, `a value is listed twice (${xs.join(',')})`);
  };
  dup(sparsities, '--sparsities');
  dup(batches, '--batches');
  dup(seeds, '--seeds');
  if (new Set(formats).size !== formats.length) throw new StudyInputError('--formats', 'a format is listed twice');

  const block = o.bsrBlock === undefined ? [4, 4] : typeof o.bsrBlock === 'string' ? o.bsrBlock.split('x').map(Number) : [...o.bsrBlock];
  if (block.length !== 2 || !block.every((n) => Number.isInteger(n) && n >= 1)) throw new StudyInputError('--bsr-block', `expected RxC like 4x4, got '${String(o.bsrBlock)}'`);

  const optimizer = oneOf('--optimizer', o.optimizer ?? 'sgd', ['sgd', 'adam'] as const);
  const backend = oneOf('--backend', o.backend ?? 'webgpu', ['webgpu', 'cpu'] as const);
  const runtimeList = list(o.runtime) ?? ['wgprune'];
  if (runtimeList.length === 0) throw new StudyInputError('--runtime', `expected ${RUNTIMES.join(', ')} or both, got an empty list`);
  const runtimeSet = new Set(runtimeList.map((r) => oneOf('--runtime', r, RUNTIMES)));
  if (runtimeSet.size !== runtimeList.length) throw new StudyInputError('--runtime', 'a runtime is listed twice');
  // wgprune always runs: ONNX Runtime times the same models as a second runtime.
  const runtimes: StudyRuntime[] = runtimeSet.has('onnxruntime') ? ['wgprune', 'onnxruntime'] : ['wgprune'];
  const reps = integer('--reps', o.reps, 1);
  const warmup = integer('--warmup', o.warmup, 0);
  const minSampleS = nonNegative('--min-sample', o.minSample);
  const protocol = {
    ...DEFAULT_STUDY_PROTOCOL,
    ...(reps !== undefined ? { reps, minReps: Math.min(reps, DEFAULT_STUDY_PROTOCOL.minReps) } : {}),
    ...(warmup !== undefined ? { warmup } : {}),
    ...(minSampleS !== undefined ? { minSampleS } : {}),
  };

  const config: StudyConfig = {
    model: onnx ? modelArg : arch,
    checkpoint: checkpointPath,
    // An ONNX model's data follows its input shape, known once the file is read (see study/model-source.ts).
    data: data ?? (datasetOf(arch) === 'cifar10' ? 'synthetic-cifar' : 'mnist'),
    methods,
    sparsities,
    formats,
    batches,
    seeds,
    trainEpochs: trainEpochs ?? (checkpointPath || onnx ? 0 : 1),
    trainLimit: limit('--train-limit', o.trainLimit, DEFAULT_TRAIN_LIMIT),
    testLimit: limit('--test-limit', o.testLimit, DEFAULT_TEST_LIMIT),
    batchSize: integer('--batch-size', o.batchSize, 1) ?? 64,
    optimizer,
    lr: positive('--lr', o.lr) ?? (optimizer === 'adam' ? 1e-3 : 0.01),
    momentum: nonNegative('--momentum', o.momentum) ?? 0.9,
    weightDecay: nonNegative('--weight-decay', o.weightDecay) ?? 0,
    bsrBlock: block as [number, number],
    protocol,
    layerTimes: o.layerTimes ?? true,
    preset: presetName ?? null,
    backend,
    runtimes,
  };
  if (arch && datasetOf(arch) === 'cifar10' && config.data === 'mnist') throw new StudyInputError('--data', `${arch} takes CIFAR-shaped inputs: use synthetic-cifar`);
  if (arch && datasetOf(arch) === 'mnist' && config.data === 'synthetic-cifar') throw new StudyInputError('--data', `${arch} takes MNIST-shaped inputs: use mnist`);
  return { config, checkpointPath };
}
