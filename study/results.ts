/**
 * The results of a study, as written to `results.json` (schema: `results.schema.json`, shipped
 * with the package; `validateResults` checks a file against it).
 *
 * One study = one model, one data set, and the cross product methods × sparsities × seeds,
 * each a *run*: prune → fine-tune → evaluate → convert / compact → check outputs against the
 * masked model → time every execution format against the dense model in interleaved rounds.
 * Times are seconds per forward pass (eval mode, no gradients) at the given batch size;
 * FLOPs are per sample, one multiply-add = 2 FLOPs, Conv2d/Linear only.
 */
import type { DeviceDescription } from '../engine/internal.js';
import type { Measurement, ModelProfile, Protocol, ProfileTotals, ProtocolOptions } from '../measure/index.js';
import type { PlanCount } from '../measure/plan-summary.js';
import type { OrtRuntime } from '../measure/ort.js';

export const RESULTS_SCHEMA_ID = 'wgprune-study/1';

/** How a model is executed. */
export const FORMATS = ['dense', 'masked', 'csr', 'bsr', 'auto', 'compacted', 'compacted-fused'] as const;
export type Format = (typeof FORMATS)[number];

/** Where the models are timed: wgprune always; ONNX Runtime (CPU) on request, as a second runtime. */
export const RUNTIMES = ['wgprune', 'onnxruntime'] as const;
export type StudyRuntime = (typeof RUNTIMES)[number];

/** The formats that are exported to ONNX and timed on ONNX Runtime when it is requested. */
export const ORT_FORMATS = ['dense', 'masked', 'compacted'] as const;
export type OrtFormat = (typeof ORT_FORMATS)[number];

export const SCHEDULES = ['oneshot', 'iterative', 'agp', 'lottery', 'lottery-reinit'] as const;
export type StudySchedule = (typeof SCHEDULES)[number];

/** One pruning method: criterion × granularity × scope × schedule. */
export interface StudyMethod {
  /** Short unique name used in tables and plots, e.g. 'l1 filter' or 'l1 weight global iterative×3'. */
  label: string;
  /** 'random', 'l1', 'l2', 'linf', 'gradient' (|∂L/∂w|), 'taylor' (|w·∂L/∂w|), 'bn-scale'. */
  criterion: string;
  /** 'weight', 'row', 'column', 'kernel', 'filter', 'channel', 'RxC' blocks (e.g. '4x4') or 'N:M' (e.g. '2:4'). */
  granularity: string;
  scope: 'local' | 'global';
  /**
   * 'oneshot': prune once, then fine-tune; 'iterative': `rounds` × (prune to the round's target
   * → fine-tune); 'agp': gradual pruning during fine-tuning (Zhu & Gupta), `rounds` mask updates;
   * 'lottery': iterative pruning with rewinding to initialisation and retraining (Frankle & Carbin),
   * from a freshly initialised model; 'lottery-reinit': the lottery ticket's final mask with fresh
   * random initial values (the control).
   */
  schedule: StudySchedule;
  rounds: number;
  /** Per round for 'iterative' and the lottery schedules, in total for 'oneshot' and 'agp'. */
  finetuneEpochs: number;
  /**
   * Module name → its own sparsity, instead of the study's sparsities (e.g. the notes' "remove the
   * 2 lowest-L1 filters of each conv"): such a method runs once per seed, and its run's sparsity is
   * the fraction of units it pruned.
   */
  perLayer?: Record<string, number>;
}

export interface StudyConfig {
  /** Registered architecture name, or the path of an ONNX model file (ending in .onnx). */
  model: string;
  /** The checkpoint the dense model was loaded from; null when it was trained by the study. */
  checkpoint: string | null;
  /** 'synthetic': seeded random inputs of the model's shape (timing only). */
  data: 'mnist' | 'synthetic-cifar' | 'synthetic';
  methods: StudyMethod[];
  sparsities: number[];
  formats: Format[];
  batches: number[];
  seeds: number[];
  /** Dense training epochs when no checkpoint is given (0: the untrained model, timing only). */
  trainEpochs: number;
  /** Training samples used for fine-tuning and gradient scores (null: all). */
  trainLimit: number | null;
  /** Test samples used for accuracy (null: all). */
  testLimit: number | null;
  batchSize: number;
  optimizer: 'sgd' | 'adam';
  lr: number;
  momentum: number;
  weightDecay: number;
  /** BSR block shape of the 'bsr' format. */
  bsrBlock: [number, number];
  protocol: ProtocolOptions;
  /** Per-layer times at the largest batch, for each method's run at its highest sparsity (first seed). */
  layerTimes: boolean;
  /** The preset the configuration came from, if any. */
  preset: string | null;
  backend: 'webgpu' | 'cpu';
  /** Runtimes that time the models (absent: wgprune only). */
  runtimes?: StudyRuntime[];
}

/** One latency comparison: the format and its reference timed in the same interleaved rounds. */
export interface LatencyRow {
  batch: number;
  /** The reference: the dense model ('dense'), or the dense model after the same fusion ('dense-fused'). */
  reference: Measurement;
  format: Measurement;
  /** reference median / format median. */
  speedup: number;
  /** speedup / flopSpeedup. */
  realization: number;
  /**
   * The kernel plans behind the format's figure: every plan its forward passes made while they
   * were timed, grouped by family, variant and source (forced, tuned or the device profile's
   * rule) with the number of distinct problems each served. Absent where nothing was recorded
   * (the CPU backend, ONNX Runtime, files from before plans were recorded).
   */
  plans?: PlanCount[];
}

