/**
 * ONNX Runtime as the study's second runtime: a run's dense, masked (pruning made permanent:
 * `toOnnx` writes effective weights) and compacted models are exported with `nn.toOnnx`, each
 * file's outputs on ONNX Runtime are checked against our own model on the probe batch (dense
 * against the dense model, masked and compacted against the masked model, within
 * OUTPUT_TOLERANCE as the other formats), and the ones that pass are timed with `timeOnOrt` at
 * every batch size in interleaved rounds with the study's protocol, each against ONNX Runtime's
 * own dense model.
 */
import { noGrad, type Tensor, tensor } from '../engine/internal.js';
import { openOrtSession, type OrtRuntime, timeOnOrt } from '../measure/ort.js';
import { outputError } from '../measure/output-error.js';
import { type Module, toOnnx } from '../nn/index.js';
import { type BuiltFormat, OUTPUT_TOLERANCE, probeInput } from './formats.js';
import { StudyStopped } from './method.js';
import { type FormatResult, ORT_FORMATS, type OrtFormat, type OrtFormatResult, type OrtRunResult, type StudyConfig } from './results.js';

export interface OrtRunOptions {
  config: StudyConfig;
  /** The run's built formats (dense, masked and compacted are the ones exported). */
  built: BuiltFormat[];
  /** Their wgprune results, for the FLOP speedups. */
  formats: FormatResult[];
  dense: Module;
  masked: Module;
  inputShape: readonly number[];
  signal: AbortSignal;
  phase: (text: string, fraction?: number) => void;
}

/** outputError(a, b), refusing outputs of different sizes. */
function relativeError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`output sizes differ (${a.length} vs ${b.length})`);
  return outputError(a, b);
}

async function outputsOf(model: Module, x: Tensor): Promise<Float32Array> {
  model.eval();
  const y = noGrad(() => model.forward(x));
  try {
    return (await y.toArray()).slice();
  } finally {
    y.dispose();
  }
}

/** Exports, checks and times the run's dense / masked / compacted models on ONNX Runtime (CPU). */
export async function runOnOnnxRuntime(o: OrtRunOptions): Promise<OrtRunResult> {
  const t0 = performance.now();
  const stop = () => {
    if (o.signal.aborted) throw new StudyStopped();
  };
  const wanted = ORT_FORMATS.filter((f) => o.config.formats.includes(f) && o.built.some((b) => b.format === f && b.status === 'ok' && b.model));
  const entries: Array<OrtFormatResult & { bytes: Uint8Array | null }> = [];
  let runtime: OrtRuntime | null = null;
  const probeShape = [2, ...o.inputShape];
  const probe = probeInput(probeShape, 99);
  const x = tensor(probe, probeShape);
  try {
    const ours = { dense: await outputsOf(o.dense, x), masked: await outputsOf(o.masked, x) };
    for (const [i, format] of wanted.entries()) {
      stop();
      o.phase(`export ${format} to ONNX and check it on ONNX Runtime`, i / Math.max(wanted.length, 1));
      const model = o.built.find((b) => b.format === format)!.model!;
      const flopSpeedup = o.formats.find((f) => f.format === format)?.flopSpeedup ?? 0;
      const entry: OrtFormatResult & { bytes: Uint8Array | null } = { format, status: 'ok', flopSpeedup, onnxBytes: 0, outputError: null, latency: [], bytes: null };
      try {
        const bytes = await toOnnx(model, { inputShape: o.inputShape });
        entry.onnxBytes = bytes.length;
        const session = await openOrtSession(bytes);
        try {
          runtime ??= session.runtime;
          const theirs = (await session.run(probe, probeShape)).data;
          entry.outputError = relativeError(theirs, format === 'dense' ? ours.dense : ours.masked);
        } finally {
          await session.release();
        }
        if (!(entry.outputError <= OUTPUT_TOLERANCE)) {
          entry.status = 'failed';
          entry.reason = `ONNX Runtime's outputs differ from our ${format === 'dense' ? 'dense' : 'masked'} model's by ${entry.outputError.toExponential(2)} (relative; the limit is ${OUTPUT_TOLERANCE})`;
        } else entry.bytes = bytes;
      } catch (e) {
        entry.status = 'failed';
        entry.reason = `ONNX export or ONNX Runtime: ${(e as Error).message}`;
      }
      entries.push(entry);
    }
  } finally {
    x.dispose();
  }

  const dense = entries.find((e) => e.format === 'dense');
  const timed = entries.filter((e) => e.status === 'ok');
  if (dense?.status !== 'ok') {
    // Without ONNX Runtime's dense model there is nothing to take a speedup against.
    for (const e of timed) {
      e.status = 'failed';
      e.reason = 'not timed: the dense model did not pass on ONNX Runtime, so there is no reference to time it against';
    }
  } else {
    const models = Object.fromEntries(timed.map((e) => [e.format, e.bytes!])) as Record<OrtFormat, Uint8Array>;
    for (const [i, batch] of o.config.batches.entries()) {
      stop();
      o.phase(`time ${timed.length} model(s) on ONNX Runtime at batch ${batch}`, i / o.config.batches.length);
      const t = await timeOnOrt(models, batch, { ...o.config.protocol, inputShape: o.inputShape, seed: batch, signal: o.signal });
      stop();
      runtime = t.runtime;
      const reference = t.results.dense;
      for (const e of timed) {
        const format = t.results[e.format];
        const speedup = reference.median / format.median;
        e.latency.push({ batch, reference, format, speedup, realization: e.flopSpeedup > 0 ? speedup / e.flopSpeedup : 0 });
      }
    }
  }
  return {
    runtime,
    formats: entries.map(({ bytes: _bytes, ...e }) => e),
    seconds: (performance.now() - t0) / 1000,
  };
}
