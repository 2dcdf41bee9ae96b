/**
 * ONNX Runtime (onnxruntime-node, CPU execution provider) as a second runtime: to check an
 * exported model's outputs and to time it with the project's interleaved protocol.
 *
 *   const { data } = await runOnOrt(bytes, x, [8, 3, 32, 32]);
 *   const t = await timeOnOrt({ dense: denseBytes, compacted: smallBytes }, 64);
 *   t.results.dense.median / t.results.compacted.median     // speedup, from the same rounds
 *   t.runtime                                                // version, threads, optimisation level
 *
 * Timing uses `measure` (measure/timing.ts) with a no-op sync: ONNX Runtime's `run()` resolves
 * when the outputs are ready, so each call is timed whole. Every model sees the same seeded
 * synthetic input. onnxruntime-node is loaded on first use (it is a native addon), so importing
 * wgprune does not load it.
 */
import { Generator } from '../engine/internal.js';
import { OnnxError } from '../nn/onnx/errors.js';
import { readGraph } from '../nn/onnx/graph.js';
import { measure, type MeasureResult, type ProtocolOptions } from './timing.js';

type Ort = typeof import('onnxruntime-node');
type OrtInferenceSession = import('onnxruntime-node').InferenceSession;

export interface OrtOptions {
  /** Threads inside one operator (default: every core the OS reports, `os.availableParallelism()`). */
  intraOpNumThreads?: number;
  /** Threads running independent operators (default 1: operators run in sequence). */
  interOpNumThreads?: number;
  /** ONNX Runtime's graph optimisations (default 'all'). */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

/** The runtime as configured, to report next to its figures. */
export interface OrtRuntime {
  name: 'onnxruntime-node';
  version: string;
  executionProvider: 'cpu';
  executionMode: 'sequential';
  intraOpNumThreads: number;
  interOpNumThreads: number;
  graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
}

export interface OrtSession {
  /** Runs one batch: `input` holds `shape` (batch axis first) row-major; returns the first output. */
  run(input: Float32Array, shape: readonly number[]): Promise<{ data: Float32Array; shape: number[] }>;
  release(): Promise<void>;
  readonly runtime: OrtRuntime;
  readonly inputName: string;
  readonly outputName: string;
}

let ortModule: Promise<Ort> | null = null;

async function loadOrt(): Promise<Ort> {
  ortModule ??= import('onnxruntime-node').then((m) => ((m as { default?: Ort }).default ?? m) as Ort);
  return ortModule;
}

async function resolveOptions(o: OrtOptions): Promise<Omit<OrtRuntime, 'name' | 'version' | 'executionProvider' | 'executionMode'>> {
  // node:os only when needed, so that importing wgprune in a browser does not pull it in.
  const intra = o.intraOpNumThreads ?? (await import('node:os')).availableParallelism();
  const inter = o.interOpNumThreads ?? 1;
  for (const [k, v] of [['intraOpNumThreads', intra], ['interOpNumThreads', inter]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`ONNX Runtime: ${k} must be a positive integer, got ${v}`);
  }
  return { intraOpNumThreads: intra, interOpNumThreads: inter, graphOptimizationLevel: o.graphOptimizationLevel ?? 'all' };
}

/** Opens an ONNX Runtime CPU session on model bytes (refused as an OnnxError when ORT cannot load it). */
export async function openOrtSession(modelBytes: Uint8Array, options: OrtOptions = {}): Promise<OrtSession> {
  const ort = await loadOrt();
  const o = await resolveOptions(options);
  let session: OrtInferenceSession;
  try {
    session = await ort.InferenceSession.create(modelBytes, {
      executionProviders: ['cpu'], executionMode: 'sequential', logSeverityLevel: 3, ...o,
    });
  } catch (e) {
    throw new OnnxError('malformed', `ONNX Runtime cannot load the model: ${(e as Error).message}`);
  }
  const inputName = session.inputNames[0]!, outputName = session.outputNames[0]!;
  const runtime: OrtRuntime = { name: 'onnxruntime-node', version: ort.env.versions.node ?? ort.env.versions.common, executionProvider: 'cpu', executionMode: 'sequential', ...o };
  return {
    runtime, inputName, outputName,
    async run(input, shape) {
      const x = new ort.Tensor('float32', input, [...shape]);
      const out = await session.run({ [inputName]: x });
      const y = out[outputName]!;
      return { data: (y.data as Float32Array).slice(), shape: [...y.dims] };
    },
    release: () => session.release(),
  };
}

/** Runs a model once on ONNX Runtime (CPU) and returns its first output. */
export async function runOnOrt(modelBytes: Uint8Array, input: Float32Array, shape: readonly number[], options: OrtOptions = {}): Promise<{ data: Float32Array; shape: number[] }> {
  const s = await openOrtSession(modelBytes, options);
  try {
    return await s.run(input, shape);
  } finally {
    await s.release();
  }
}

export interface OrtTimingOptions extends OrtOptions, Partial<ProtocolOptions> {
  /** One sample's input shape; default: the (static) one the first model declares. */
  inputShape?: readonly number[];
  /** Seed of the synthetic input (default 0). */
  seed?: number;
  signal?: AbortSignal;
}

export interface OrtTimingResult<K extends string> extends MeasureResult<K> {
  runtime: OrtRuntime;
  batch: number;
  inputShape: number[];
}

function declaredInputShape(bytes: Uint8Array): number[] {
  const dims = readGraph(bytes).input.dims;
  const per = dims?.slice(1) ?? [];
  if (!dims || per.length === 0 || !per.every((d): d is number => typeof d === 'number')) {
    throw new OnnxError('dynamic-shape', `timeOnOrt: the model's input ${dims ? `[${dims.map((d) => d ?? '?').join(', ')}]` : '(no shape)'} does not fix one sample's shape; pass inputShape`);
  }
  return per;
}

/**
 * Times one or several ONNX models on ONNX Runtime (CPU) at one batch size with `measure`'s
 * interleaved protocol (several models: one call of each per round, so their ratio comes from the
 * same rounds). A single model is reported under the key 'model'.
 */
export async function timeOnOrt(modelBytes: Uint8Array, batch: number, options?: OrtTimingOptions): Promise<OrtTimingResult<'model'>>;
export async function timeOnOrt<K extends string>(models: Record<K, Uint8Array>, batch: number, options?: OrtTimingOptions): Promise<OrtTimingResult<K>>;
export async function timeOnOrt(models: Uint8Array | Record<string, Uint8Array>, batch: number, options: OrtTimingOptions = {}): Promise<OrtTimingResult<string>> {
  const named: Record<string, Uint8Array> = models instanceof Uint8Array ? { model: models } : models;
  const keys = Object.keys(named);
  if (keys.length === 0) throw new Error('timeOnOrt: no models given');
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`timeOnOrt: batch must be a positive integer, got ${batch}`);
  const { inputShape: given, seed = 0, signal, intraOpNumThreads, interOpNumThreads, graphOptimizationLevel, ...protocol } = options;
  const inputShape = given ? [...given] : declaredInputShape(named[keys[0]!]!);
  const shape = [batch, ...inputShape];
  const g = new Generator(seed);
  const x = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < x.length; i++) x[i] = g.normal();

  const sessions: OrtSession[] = [];
  try {
    for (const k of keys) sessions.push(await openOrtSession(named[k]!, { intraOpNumThreads, interOpNumThreads, graphOptimizationLevel }));
    const works = Object.fromEntries(keys.map((k, i) => [k, async () => void (await sessions[i]!.run(x, shape))]));
    const r = await measure(works, { ...protocol, signal, sync: async () => {}, syncName: 'none needed: ONNX Runtime\'s run() resolves when its outputs are ready' });
    return { ...r, runtime: sessions[0]!.runtime, batch, inputShape };
  } finally {
    for (const s of sessions) await s.release();
  }
}
