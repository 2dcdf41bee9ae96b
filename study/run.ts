/**
 * `runStudy`: the study's main loop. For each method × sparsity × seed: prune (with the method's
 * schedule and fine-tuning) → evaluate → build every execution format → check each against the
 * masked model → time every format and the dense model in interleaved rounds at each batch size
 * (recording the kernel plans each format's forward passes make while timed) → per-layer times
 * → with ONNX Runtime requested, the dense, masked and compacted models
 * exported to ONNX, checked and timed there too (study/ort.ts). The model comes from a
 * ModelSource (study/model-source.ts): a registered architecture or an ONNX file.
 * `results.json` is rewritten (atomically) after every run, so a stop —
 * Ctrl-C through `signal`, or a crash — leaves a valid file with every finished run.
 */
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { type DeviceDescription, getBackend, init, kernelSettingsOf, noGrad, sync, tensor, tidy } from '../engine/internal.js';
import { evaluate, fuseForInference, loadMnist, type Module, syntheticCifar } from '../nn/node.js';
import { writeFileAtomic } from '../nn/safetensors-file.js';
import { describeProtocol, layerTimes, type Measurement, measureInterleaved, type ModelProfile, type Protocol, profile } from '../measure/index.js';
import { countPlans, type PlanCount, planKey, type PlanUse, plansKernels, recordingPlans } from '../measure/plans.js';
import { compact, sparsityReport } from '../pruning/index.js';
import pkg from '../package.json' with { type: 'json' };
import { fixedSparsity, StudyInputError } from './config.js';
import { buildFormats, type BuiltFormat, probeInput } from './formats.js';
import { kernelSetupText } from './kernel-setup.js';
import { applyMethod, type StudyData, StudyStopped } from './method.js';
import { dataMismatch, type ModelSource, openModelSource, randomInputs } from './model-source.js';
import { runOnOnnxRuntime } from './ort.js';
import type { Format, FormatResult, LayerTimeRow, StudyConfig, StudyDevice, StudyMethod, StudyResults, StudyRun } from './results.js';
import { RESULTS_SCHEMA_ID } from './results.js';
import { validateResults } from './validate.js';

export interface StudyProgress {
  /** The study's plan: how many runs. */
  start(totalRuns: number): void;
  /** Run `index` (0-based) begins. */
  run(index: number, id: string): void;
  /** What the current run (or the set-up) is doing; `fraction` of it done when known. */
  phase(text: string, fraction?: number): void;
  /** Run `index` finished (or failed). */
  runDone(index: number): void;
  stop(): void;
}

export interface RunStudyOptions {
  config: StudyConfig;
  /** Folder for results.json (and the report, written by the caller). */
  out: string;
  /** The command line, recorded as run. */
  command: string;
  signal?: AbortSignal;
  progress?: StudyProgress;
  log?: (line: string) => void;
}

/** The stop reason of a results file written while the study runs (what a killed study leaves). */
const RUNNING = 'still running, or killed before it finished (the runs present are complete)';

const quietProgress: StudyProgress = { start() {}, run() {}, phase() {}, runDone() {}, stop() {} };

function versions(): Record<string, string> {
  const out: Record<string, string> = { wgprune: pkg.version, node: process.versions.node, platform: `${process.platform}-${process.arch}` };
  try {
    out.webgpu = (createRequire(import.meta.url)('webgpu/package.json') as { version: string }).version;
  } catch {
    /* not installed next to this module */
  }
  const cpu = cpus()[0];
  if (cpu) out.cpu = `${cpu.model.trim()} ×${cpus().length}`;
  return out;
}

/** The (method, sparsity, seed) runs, N:M and per-layer methods once per seed. */
export function planRuns(config: StudyConfig): Array<{ method: StudyMethod; sparsity: number; seed: number }> {
  const out: Array<{ method: StudyMethod; sparsity: number; seed: number }> = [];
  for (const method of config.methods) {
    const fixed = fixedSparsity(method);
    const sparsities = fixed !== null ? [fixed] : method.perLayer ? [NaN] : config.sparsities;
    for (const sparsity of sparsities) for (const seed of config.seeds) out.push({ method, sparsity, seed });
  }
  return out;
}

