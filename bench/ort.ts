/**
 * `npm run bench:ort`: does structured compaction pay on a second runtime? Conv-4 (synthetic
 * CIFAR-shaped inputs: no CIFAR-10 offline) pruned by filters (L1, local, head excluded) at
 * 50 % and 75 % and compacted; the dense and compacted models are exported with nn.toOnnx and
 * timed on ONNX Runtime (onnxruntime-node, CPU execution provider) and, the same models, on
 * this engine's WebGPU backend:
 *   - per runtime and batch, the dense and every compacted model in interleaved rounds
 *     (`measure`: warm-up, repetitions stretched to `minSampleS`, median); ONNX Runtime's sync is
 *     a no-op (its run() resolves when the outputs are ready), WebGPU's the engine's sync();
 *   - measured speedup dense / compacted, FLOP speedup (measure/profile.ts: multiply-add = 2
 *     FLOPs, conv and linear layers) and realization = measured / FLOP speedup.
 * Every exported file is checked on ONNX Runtime against the model first (1e-4 relative).
 */
import { writeFileSync } from 'node:fs';
import { Generator, init, noGrad, sync, tensor, tidy } from '../engine/internal.js';
import { createModel, type Module, toOnnx } from '../nn/index.js';
import { compact, prune } from '../pruning/index.js';
import { describeProtocol, measure, type Measurement, profile, type ProtocolOptions } from '../measure/index.js';
import { type OrtRuntime, runOnOrt, timeOnOrt } from '../measure/ort.js';

export interface OrtBenchOptions {
  json?: string;
  /** A small sanity run: batch 1 and 4, short protocol. */
  quick?: boolean;
  sparsities?: number[];
  batches?: number[];
  protocol?: Partial<ProtocolOptions>;
  /** ONNX Runtime threads inside an operator (default: every core). */
  intraOpNumThreads?: number;
  log?: (line: string) => void;
}

export interface OrtBenchRow {
  runtime: 'onnxruntime' | 'webgpu';
  batch: number;
  model: string;
  /** Seconds per forward (median) and spread. */
  median: number;
  min: number;
  max: number;
  speedup: number;
  flopSpeedup: number;
  realization: number;
}

const INPUT = [3, 32, 32];

function randomInput(n: number, seed: number): Float32Array {
  const g = new Generator(seed);
  return Float32Array.from({ length: n }, () => g.normal());
}

function relError(a: Float32Array, b: Float32Array): number {
  let scale = 0, worst = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  }
  return worst / scale;
}

export async function runOrtBench(o: OrtBenchOptions = {}): Promise<{ rows: OrtBenchRow[]; runtime: OrtRuntime }> {
  const log = o.log ?? console.log;
  const sparsities = o.sparsities ?? [0.5, 0.75];
  const batches = o.batches ?? (o.quick ? [1, 4] : [1, 64, 256]);
  const protocol: ProtocolOptions = { warmup: 2, reps: o.quick ? 3 : 7, minReps: 3, budgetS: o.quick ? 2 : 20, minSampleS: o.quick ? 0.1 : 0.5, ...o.protocol };
  const device = await init({ backend: 'webgpu' });
  log(`device: ${device.adapter} (${device.featureLevel}); conv4 on synthetic CIFAR-shaped inputs`);

  const models: Array<{ name: string; model: Module }> = [];
  const dense = createModel('conv4', { seed: 0 }).eval();
  models.push({ name: 'dense', model: dense });
  for (const s of sparsities) {
    const masked = createModel('conv4', { seed: 0 });
    await prune(masked, { granularity: 'filter', criterion: 'l1', sparsity: s });
    models.push({ name: `compacted ${Math.round(100 * s)}%`, model: (await compact(masked, { inputShape: INPUT })).eval() });
    masked.dispose();
  }
  const flops = new Map<string, number>();
  const files: Record<string, Uint8Array> = {};
  const check = randomInput(2 * 3 * 32 * 32, 1);
  for (const { name, model } of models) {
    flops.set(name, (await profile(model, INPUT)).totals.flops);
    files[name] = await toOnnx(model, { inputShape: INPUT });
    const ours = await noGrad(() => tidy(() => model.forward(tensor(check, [2, ...INPUT])))).toArray();
    const err = relError((await runOnOrt(files[name]!, check, [2, ...INPUT])).data, ours);
    if (!(err <= 1e-4)) throw new Error(`bench ort: ${name}: ONNX Runtime differs from the model by ${err} (relative)`);
    log(`${name}: ${(flops.get(name)! / 1e6).toFixed(1)} MFLOP per sample, ONNX file ${files[name]!.length.toLocaleString('en-US')} bytes, ONNX Runtime vs WebGPU outputs ${err.toExponential(1)}`);
  }

  const rows: OrtBenchRow[] = [];
  let runtime: OrtRuntime | null = null;
  const report = (rt: OrtBenchRow['runtime'], batch: number, results: Record<string, Measurement>) => {
    const d = results.dense!.median;
    for (const { name } of models) {
      const m = results[name]!;
      const flopSpeedup = flops.get('dense')! / flops.get(name)!;
      const row = { runtime: rt, batch, model: name, median: m.median, min: m.min, max: m.max, speedup: d / m.median, flopSpeedup, realization: d / m.median / flopSpeedup };
      rows.push(row);
      log(`  ${rt.padEnd(11)} b${String(batch).padEnd(4)} ${name.padEnd(14)} ${(1000 * m.median).toFixed(2).padStart(9)} ms (${(1000 * m.min).toFixed(2)}–${(1000 * m.max).toFixed(2)})  ×${row.speedup.toFixed(2)} measured / ×${flopSpeedup.toFixed(2)} FLOPs = realization ${row.realization.toFixed(2)}`);
    }
  };
  for (const batch of batches) {
    const ort = await timeOnOrt(files, batch, { ...protocol, inputShape: INPUT, intraOpNumThreads: o.intraOpNumThreads });
    runtime = ort.runtime;
    report('onnxruntime', batch, ort.results);
    const x = tensor(randomInput(batch * 3 * 32 * 32, batch), [batch, ...INPUT]);
    try {
      const works = Object.fromEntries(models.map(({ name, model }) => [name, () => noGrad(() => tidy(() => void model.forward(x)))]));
      report('webgpu', batch, (await measure(works, { ...protocol, sync: () => sync(), syncName: 'the engine\'s sync(): queue.onSubmittedWorkDone()' })).results);
    } finally {
      x.dispose();
    }
  }
  log(`ONNX Runtime ${runtime!.version}: CPU execution provider, ${runtime!.intraOpNumThreads} intra-op thread(s), ${runtime!.interOpNumThreads} inter-op, sequential, graph optimisation '${runtime!.graphOptimizationLevel}'`);
  log(`protocol: ${describeProtocol(protocol, 'ONNX Runtime: none (run() resolves when done); WebGPU: queue.onSubmittedWorkDone()')}`);
  if (o.json) {
    writeFileSync(o.json, `${JSON.stringify({ date: new Date().toISOString(), device, ortRuntime: runtime, protocol, sparsities, batches, rows }, null, 1)}\n`);
    log(`wrote ${o.json}`);
  }
  for (const { model } of models) model.dispose();
  return { rows, runtime: runtime! };
}
