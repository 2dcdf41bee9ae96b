/**
 * Where a study's model comes from: a registered architecture (its shipped or given checkpoint,
 * trained here, or as initialised) or an ONNX model file (`nn.fromOnnx`). The runner and the
 * pruning step only see a `ModelSource`: one sample's input shape, the data it takes, how to
 * make a model of the same architecture (`create`, for the per-run copies and the lottery
 * schedules' fresh initial values) and how to get the dense model the study starts from (`load`).
 *
 * The data follows the input shape: [1, 28, 28] is MNIST (accuracy measured), [3, 32, 32] the
 * synthetic CIFAR-shaped set (timing only), anything else seeded random inputs (timing only).
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Generator, init } from '../engine/internal.js';
import { Adam, createModel, fromOnnx, MODELS, type Module, OnnxError, SGD, trainEpoch } from '../nn/index.js';
import type { ArrayDataset } from '../nn/data/loader.js';
import { loadModelCheckpoint } from '../pruning/node.js';
import { isOnnxModel, StudyInputError } from './config.js';
import { type StudyData, StudyStopped } from './method.js';
import type { StudyConfig } from './results.js';

/** The data a model's input shape calls for: MNIST, CIFAR-shaped (synthetic here) or random inputs. */
export type ModelDataset = 'mnist' | 'cifar10' | 'synthetic';

export interface LoadContext {
  config: StudyConfig;
  data: StudyData;
  phase: (text: string, fraction?: number) => void;
  warn: (message: string) => void;
  signal: AbortSignal;
}

export interface ModelSource {
  /** The name tables and titles use: the architecture, or the ONNX file's name. */
  name: string;
  kind: 'registered' | 'onnx';
  /** One sample's input shape (no batch axis). */
  inputShape: number[];
  /** One sample's output shape. */
  outputShape: number[];
  dataset: ModelDataset;
  /**
   * True when `create(seed)` draws fresh initial values from the seed (registered models); an
   * ONNX file only holds its trained values, so the lottery schedules cannot rewind it.
   */
  seededInit: boolean;
  /** A model of this architecture: initialised from `seed`, or the file's values again (ONNX). */
  create(seed: number): Module;
  /** The dense model the study prunes, and a sentence saying where it came from. */
  load(ctx: LoadContext): Promise<{ model: Module; source: string }>;
}

export { isOnnxModel };

/** The data set an input shape calls for. */
export function datasetOfShape(shape: readonly number[]): ModelDataset {
  const is = (s: number[]) => shape.length === s.length && s.every((d, i) => shape[i] === d);
  return is([1, 28, 28]) ? 'mnist' : is([3, 32, 32]) ? 'cifar10' : 'synthetic';
}

/** The study's default data for a data set. */
export function defaultData(dataset: ModelDataset): StudyConfig['data'] {
  return dataset === 'mnist' ? 'mnist' : dataset === 'cifar10' ? 'synthetic-cifar' : 'synthetic';
}

/** Why `data` cannot feed a model taking `shape` (null: it can). 'synthetic' fits every shape. */
export function dataMismatch(data: StudyConfig['data'], shape: readonly number[], name: string): string | null {
  const dataset = datasetOfShape(shape);
  if (data === 'mnist' && dataset !== 'mnist') return `${name} takes [${shape.join(', ')}] inputs, not MNIST's [1, 28, 28]: use ${defaultData(dataset)}`;
  if (data === 'synthetic-cifar' && dataset !== 'cifar10') return `${name} takes [${shape.join(', ')}] inputs, not CIFAR's [3, 32, 32]: use ${defaultData(dataset)}`;
  return null;
}

/** A registered architecture: from the configuration's checkpoint, trained here, or as initialised. */
export function registeredSource(arch: string): ModelSource {
  const spec = MODELS.get(arch);
  if (!spec) throw new Error(`unknown model '${arch}'`);
  return {
    name: arch, kind: 'registered', inputShape: [...spec.inputShape], outputShape: [spec.numClasses], dataset: spec.dataset, seededInit: true,
    create: (seed) => createModel(arch, { seed }),
    load: (ctx) => loadRegistered(arch, ctx),
  };
}