async function loadData(config: StudyConfig, source: ModelSource, phase: StudyProgress['phase']): Promise<StudyData> {
  const limit = (n: number | null) => (n === null ? undefined : n);
  if (config.data === 'mnist') {
    phase('load MNIST');
    const [train, test] = await Promise.all([loadMnist('train', { limit: limit(config.trainLimit) }), loadMnist('test', { limit: limit(config.testLimit) })]);
    return { train, test, timingOnly: false };
  }
  if (config.data === 'synthetic') {
    // Labels only matter to the gradient criteria's scores: one per output feature of a [features] output.
    const classes = source.outputShape.length === 1 ? source.outputShape[0]! : 1;
    return {
      train: randomInputs(source.inputShape, config.trainLimit ?? 2048, 1, classes),
      test: randomInputs(source.inputShape, config.testLimit ?? 512, 2, classes),
      timingOnly: true,
    };
  }
  return {
    train: syntheticCifar({ n: config.trainLimit ?? 2048, seed: 1 }),
    test: syntheticCifar({ n: config.testLimit ?? 512, seed: 2 }),
    timingOnly: true,
  };
}

/** The device description with how its kernels are planned (profile, tuning table, forced variants) as the study starts. */
function studyDevice(description: DeviceDescription, backend: StudyConfig['backend']): StudyDevice {
  const s = kernelSettingsOf(getBackend(backend));
  if (!s) return { ...description };
  const entries = Object.values(s.tuned?.entries ?? {}).reduce((n, e) => n + Object.keys(e ?? {}).length, 0);
  return { ...description, profile: { name: s.profile, reason: s.profileReason }, tuning: { inUse: s.tuned !== null, entries }, forcedKernels: { ...s.forced } };
}

/** One format's timing at one batch: against its reference, with the plans behind it (absent on the CPU backend). */
interface Timed {
  batch: number;
  reference: Measurement;
  format: Measurement;
  plans?: PlanCount[];
}

/**
 * Times every ok format and its reference at each batch, all in the same interleaved rounds per
 * batch. Every kernel plan made while a model's forward pass is timed is kept for that model.
 */
async function timeFormats(built: BuiltFormat[], denseFused: Module | null, config: StudyConfig, inputShape: readonly number[], signal: AbortSignal, phase: StudyProgress['phase']): Promise<Map<Format, Timed[]>> {
  const dense = built.find((b) => b.format === 'dense')!.model!;
  const timed = built.filter((b) => b.status === 'ok' && b.format !== 'dense');
  const recorded = plansKernels(config.backend);
  const out = new Map<Format, Timed[]>();
  for (const [i, batch] of config.batches.entries()) {
    if (signal.aborted) throw new StudyStopped();
    phase(`time ${timed.length + 1 + (denseFused ? 1 : 0)} models at batch ${batch}`, i / config.batches.length);
    const models: Module[] = [dense, ...(denseFused ? [denseFused] : []), ...timed.map((b) => b.model!)];
    for (const m of models) m.eval();
    const x = tensor(probeInput([batch, ...inputShape], batch), [batch, ...inputShape]);
    // The model whose forward pass is running (-1 between calls), and the distinct plans each one made.
    let running = -1;
    const seen = models.map(() => new Map<string, PlanUse>());
    const hear = (r: PlanUse) => {
      const into = seen[running];
      if (!into) return;
      const key = planKey(r);
      if (!into.has(key)) into.set(key, { family: r.family, problem: r.problem, variant: r.variant, source: r.source });
    };
    const works = models.map((m, k) => () => {
      running = k;
      try {
        noGrad(() => tidy(() => void m.forward(x)));
      } finally {
        running = -1;
      }
    });
    try {
      const ms = await recordingPlans(hear, () => measureInterleaved(works, () => sync(), config.protocol, signal), config.backend);
      if (signal.aborted) throw new StudyStopped();
      const d = ms[0]!, df = denseFused ? ms[1]! : null;
      const rest = ms.slice(denseFused ? 2 : 1);
      const push = (f: Format, reference: Measurement, format: Measurement, k: number) => {
        if (!out.has(f)) out.set(f, []);
        out.get(f)!.push({ batch, reference, format, ...(recorded ? { plans: countPlans(seen[k]!.values()) } : {}) });
      };
      push('dense', d, d, 0);
      timed.forEach((b, k) => push(b.format, b.reference === 'dense-fused' ? df! : d, rest[k]!, k + (denseFused ? 2 : 1)));
    } finally {
      x.dispose();
    }
  }
  return out;
}

