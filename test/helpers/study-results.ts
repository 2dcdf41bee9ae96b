/**
 * A small but realistic study results object for the report tests: LeNet-5-shaped model,
 * two methods (L1 filter pruning and its random-criterion baseline), two sparsities, two seeds,
 * formats dense / masked / csr / bsr (skipped) / compacted at batches 1 and 64, per-layer
 * times on the first seed of each method × sparsity. Every figure is derived from the
 * inputs by simple formulas so tests can recompute what the report should show.
 */
import type { FormatResult, LayerTimeRow, OrtRunResult, StudyMethod, StudyResults, StudyRun } from '../../study/results.js';
import type { Measurement, ModelProfile, PlanCount, ProfileTotals } from '../../measure/index.js';

export interface FixtureOptions {
  /** Label of the (non-random) L1 method. */
  methodLabel?: string;
  adapter?: string;
  startedAt?: string;
  /** Synthetic data: every accuracy is null. */
  timingOnly?: boolean;
  /** Adds a failed run (l1, sparsity 0.5, seed 2). */
  failedRun?: boolean;
  /** Multiplies every latency (a slower or faster device). */
  latencyScale?: number;
  /** Also timed on ONNX Runtime: every ok run gets dense / masked / compacted ORT results (see ortSpeedup). */
  onnxruntime?: boolean;
  /** Kernel plans recorded: every wgprune timing names its plans (fixturePlans), the device its profile and tuning table. */
  plans?: boolean;
}

/**
 * The kernel plans of a fixture timing: dense kernels for dense, masked and compacted (batch 1's
 * matmuls by the rule, batch 64's from the tuning table), sparse kernels for CSR at every batch.
 */
export function fixturePlans(format: FormatResult['format'], batch: number): PlanCount[] {
  if (format === 'csr') return [{ family: 'sparse-conv', variant: 'csr-gather', source: 'rule', problems: 2 }, { family: 'spmm-csr', variant: 'row-vec4', source: 'rule', problems: 1 }];
  return [
    { family: 'conv-fwd', variant: 'window', source: 'rule', problems: 2 },
    batch === 1 ? { family: 'matmul', variant: 'gemv', source: 'rule', problems: 2 } : { family: 'matmul', variant: 'tiled-16x4', source: 'tuned', problems: 2 },
  ];
}

export const FIXTURE_PROFILE = { name: 'llvmpipe', reason: "adapter 'llvmpipe (LLVM 15.0.6, 256 bits)' names a CPU rasterizer (llvmpipe)" } as const;

export const FIXTURE_SPARSITIES = [0.5, 0.75];
export const FIXTURE_SEEDS = [0, 1];
export const FIXTURE_BATCHES = [1, 64];
export const SKIPPED_BSR_REASON = 'filter pruning leaves no 4x4 block entirely zero beyond whole filters (use compacted)';
export const DENSE_ACCURACY = 0.9891;

/** Final test accuracy of a run: a smooth function of method, sparsity and seed. */
export function fixtureAccuracy(random: boolean, sparsity: number, seed: number): number {
  return Math.round((DENSE_ACCURACY - sparsity * (random ? 0.09 : 0.012) - 0.0013 * seed) * 10000) / 10000;
}

function measurement(median: number): Measurement {
  const samples = [median * 0.98, median, median * 1.01, median * 1.07, median * 0.99];
  const sorted = [...samples].sort((a, b) => a - b);
  return { median, min: sorted[0]!, max: sorted[4]!, q1: sorted[1]!, q3: sorted[3]!, samples, warmup: 2, loops: 1 };
}