async function loadRegistered(arch: string, { config, data, phase, warn, signal }: LoadContext): Promise<{ model: Module; source: string }> {
  if (config.checkpoint) {
    phase('load the checkpoint');
    const { model, masked } = await loadModelCheckpoint(config.checkpoint, { arch, onWarning: warn });
    if (masked.length) warn(`${config.checkpoint} is already pruned (${masked.length} masked parameters); the study prunes further from it`);
    return { model, source: config.checkpoint };
  }
  const model = createModel(arch, { seed: 0 });
  if (config.trainEpochs === 0 || data.timingOnly) return { model, source: `${arch} as initialised (seed 0), not trained` };
  const opt = config.optimizer === 'adam' ? new Adam(model.parameters(), { lr: config.lr }) : new SGD(model.parameters(), { lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay });
  const gen = new Generator(1);
  try {
    for (let e = 1; e <= config.trainEpochs; e++) {
      if (signal.aborted) throw new StudyStopped();
      await trainEpoch(model, data.train, opt, {
        batchSize: config.batchSize, generator: gen, epoch: e,
        onProgress: (p) => phase(`train the dense model, epoch ${e}/${config.trainEpochs}`, p.batch / p.batches),
        afterStep: () => {
          if (signal.aborted) throw new StudyStopped();
        },
      });
    }
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    opt.dispose();
  }
  return { model, source: `${arch} trained here: ${config.trainEpochs} epoch(s), ${config.optimizer}, ${data.train.n} samples, seed 0` };
}

/** What an ONNX file holds, as the study needs it. */
export interface OnnxModelInfo {
  inputShape: number[];
  outputShape: number[];
  opset: number;
}

/** Reads an ONNX file; a file that cannot be read is a StudyInputError naming --model. */
async function readOnnx(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new StudyInputError('--model', `${path}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

function importOnnx(path: string, bytes: Uint8Array, backend?: 'cpu'): ReturnType<typeof fromOnnx> {
  try {
    return fromOnnx(bytes, backend ? { backend } : {});
  } catch (e) {
    if (e instanceof OnnxError) throw new StudyInputError('--model', `${path}: ${e.message}`);
    throw e;
  }
}

/**
 * Checks an ONNX model before any work: the file is read and imported on the CPU backend (cheap
 * for the models a study handles), so a file that is not ONNX, or uses operators wgprune does
 * not import, is refused as a StudyInputError naming --model.
 */
export async function inspectOnnxModel(path: string): Promise<OnnxModelInfo> {
  const bytes = await readOnnx(path);
  await init({ backend: 'cpu' });
  const imported = importOnnx(path, bytes, 'cpu');
  imported.model.dispose();
  return { inputShape: imported.inputShape, outputShape: imported.outputShape, opset: imported.opset };
}

/** An ONNX file: every `create` imports the file again (the per-run copies then load the dense model's values). */
export async function onnxSource(path: string): Promise<ModelSource> {
  const bytes = await readOnnx(path);
  // Read the shapes once (the import is cheap); the model itself is built by load() and create().
  const first = importOnnx(path, bytes);
  const { inputShape, outputShape, opset } = first;
  first.model.dispose();
  const name = basename(path);
  return {
    name, kind: 'onnx', inputShape, outputShape, dataset: datasetOfShape(inputShape), seededInit: false,
    create: () => importOnnx(path, bytes).model,
    load: async ({ phase }) => {
      phase('import the ONNX model');
      const { model } = importOnnx(path, bytes);
      return { model, source: `ONNX file ${path} (opset ${opset}, ${bytes.length.toLocaleString('en-US')} bytes; input [N, ${inputShape.join(', ')}], output [N, ${outputShape.join(', ')}]), imported with its values` };
    },
  };
}

/** The configuration's model: an ONNX file (read here) or a registered architecture. */
export async function openModelSource(config: StudyConfig): Promise<ModelSource> {
  return isOnnxModel(config.model) ? onnxSource(config.model) : registeredSource(config.model);
}

/**
 * Seeded random inputs of one sample's `shape` (timing only), labelled 0..classes-1 so that the
 * gradient criteria have something to score; `n` is capped to keep the set under 64 MiB.
 */
export function randomInputs(shape: readonly number[], n: number, seed: number, classes: number): ArrayDataset {
  const size = shape.reduce((a, b) => a * b, 1);
  const count = Math.max(1, Math.min(n, Math.floor((16 * 1024 * 1024) / Math.max(size, 1))));
  const g = new Generator(seed);
  const x = new Float32Array(count * size);
  for (let i = 0; i < x.length; i++) x[i] = g.normal();
  const y = new Int32Array(count);
  for (let i = 0; i < count; i++) y[i] = g.int(Math.max(1, classes));
  return { x, y, sampleShape: [...shape], n: count };
}
