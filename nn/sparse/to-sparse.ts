/**
 * toSparse(model, options): a new model in which every Linear and Conv2d is replaced
 * by a SparseLinear / SparseConv2d built from its effective weight (so pruning masks
 * are honoured), in CSR, BSR, or — with `format: 'auto'` — whichever of dense, CSR
 * and BSR (each block shape in `blocks`) ran fastest for that layer on the current
 * device (a short timing: one warm-up, then the median of a few synced runs).
 *
 * The sparse candidates' kernels come from the device's kernel planners: by default each
 * format runs the kernel its planner chooses for the layer (recorded in the choice's
 * `kernels`); with `variants: 'all'` every variant the planner offers for the layer's problem
 * is timed, and the fastest is kept for that matrix and problem (the timing batch): its
 * products at that batch run it, other batches are planned as usual.
 *
 * Containers must be Sequential (every model of `nn/models` is); the new model is a
 * tree of `SparseSequential`s. Layers that are not converted (ReLU, pooling, batch
 * norm, …) are shared with the source model, not copied; `dispose()` on the new model
 * frees only what toSparse created. A layer kept dense by 'auto' is a new Linear /
 * Conv2d holding a copy of the effective weight. The new model is in eval mode.
 *
 * What was done is told: each choice records the layer's weight density (non-zero
 * fraction), `onReport` receives a summary (layers converted, layers left as they
 * were), and `onWarning` (default console.warn) hears when no weight of any converted
 * layer is zero — an unpruned model, which sparse kernels only slow down.
 */
import {
  type BlockShape, kernelSettingsOf, observingPlans, type KernelSettings, noGrad, type PlanRecord, randn, SPARSE_FAMILIES, type SparseMatrix, sparseVariants, sync, type Tensor,
} from '../../engine/internal.js';
import { Conv2d } from '../layers/conv.js';
import { Linear } from '../layers/linear.js';
import { Sequential } from '../layers/sequential.js';
import { cloneTensor, Module } from '../module.js';
import { SparseConv2d } from './sparse-conv.js';
import { SparseLinear } from './sparse-linear.js';
import { effectiveBias, type SparseFormat } from './weights.js';

export interface ToSparseOptions {
  format?: SparseFormat | 'auto';
  /** BSR block shape (default 4×4). */
  block?: BlockShape;
  /** 'auto': the BSR block shapes to try (default 4×4 and 8×8). */
  blocks?: readonly BlockShape[];
  /** 'auto': one sample's shape (e.g. [1, 28, 28]); needed when the model has convolutions. */
  inputShape?: readonly number[];
  /** 'auto': batch size to time with (default 64). */
  batch?: number;
  /** 'auto': timed repetitions per candidate (default 5). */
  reps?: number;
  /**
   * 'auto' on WebGPU: 'planned' (default) times each format with the kernel its planner chooses;
   * 'all' times every kernel variant the planner offers for the layer and keeps the fastest.
   */
  variants?: 'planned' | 'all';
  /** Receives what was converted and what was left as it was. */
  onReport?: (summary: SparseSummary) => void;
  /** Receives the warning that no converted layer has a zero weight (default: console.warn). */
  onWarning?: (message: string) => void;
}

/** What toSparse did. */
export interface SparseSummary {
  /** The Linear / Conv2d layers converted, with their choice and weight density. */
  converted: SparseChoice[];
  /** The other layers (activations, pooling, batch norm…), left as they were and shared with the source model. */
  unchanged: string[];
  /** One line, e.g. "toSparse: 3 layers converted to csr (density 0.10–0.31), 4 left as they were". */
  text: string;
}

export interface SparseChoice {
  name: string;
  /** 'dense', 'csr' or 'bsr RxC'. */
  choice: string;
  /** Median seconds per candidate ('auto' only; with variants 'all', each format's fastest variant). */
  timings: Record<string, number>;
  /** 'auto' on WebGPU: the kernel each sparse candidate ran, e.g. `{ csr: 'spmm-csr tex-tb2 (rule)' }`. */
  kernels?: Record<string, string>;
  /** 'auto' with variants 'all': median seconds per sparse candidate and kernel variant, e.g. `csr buf-tb1`. */
  variantTimings?: Record<string, number>;
  /** Fraction of the layer's effective weights that are non-zero (1: nothing pruned). */
  density?: number;
}

/** A Sequential built by toSparse; disposing it frees only the layers toSparse created. */
export class SparseSequential extends Sequential {
  /** Per converted layer: what was chosen (and, for 'auto', the timings). */
  readonly choices: SparseChoice[] = [];
  /** Layers that were not converted (set on the model toSparse returns). */
  readonly unchanged: string[] = [];
  private readonly created = new Set<Module>();

  adopt(m: Module): Module {
    this.created.add(m);
    return m;
  }