const LAYERS: Array<{ name: string; type: string; inShape: number[]; outShape: number[]; params: number; weights: number; positions: number }> = [
  { name: 'features.0', type: 'Conv2d', inShape: [1, 28, 28], outShape: [6, 24, 24], params: 156, weights: 150, positions: 576 },
  { name: 'features.1', type: 'ReLU', inShape: [6, 24, 24], outShape: [6, 24, 24], params: 0, weights: 0, positions: 0 },
  { name: 'features.2', type: 'MaxPool2d', inShape: [6, 24, 24], outShape: [6, 12, 12], params: 0, weights: 0, positions: 0 },
  { name: 'features.3', type: 'Conv2d', inShape: [6, 12, 12], outShape: [16, 8, 8], params: 2416, weights: 2400, positions: 64 },
  { name: 'features.4', type: 'ReLU', inShape: [16, 8, 8], outShape: [16, 8, 8], params: 0, weights: 0, positions: 0 },
  { name: 'features.5', type: 'MaxPool2d', inShape: [16, 8, 8], outShape: [16, 4, 4], params: 0, weights: 0, positions: 0 },
  { name: 'flatten', type: 'Flatten', inShape: [16, 4, 4], outShape: [256], params: 0, weights: 0, positions: 0 },
  { name: 'classifier.0', type: 'Linear', inShape: [256], outShape: [120], params: 30840, weights: 30720, positions: 1 },
  { name: 'classifier.1', type: 'ReLU', inShape: [120], outShape: [120], params: 0, weights: 0, positions: 0 },
  { name: 'classifier.2', type: 'Linear', inShape: [120], outShape: [10], params: 1210, weights: 1200, positions: 1 },
];

function baselineProfile(): ModelProfile {
  const layers = LAYERS.map((l) => {
    const flops = 2 * l.weights * l.positions;
    return {
      name: l.name, type: l.type, inShape: l.inShape, outShape: l.outShape, params: l.params, nonzeroParams: l.params,
      flops, effectiveFlops: flops,
      bytes: { dense: 4 * l.params, csr: 8 * l.params, bsr: 5 * l.params, checkpoint: 4 * l.params + (l.params ? 64 : 0) },
    };
  });
  const sum = (f: (l: (typeof layers)[number]) => number) => layers.reduce((a, l) => a + f(l), 0);
  return {
    inputShape: [1, 28, 28], outputShape: [10], layers,
    totals: totals(sum((l) => l.params), sum((l) => l.params), sum((l) => l.flops), sum((l) => l.flops)),
    bsrBlock: [4, 4],
    conventions: 'FLOPs per sample, one multiply-add = 2 FLOPs, Conv2d/Linear only; effective FLOPs count non-zero weights',
  };
}

function totals(params: number, nonzero: number, flops: number, effective: number): ProfileTotals {
  return {
    params, nonzeroParams: nonzero, flops, effectiveFlops: effective, denseBytes: 4 * params,
    csrBytes: 8 * nonzero, bsrBytes: 5 * nonzero, bufferBytes: 0, checkpointBytes: 4 * params + 600,
  };
}

/** Dense reference latency (seconds per forward pass) at a batch size. */
export function denseSeconds(batch: number, scale = 1): number {
  return (0.0008 + 0.00012 * batch) * scale;
}

function formatResult(format: FormatResult['format'], sparsity: number, random: boolean, scale: number, denseParams: number, denseFlops: number): FormatResult {
  if (format === 'bsr') {
    return {
      format, status: 'skipped', reason: SKIPPED_BSR_REASON, reference: 'dense', flops: 0, flopSpeedup: 0, params: denseParams,
      nonzeroParams: 0, bytes: 0, checkpointBytes: null, outputError: null, latency: [],
    };
  }
  const density = 1 - sparsity;
  const flopSpeedup = format === 'dense' ? 1 : format === 'compacted' ? 1 / (density * density) : 1 / density;
  const efficiency = { dense: 1, masked: 0.9 * density, csr: 0.35, compacted: random ? 0.7 : 0.75 }[format as 'dense' | 'masked' | 'csr' | 'compacted'];
  const speedup = format === 'masked' ? 0.9 : flopSpeedup * efficiency;
  const params = format === 'compacted' ? Math.round(denseParams * density * density) : denseParams;
  const nonzero = Math.round(denseParams * density);
  return {
    format, status: 'ok', reference: 'dense', flops: denseFlops / flopSpeedup, flopSpeedup, params, nonzeroParams: nonzero,
    bytes: format === 'csr' ? 8 * nonzero : 4 * params, checkpointBytes: format === 'csr' ? null : 4 * params + 600,
    outputError: format === 'dense' || format === 'masked' ? null : 3e-7,
    latency: FIXTURE_BATCHES.map((batch) => {
      const ref = denseSeconds(batch, scale);
      return { batch, reference: measurement(ref), format: measurement(ref / speedup), speedup, realization: speedup / flopSpeedup };
    }),
  };
}