export interface FormatResult {
  format: Format;
  status: 'ok' | 'skipped' | 'failed';
  /** Why skipped or failed. */
  reason?: string;
  /** What the speedup is measured against. */
  reference: 'dense' | 'dense-fused';
  /** FLOPs per sample that the pruning promises for this format (see flopSpeedup). */
  flops: number;
  /**
   * Dense FLOPs / promised FLOPs: for masked, CSR, BSR and auto the pruned model's effective
   * (non-zero weight) FLOPs, for compacted formats the compacted model's FLOPs. The dense format: 1.
   */
  flopSpeedup: number;
  params: number;
  nonzeroParams: number;
  /** Bytes of the parameters as this format stores them (dense / masked: float32; CSR; BSR; compacted: its dense bytes). */
  bytes: number;
  /** Size of the format's model as a safetensors checkpoint, where it has one. */
  checkpointBytes: number | null;
  /** max |y − y_masked| / max |y_masked| on a probe batch (null for dense and masked). */
  outputError: number | null;
  /** 'auto': per layer, the format chosen and why (timings in seconds). */
  choices?: Array<{ name: string; choice: string; timings: Record<string, number> }>;
  latency: LatencyRow[];
}

export interface LayerTimeRow {
  name: string;
  type: string;
  /** Milliseconds per format (the layer timed alone on the previous layer's output). */
  ms: Partial<Record<Format | 'dense-fused', number>>;
}

/** One format exported to ONNX and timed on ONNX Runtime. */
export interface OrtFormatResult {
  format: OrtFormat;
  /** 'failed': not exported, not loadable, or its outputs differ (then it is not timed). */
  status: 'ok' | 'failed';
  reason?: string;
  /** The same FLOP speedup as the format's wgprune result. */
  flopSpeedup: number;
  /** Size of the exported ONNX file (0 when the export failed). */
  onnxBytes: number;
  /**
   * max |y_ort − y| / max |y| on the probe batch, y from our own model: the dense model for
   * dense, the masked model for masked and compacted (null when it could not run).
   */
  outputError: number | null;
  /** Against ONNX Runtime's own dense model, timed in the same rounds. */
  latency: LatencyRow[];
}

/** A run's models on ONNX Runtime (CPU): the second runtime. */
export interface OrtRunResult {
  /** The runtime as configured (null when ONNX Runtime could not be loaded). */
  runtime: OrtRuntime | null;
  formats: OrtFormatResult[];
  /** Wall-clock seconds of the exports, checks and timing. */
  seconds: number;
}

export interface StudyRun {
  /** `${method.label} @ ${sparsity} seed ${seed}`. */
  id: string;
  method: string;
  sparsity: number;
  seed: number;
  status: 'ok' | 'failed';
  error?: string;
  /** Fraction of the prunable (Conv2d/Linear) weights that are zero after pruning. */
  weightSparsity: number;
  /** Units of the granularity pruned / total, over the pruned layers. */
  units: { pruned: number; total: number };
  /** Test accuracy right after the last pruning step and at the end (null: timing-only data). */
  accuracy: { pruned: number | null; final: number | null };
  /** The schedule's steps: target sparsity and accuracy after each. */
  steps: Array<{ target: number; accuracy: number | null }>;
  profile: { masked: ProfileTotals; compacted: ProfileTotals | null };
  formats: FormatResult[];
  layerTimes: { batch: number; layers: LayerTimeRow[] } | null;
  /** The same models on ONNX Runtime, when the study asked for it (absent otherwise). */
  onnxruntime?: OrtRunResult | null;
  /** Wall-clock seconds: pruning and fine-tuning, conversions and checks, timing. */
  seconds: { prune: number; convert: number; time: number };
}

/** The device a study ran on: the engine's description, plus how its kernels were planned (WebGPU). */
export interface StudyDevice extends DeviceDescription {
  /** The tuning table the kernel planners consulted: whether one was loaded, and its entries (problems). */
  tuning?: { inUse: boolean; entries: number };
  /** Kernel variants forced per family (WGPRUNE_KERNEL or init({ kernels })); empty when none. */
  forcedKernels?: Record<string, string>;
}

export interface StudyResults {
  schema: typeof RESULTS_SCHEMA_ID;
  /** False when the study was stopped (Ctrl-C) or failed: the runs present are complete. */
  complete: boolean;
  stopReason: string | null;
  /** The exact command line. */
  command: string;
  startedAt: string;
  finishedAt: string;
  durationS: number;
  versions: Record<string, string>;
  device: StudyDevice;
  protocol: Protocol;
  config: StudyConfig;
  model: {
    name: string;
    inputShape: number[];
    /** 'synthetic': an ONNX model whose input is neither MNIST- nor CIFAR-shaped. */
    dataset: 'mnist' | 'cifar10' | 'synthetic';
    /** True when accuracy is meaningless (synthetic inputs). */
    timingOnly: boolean;
    source: string;
  };
  baseline: {
    /** Test accuracy of the dense model (null: timing-only data). */
    accuracy: number | null;
    profile: ModelProfile;
  };
  runs: StudyRun[];
  notes: string[];
}