  override dispose(): void {
    for (const m of this.created) m.dispose();
    this.created.clear();
  }
}

type Candidate = { label: string; make: () => Promise<Module> };

export async function toSparse(model: Module, options: ToSparseOptions = {}): Promise<Module> {
  const format = options.format ?? 'csr';
  if (!['csr', 'bsr', 'auto'].includes(format)) throw new Error(`toSparse: unknown format '${String(format)}' (expected 'csr', 'bsr' or 'auto')`);
  let sample: Tensor | null = null;
  const backend = model.parameters()[0]?.backend.name;
  if (format === 'auto') {
    if (options.inputShape) sample = randn([options.batch ?? 64, ...options.inputShape], { backend });
    else if (model.modules().some((m) => m instanceof Conv2d)) throw new Error("toSparse: format 'auto' needs options.inputShape (one sample's shape) to time convolutions");
  }
  const root = new SparseSequential();
  try {
    const out = await convert(model, 'model', sample, options, root);
    root.choices.sort((a, b) => a.name.localeCompare(b.name));
    report(root, options);
    if (!(out instanceof SparseSequential)) {
      // A bare layer: return it directly.
      return out;
    }
    for (const c of root.choices) out.choices.push(c);
    for (const n of root.unchanged) out.unchanged.push(n);
    return out.eval();
  } finally {
    sample?.dispose();
  }
}

function report(root: SparseSequential, o: ToSparseOptions): void {
  const converted = root.choices;
  const densities = converted.map((c) => c.density ?? 1);
  const range = densities.length ? `density ${Math.min(...densities).toFixed(2)}–${Math.max(...densities).toFixed(2)}` : '';
  const kinds = [...new Set(converted.map((c) => c.choice))].join(', ');
  const text = converted.length
    ? `toSparse: ${converted.length} layer${converted.length === 1 ? '' : 's'} converted (${kinds}; weight ${range}), ${root.unchanged.length} left as they were`
    : `toSparse: no Linear or Conv2d layer to convert; ${root.unchanged.length} layers left as they were`;
  o.onReport?.({ converted: [...converted], unchanged: [...root.unchanged], text });
  const warn = o.onWarning ?? console.warn;
  if (converted.length === 0) warn(`${text}: the result computes what the model did`);
  else if (densities.every((d) => d === 1)) {
    warn(`toSparse: no weight of the ${converted.length} converted layer${converted.length === 1 ? '' : 's'} is zero (density 1: the model is not pruned), so the sparse kernels do the dense work plus their index overhead; prune first`);
  }
}

/** Non-zero fraction of a sparse layer's weight matrix. */
function matrixDensity(m: SparseMatrix): number {
  return m.nnz / (m.rows * m.cols);
}

/** Converts `m`; `x` (when timing) is its input, replaced by its output for the next layer. */
async function convert(m: Module, name: string, x: Tensor | null, o: ToSparseOptions, root: SparseSequential): Promise<Module> {
  if (m instanceof Sequential) {
    const seq = new SparseSequential();
    let cur = x;
    for (const [childName, child] of m.namedChildren()) {
      const converted = await convert(child, `${name}.${childName}`, cur, o, root);
      seq.append(converted, childName);
      if (converted !== child) seq.adopt(converted);
      if (cur) {
        const next: Tensor = noGrad(() => converted.forward(cur!));
        // Identity layers (e.g. Dropout(0)) may return their input.
        if (cur !== x && next !== cur) cur.dispose();
        cur = next;
      }
    }
    if (cur && cur !== x) cur.dispose();
    return seq;
  }
  if (m instanceof Linear || m instanceof Conv2d) return convertLayer(m, name, x, o, root);
  if (m.children().length > 0) {
    throw new Error(`toSparse: ${name} is a ${m.typeName()} with children; only Sequential containers can be rebuilt (convert its layers yourself with SparseLinear.fromLinear / SparseConv2d.fromConv2d)`);
  }
  root.unchanged.push(name);
  return m;
}