/** ONNX Runtime's speedup of a format: masked runs dense kernels (no gain), compacted realizes 0.9 of its FLOP speedup. */
export function ortSpeedup(format: 'dense' | 'masked' | 'compacted', sparsity: number): number {
  const density = 1 - sparsity;
  return format === 'dense' ? 1 : format === 'masked' ? 0.98 : 0.9 / (density * density);
}

function ortResult(sparsity: number, scale: number, formats: FormatResult[]): OrtRunResult {
  return {
    runtime: { name: 'onnxruntime-node', version: '1.30.0', executionProvider: 'cpu', executionMode: 'sequential', intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all' },
    formats: (['dense', 'masked', 'compacted'] as const).map((format) => {
      const flopSpeedup = formats.find((f) => f.format === format)!.flopSpeedup;
      const speedup = ortSpeedup(format, sparsity);
      return {
        format, status: 'ok' as const, flopSpeedup, onnxBytes: format === 'compacted' ? 60_000 : 250_000, outputError: format === 'dense' ? 1e-7 : 2e-7,
        latency: FIXTURE_BATCHES.map((batch) => {
          const ref = 0.5 * denseSeconds(batch, scale);
          return { batch, reference: measurement(ref), format: measurement(ref / speedup), speedup, realization: speedup / flopSpeedup };
        }),
      };
    }),
    seconds: 3.5,
  };
}

function layerTimes(sparsity: number, scale: number): { batch: number; layers: LayerTimeRow[] } {
  const density = 1 - sparsity;
  const weighted = LAYERS.filter((l) => l.weights > 0);
  return {
    batch: 64,
    layers: weighted.map((l, i) => {
      const dense = (0.2 + 0.05 * l.weights * l.positions / 1e4 + i * 0.1) * scale;
      return { name: l.name, type: l.type, ms: { dense, masked: dense * 1.05, csr: dense * density * 2.5, compacted: dense * density * density * 1.4 } };
    }),
  };
}

export function makeStudyResults(o: FixtureOptions = {}): StudyResults {
  const scale = o.latencyScale ?? 1;
  const methods: StudyMethod[] = [
    { label: o.methodLabel ?? 'l1 filter', criterion: 'l1', granularity: 'filter', scope: 'local', schedule: 'oneshot', rounds: 1, finetuneEpochs: 2 },
    { label: 'random filter', criterion: 'random', granularity: 'filter', scope: 'local', schedule: 'oneshot', rounds: 1, finetuneEpochs: 2 },
  ];
  const formats: FormatResult['format'][] = ['dense', 'masked', 'csr', 'bsr', 'compacted'];
  const profile = baselineProfile();
  const runs: StudyRun[] = [];
  for (const method of methods) {
    const random = method.criterion === 'random';
    for (const sparsity of FIXTURE_SPARSITIES) {
      for (const seed of FIXTURE_SEEDS) {
        const final = o.timingOnly ? null : fixtureAccuracy(random, sparsity, seed);
        const density = 1 - sparsity;
        const p = profile.totals;
        runs.push({
          id: `${method.label} @ ${sparsity} seed ${seed}`, method: method.label, sparsity, seed, status: 'ok',
          weightSparsity: Math.min(0.99, sparsity * 1.02), units: { pruned: Math.round(22 * sparsity), total: 22 },
          accuracy: { pruned: final === null ? null : Math.round((final - 0.04) * 10000) / 10000, final },
          steps: [{ target: sparsity, accuracy: final }],
          profile: {
            masked: totals(p.params, Math.round(p.params * density), p.flops, Math.round(p.flops * density)),
            compacted: totals(Math.round(p.params * density * density), Math.round(p.params * density * density), Math.round(p.flops * density * density), Math.round(p.flops * density * density)),
          },
          formats: formats.map((f) => formatResult(f, sparsity, random, scale, p.params, p.flops)),
          layerTimes: seed === FIXTURE_SEEDS[0] ? layerTimes(sparsity, scale) : null,
          seconds: { prune: 12.5, convert: 0.8, time: 20.1 },
        });
      }
    }
  }
  if (o.failedRun) {
    runs.push({
      id: `${methods[0]!.label} @ 0.5 seed 2`, method: methods[0]!.label, sparsity: 0.5, seed: 2, status: 'failed',
      error: 'compaction failed: layer features.3 has no filter left', weightSparsity: 0, units: { pruned: 0, total: 22 },
      accuracy: { pruned: null, final: null }, steps: [], profile: { masked: profile.totals, compacted: null }, formats: [], layerTimes: null,
      seconds: { prune: 1, convert: 0, time: 0 },
    });
  }
  if (o.onnxruntime) for (const r of runs) if (r.status === 'ok') r.onnxruntime = ortResult(r.sparsity, scale, r.formats);
  if (o.plans) for (const r of runs) for (const f of r.formats) for (const l of f.latency) l.plans = fixturePlans(f.format, l.batch);
  const startedAt = o.startedAt ?? '2026-12-04T10:00:00.000Z';
  return {
    schema: 'wgprune-study/1',
    complete: true,
    stopReason: null,
    command: 'wgprune study --model lenet5 --methods "l1 filter,random filter" --sparsities 0.5,0.75 --seeds 0,1 --batches 1,64',
    startedAt,
    finishedAt: '2026-12-04T10:42:00.000Z',
    durationS: 2520,
    versions: { wgprune: '0.1.0', node: 'v20.20.2', webgpu: '0.6.2' },
    device: {
      backend: 'webgpu', adapter: o.adapter ?? 'llvmpipe (LLVM 15.0.6, 256 bits)', featureLevel: 'compatibility', limits: { maxComputeInvocationsPerWorkgroup: 1024, maxTextureDimension2D: 4096 },
      ...(o.plans ? { profile: { ...FIXTURE_PROFILE }, tuning: { inUse: true, entries: 3 }, forcedKernels: {} } : {}),
    },
    protocol: {
      warmup: 2, reps: 7, minReps: 3, budgetS: 6, minSampleS: 0.5, interleaved: true, sync: 'queue.onSubmittedWorkDone()',
      description: '2 warm-up call(s), then up to 7 timed repetitions in interleaved rounds; median reported, spread as min–max and IQR; wall clock',
    },
    config: {
      model: 'lenet5', checkpoint: 'lenet5.safetensors', data: o.timingOnly ? 'synthetic-cifar' : 'mnist', methods,
      sparsities: FIXTURE_SPARSITIES, formats, batches: FIXTURE_BATCHES, seeds: FIXTURE_SEEDS, trainEpochs: 0,
      trainLimit: 4096, testLimit: null, batchSize: 128, optimizer: 'sgd', lr: 0.01, momentum: 0.9, weightDecay: 0,
      bsrBlock: [4, 4], protocol: { warmup: 2, reps: 7, minReps: 3, budgetS: 6, minSampleS: 0.5 }, layerTimes: true, preset: null, backend: 'webgpu',
      ...(o.onnxruntime ? { runtimes: ['wgprune' as const, 'onnxruntime' as const] } : {}),
    },
    model: { name: 'lenet5', inputShape: [1, 28, 28], dataset: 'mnist', timingOnly: o.timingOnly ?? false, source: 'checkpoint lenet5.safetensors' },
    baseline: { accuracy: o.timingOnly ? null : DENSE_ACCURACY, profile },
    runs,
    notes: ['Fine-tuning used the first 4096 training samples.'],
  };
}