function formatBytes(f: Format, dense: ModelProfile, masked: ModelProfile, compacted: ModelProfile | null, choices: BuiltFormat['choices'], blockProfiles: Map<string, ModelProfile>): number {
  const maskBytes = masked.totals.bufferBytes - dense.totals.bufferBytes;
  switch (f) {
    case 'dense': return dense.totals.denseBytes;
    case 'masked': return masked.totals.denseBytes + maskBytes;
    case 'csr': return masked.totals.csrBytes;
    case 'bsr': return masked.totals.bsrBytes;
    case 'auto': {
      const chosen = new Map((choices ?? []).map((c) => [c.name, c.choice]));
      return masked.layers.reduce((sum, layer, i) => {
        const choice = chosen.get(layer.name);
        if (!choice || choice === 'dense') return sum + layer.bytes.dense;
        if (choice === 'csr') return sum + layer.bytes.csr;
        return sum + (blockProfiles.get(choice.replace(/^bsr /, ''))?.layers[i]?.bytes.bsr ?? layer.bytes.bsr);
      }, 0);
    }
    default: return compacted ? compacted.totals.denseBytes : 0;
  }
}

/** Runs the study; returns the results (also written to `out/results.json`). */
export async function runStudy(o: RunStudyOptions): Promise<StudyResults> {
  const { config } = o;
  const log = o.log ?? ((s: string) => console.log(s));
  const progress = o.progress ?? quietProgress;
  const signal = o.signal ?? new AbortController().signal;
  const started = new Date();

  progress.phase('start the device');
  const device = studyDevice(await init({ backend: config.backend }), config.backend);
  const kernels = kernelSetupText(device);
  log(`device: ${device.adapter || device.backend}${kernels ? `; kernels: ${kernels}` : ''}`);
  const source = await openModelSource(config);
  const inputShape = [...source.inputShape];
  const mismatch = dataMismatch(config.data, inputShape, source.name);
  if (mismatch) throw new StudyInputError('--data', mismatch);
  const ort = (config.runtimes ?? []).includes('onnxruntime');
  const protocol: Protocol = {
    warmup: config.protocol.warmup, reps: config.protocol.reps, minReps: config.protocol.minReps, budgetS: config.protocol.budgetS,
    minSampleS: config.protocol.minSampleS ?? 0, interleaved: true, sync: 'the engine\'s sync() (WebGPU: queue.onSubmittedWorkDone())',
    description: `${describeProtocol(config.protocol)}; at each batch size the dense model and every format of a run are timed in the same rounds; speedup = dense median / format median`,
  };
  const notes: string[] = [];
  const data = await loadData(config, source, progress.phase);
  if (config.data === 'synthetic') notes.push(`Seeded random inputs of the model's shape [${inputShape.join(', ')}] (neither MNIST- nor CIFAR-shaped): timing only. No accuracy is measured and nothing is fine-tuned.`);
  else if (data.timingOnly) notes.push('Synthetic CIFAR-shaped inputs (class template + noise): timing only. No accuracy is measured and nothing is fine-tuned.');
  else notes.push(`MNIST: fine-tuning and gradient scores on ${config.trainLimit === null ? 'all 60,000' : `the first ${config.trainLimit.toLocaleString('en-US')}`} training samples; accuracy on ${config.testLimit === null ? 'all 10,000' : `the first ${config.testLimit.toLocaleString('en-US')}`} test samples.`);
  // Warnings (a checkpoint with non-finite values, a conversion that changed nothing) go to the log and the results' notes.
  const warn = (message: string) => {
    log(`warning: ${message}`);
    if (!notes.includes(message)) notes.push(message);
  };
  if (ort) notes.push('Second runtime: every run\'s dense, masked (pruning made permanent) and compacted models are exported to ONNX, checked on ONNX Runtime (CPU) against our own outputs on the probe batch, and timed there with the same protocol, each against ONNX Runtime\'s dense model in the same rounds (no sync needed: its run() resolves when the outputs are ready).');
  const { model: dense, source: denseSource } = await source.load({ config, data, phase: progress.phase, warn, signal });
  const tickets = new Map<string, Map<string, Float32Array>>();
  let denseFused: Module | null = null;
  try {
    progress.phase('profile the dense model');
    const denseProfile = await profile(dense, inputShape, { bsrBlock: config.bsrBlock });
    let baselineAccuracy: number | null = null;
    if (!data.timingOnly) {
      progress.phase('evaluate the dense model');
      baselineAccuracy = (await evaluate(dense, data.test)).accuracy;
    }
    if (baselineAccuracy !== null) log(`dense ${source.name}: test accuracy ${(100 * baselineAccuracy).toFixed(2)} % on ${data.test.n} samples; ${denseProfile.totals.params.toLocaleString('en-US')} parameters, ${(denseProfile.totals.flops / 1e6).toFixed(2)} MFLOPs per sample`);
    if (config.formats.includes('compacted-fused')) denseFused = fuseForInference(dense.eval());

    const results: StudyResults = {
      schema: RESULTS_SCHEMA_ID, complete: false, stopReason: RUNNING, command: o.command,
      startedAt: started.toISOString(), finishedAt: started.toISOString(), durationS: 0,
      versions: versions(), device, protocol, config,
      model: { name: source.name, inputShape, dataset: source.dataset, timingOnly: data.timingOnly, source: denseSource },
      baseline: { accuracy: baselineAccuracy, profile: denseProfile },
      runs: [], notes,
    };
    const save = async (complete: boolean, stopReason: string | null) => {
      const now = new Date();
      Object.assign(results, { complete, stopReason, finishedAt: now.toISOString(), durationS: (now.getTime() - started.getTime()) / 1000 });
      validateResults(JSON.parse(JSON.stringify(results)), 'the results being written');
      await writeFileAtomic(join(o.out, 'results.json'), new TextEncoder().encode(`${JSON.stringify(results, null, 1)}\n`));
    };
    await save(false, RUNNING);

    const plan = planRuns(config);
    progress.start(plan.length);
    for (const [index, r] of plan.entries()) {
      if (signal.aborted) break;
      const id = `${r.method.label} @ ${Number.isNaN(r.sparsity) ? 'per-layer' : r.sparsity} seed ${r.seed}`;
      progress.run(index, id);
      try {
        // Per-layer times for one run per method: the first seed at its highest sparsity.
        const top = Math.max(...plan.filter((p) => p.method === r.method).map((p) => (Number.isNaN(p.sparsity) ? -1 : p.sparsity)));
        const layerTimed = r.seed === config.seeds[0] && (Number.isNaN(r.sparsity) ? top === -1 : r.sparsity === top);
        const run = await oneRun({ config, source, ort, dense, denseFused, denseProfile, data, inputShape, method: r.method, sparsity: r.sparsity, seed: r.seed, id, signal, tickets, phase: progress.phase, layerTimed, warn });
        results.runs.push(run);
        log(summaryLine(run));
      } catch (e) {
        if (e instanceof StudyStopped || signal.aborted) break;
        const message = (e as Error).message;
        log(`${id}: failed: ${message}`);
        results.runs.push(failedRun(id, r.method, r.sparsity, r.seed, denseProfile, message));
      }
      progress.runDone(index);
      await save(false, RUNNING);
    }
    progress.stop();
    const stopped = signal.aborted;
    await save(!stopped, stopped ? `stopped by the user after ${results.runs.length} of ${plan.length} runs` : null);
    return results;
  } finally {
    denseFused?.dispose();
    dense.dispose();
  }
}