async function convertLayer(layer: Linear | Conv2d, name: string, x: Tensor | null, o: ToSparseOptions, root: SparseSequential): Promise<Module> {
  const fused = layer.activation ?? (layer instanceof Conv2d && layer.maxPool ? 'max pooling' : null);
  if (fused) throw new Error(`toSparse: ${name} has a fused ${fused} (from fuseForInference), which the sparse layers do not run; convert the unfused model`);
  const sparse = (format: SparseFormat, block?: BlockShape) => (layer instanceof Linear ? SparseLinear.fromLinear(layer, format, block) : SparseConv2d.fromConv2d(layer, format, block));
  const format = o.format ?? 'csr';
  if (format !== 'auto') {
    const block = o.block ?? [4, 4];
    const converted = await sparse(format, block);
    root.choices.push({ name, choice: format === 'csr' ? 'csr' : `bsr ${block.join('x')}`, timings: {}, density: matrixDensity(converted.matrix) });
    return converted;
  }
  const candidates: Candidate[] = [
    { label: 'dense', make: () => denseCopy(layer) },
    { label: 'csr', make: () => sparse('csr') },
    ...(o.blocks ?? [[4, 4], [8, 8]]).map((b) => ({ label: `bsr ${b.join('x')}`, make: () => sparse('bsr', b) })),
  ];
  const input = x ?? randn([o.batch ?? 64, (layer as Linear).inFeatures], { backend: layer.parameter('weight')?.backend.name });
  const timings: Record<string, number> = {};
  const kernels: Record<string, string> = {};
  const variantTimings: Record<string, number> = {};
  const settings = kernelSettingsOf(input.backend);
  let best: Module | null = null, bestLabel = '', bestTime = Infinity;
  let density: number | undefined;
  try {
    for (const c of candidates) {
      const mod = await c.make();
      const run = () => noGrad(() => mod.forward(input).dispose());
      if (c.label === 'csr') density = matrixDensity((mod as SparseLinear | SparseConv2d).matrix);
      let t: number;
      if (c.label === 'dense' || !settings) t = await medianTime(run, o.reps ?? 5);
      else {
        const timed = await timeSparse(mod as SparseLinear | SparseConv2d, run, settings, o, c.label, variantTimings);
        t = timed.seconds;
        if (timed.kernel) kernels[c.label] = timed.kernel;
      }
      timings[c.label] = t;
      if (t < bestTime) {
        best?.dispose();
        best = mod;
        bestLabel = c.label;
        bestTime = t;
      } else mod.dispose();
    }
  } finally {
    if (input !== x) input.dispose();
  }
  root.choices.push({
    name, choice: bestLabel, timings, density,
    ...(Object.keys(kernels).length ? { kernels } : {}),
    ...(Object.keys(variantTimings).length ? { variantTimings } : {}),
  });
  return best!;
}


const describePlan = (r: PlanRecord) => `${r.family} ${r.variant} (${r.source})`;

/**
 * Times a sparse layer on WebGPU: with the planned kernel, or (variants 'all', unless a variant
 * is forced for the family) each variant its planner offers for the layer's problem, keeping the
 * fastest in the matrix's own tuning entries. Returns the time of the kernel kept and its name.
 */
async function timeSparse(
  mod: SparseLinear | SparseConv2d, run: () => void, s: KernelSettings, o: ToSparseOptions, label: string, variantTimings: Record<string, number>,
): Promise<{ seconds: number; kernel: string | null }> {
  const reps = o.reps ?? 5;
  const records: PlanRecord[] = [];
  const planned = await observingPlans(s, (r) => records.push(r), () => medianTime(run, reps));
  const rec = records.find((r) => SPARSE_FAMILIES.includes(r.family));
  if (!rec) return { seconds: planned, kernel: null };
  const variants = o.variants === 'all' && s.forced[rec.family] === undefined ? sparseVariants(rec.family, rec.args, s) : [];
  if (variants.length < 2) return { seconds: planned, kernel: describePlan(rec) };
  const storage = mod.weight.storageFor('toSparse');
  const ms: Record<string, number> = {};
  const pin = (variant: string, candidates: Record<string, number> = {}) => {
    storage.tuned = { [rec.family]: { [rec.problem]: { variant, ms: candidates[variant] ?? 0, candidates } } };
  };
  for (const v of variants) {
    pin(v);
    const t = await medianTime(run, reps);
    ms[v] = t * 1000;
    variantTimings[`${label} ${v}`] = t;
  }
  const fastest = variants.reduce((a, b) => (ms[b]! < ms[a]! ? b : a));
  pin(fastest, ms);
  return { seconds: ms[fastest]! / 1000, kernel: `${rec.family} ${fastest} (timed, fastest of ${variants.length})` };
}

/** A plain dense layer holding a copy of the effective weight and bias (no mask override). */
async function denseCopy(layer: Linear | Conv2d): Promise<Module> {
  const w = noGrad(() => layer.getParam('weight')!);
  const opts = { bias: layer.parameter('bias') != null, backend: w.backend.name };
  const copy = layer instanceof Linear
    ? new Linear(layer.inFeatures, layer.outFeatures, opts)
    : new Conv2d(layer.inChannels, layer.outChannels, layer.kernelSize, { ...opts, stride: layer.stride, padding: layer.padding, dilation: layer.dilation });
  copy.replaceParameter('weight', layer.hasParamOverride('weight') ? w : cloneTensor(w))?.dispose();
  const b = effectiveBias(layer);
  if (b) copy.replaceParameter('bias', b)?.dispose();
  return copy.eval();
}

async function medianTime(work: () => void, reps: number): Promise<number> {
  work();
  await sync();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    work();
    await sync();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1]! / 1000;
}