function failedRun(id: string, method: StudyMethod, sparsity: number, seed: number, p: ModelProfile, error: string): StudyRun {
  return {
    id, method: method.label, sparsity: Number.isNaN(sparsity) ? 0 : sparsity, seed, status: 'failed', error,
    weightSparsity: 0, units: { pruned: 0, total: 0 }, accuracy: { pruned: null, final: null }, steps: [],
    profile: { masked: p.totals, compacted: null }, formats: [], layerTimes: null, seconds: { prune: 0, convert: 0, time: 0 },
  };
}

function summaryLine(run: StudyRun): string {
  const acc = run.accuracy.final === null ? '' : `, accuracy ${(100 * run.accuracy.final).toFixed(2)} %`;
  const last = (f: FormatResult) => f.latency[f.latency.length - 1];
  const fmts = run.formats.filter((f) => f.status === 'ok' && f.format !== 'dense').map((f) => `${f.format} ${last(f)!.speedup.toFixed(2)}×`).join(', ');
  return `${run.id}: ${(100 * run.weightSparsity).toFixed(1)} % of weights zero${acc}; speedup at batch ${last(run.formats[0]!)?.batch ?? '?'}: ${fmts || 'none timed'}`;
}

interface RunContext {
  config: StudyConfig;
  source: ModelSource;
  /** Export to ONNX and time on ONNX Runtime too. */
  ort: boolean;
  dense: Module;
  denseFused: Module | null;
  denseProfile: ModelProfile;
  data: StudyData;
  inputShape: number[];
  method: StudyMethod;
  sparsity: number;
  seed: number;
  id: string;
  signal: AbortSignal;
  tickets: Map<string, Map<string, Float32Array>>;
  phase: StudyProgress['phase'];
  /** Take per-layer times in this run. */
  layerTimed: boolean;
  warn: (message: string) => void;
}

async function oneRun(c: RunContext): Promise<StudyRun> {
  const { config } = c;
  const t0 = performance.now();
  const outcome = await applyMethod({
    source: c.source, dense: c.dense, data: c.data, config, method: c.method, sparsity: Number.isNaN(c.sparsity) ? 0 : c.sparsity,
    seed: c.seed, signal: c.signal, phase: c.phase, tickets: c.tickets,
  });
  const masked = outcome.model;
  let built: BuiltFormat[] = [];
  try {
    const t1 = performance.now();
    c.phase('convert and check the formats');
    const report = await sparsityReport(masked);
    const maskedProfile = await profile(masked, c.inputShape, { bsrBlock: config.bsrBlock });
    built = await buildFormats(config.formats, c.dense, masked, { inputShape: c.inputShape, bsrBlock: config.bsrBlock, autoBatch: Math.min(Math.max(...config.batches), 256), onWarning: (m) => c.warn(`${c.id}: ${m}`) });
    const compactedModel = built.find((b) => b.format === 'compacted' && b.status === 'ok')?.model ?? null;
    const compactedFused = built.find((b) => b.format === 'compacted-fused' && b.status === 'ok');
    const compactedProfile = compactedModel ? await profile(compactedModel, c.inputShape, { bsrBlock: config.bsrBlock })
      : compactedFused ? await (async () => {
        const m = await compact(masked, { inputShape: c.inputShape });
        try {
          return await profile(m, c.inputShape, { bsrBlock: config.bsrBlock });
        } finally {
          m.dispose();
        }
      })() : null;
    const blockProfiles = new Map<string, ModelProfile>();
    for (const choice of new Set((built.find((b) => b.format === 'auto')?.choices ?? []).map((x) => x.choice).filter((x) => x.startsWith('bsr ')))) {
      const [r, cc] = choice.slice(4).split('x').map(Number) as [number, number];
      blockProfiles.set(`${r}x${cc}`, await profile(masked, c.inputShape, { bsrBlock: [r, cc] }));
    }
    const t2 = performance.now();
    const times = await timeFormats(built, compactedFused ? c.denseFused : null, config, c.inputShape, c.signal, c.phase);
    const denseFlops = c.denseProfile.totals.flops;
    const formats: FormatResult[] = built.map((b) => {
      const isCompacted = b.format === 'compacted' || b.format === 'compacted-fused';
      const flops = b.format === 'dense' ? denseFlops : isCompacted ? (compactedProfile?.totals.flops ?? 0) : maskedProfile.totals.effectiveFlops;
      const flopSpeedup = flops > 0 ? denseFlops / flops : 0;
      const p = b.format === 'dense' ? c.denseProfile : isCompacted ? compactedProfile : maskedProfile;
      const latency = (times.get(b.format) ?? []).map((t) => {
        const speedup = t.reference.median / t.format.median;
        return { batch: t.batch, reference: t.reference, format: t.format, speedup, realization: flopSpeedup > 0 ? speedup / flopSpeedup : 0, ...(t.plans ? { plans: t.plans } : {}) };
      });
      return {
        format: b.format, status: b.status, ...(b.reason ? { reason: b.reason } : {}), reference: b.reference,
        flops, flopSpeedup,
        params: p?.totals.params ?? 0, nonzeroParams: p?.totals.nonzeroParams ?? 0,
        bytes: formatBytes(b.format, c.denseProfile, maskedProfile, compactedProfile, b.choices, blockProfiles),
        checkpointBytes: b.format === 'dense' || b.format === 'masked' || b.format === 'compacted' ? (p?.totals.checkpointBytes ?? null) : null,
        outputError: b.outputError,
        ...(b.choices && b.format === 'auto' ? { choices: b.choices } : {}),
        latency,
      };
    });
    const layerTimesResult = config.layerTimes && c.layerTimed ? await runLayerTimes(built, config, c.inputShape, c.phase) : null;
    const onnxruntime = c.ort ? await runOnOnnxRuntime({ config, built, formats, dense: c.dense, masked, inputShape: c.inputShape, signal: c.signal, phase: c.phase }) : undefined;
    const units = outcome.result.layers.reduce((a, l) => ({ pruned: a.pruned + l.pruned, total: a.total + l.units }), { pruned: 0, total: 0 });
    const sparsity = Number.isNaN(c.sparsity) ? (units.total ? units.pruned / units.total : 0) : c.sparsity;
    return {
      id: c.id, method: c.method.label, sparsity: Math.min(sparsity, 0.999999), seed: c.seed, status: 'ok',
      weightSparsity: report.weights.sparsity, units,
      accuracy: { pruned: outcome.accuracyPruned, final: outcome.accuracyFinal },
      steps: outcome.steps,
      profile: { masked: maskedProfile.totals, compacted: compactedProfile?.totals ?? null },
      formats, layerTimes: layerTimesResult,
      ...(onnxruntime ? { onnxruntime } : {}),
      seconds: { prune: (t1 - t0) / 1000, convert: (t2 - t1) / 1000, time: (performance.now() - t2) / 1000 },
    };
  } finally {
    for (const b of built) b.dispose();
    masked.dispose();
  }
}

/** Per-layer times at the largest batch for dense and each unfused format (Sequential models only). */
async function runLayerTimes(built: BuiltFormat[], config: StudyConfig, inputShape: number[], phase: StudyProgress['phase']): Promise<StudyRun['layerTimes']> {
  const batch = Math.max(...config.batches);
  const input = probeInput([batch, ...inputShape], 5);
  const protocol = { warmup: 1, reps: 3, minReps: 3, budgetS: 1, minSampleS: 0 };
  const rows = new Map<string, LayerTimeRow>();
  const candidates = built.filter((b) => b.status === 'ok' && b.format !== 'compacted-fused');
  for (const [i, b] of candidates.entries()) {
    phase(`per-layer times (${b.format}) at batch ${batch}`, i / candidates.length);
    let times;
    try {
      times = await layerTimes(b.model!, input, [batch, ...inputShape], protocol);
    } catch {
      return null;
    }
    for (const t of times) {
      const row = rows.get(t.name) ?? { name: t.name, type: t.type, ms: {} };
      if (b.format === 'dense') row.type = t.type;
      row.ms[b.format] = t.ms;
      rows.set(t.name, row);
    }
  }
  return { batch, layers: [...rows.values()] };
}
