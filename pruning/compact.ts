/**
 * Structured compaction: a new, genuinely smaller dense model without the
 * pruned filters and neurons (Torch-Pruning's "physical" pruning).
 *
 *   const small = await compact(masked, { inputShape: [1, 28, 28], roundTo: 4 });
 *
 * Which channels go (see graph/): a coupling group — a filter/neuron together
 * with everything that depends on it — is removed when it is neither the model's
 * input nor output and every channel of it that a later Conv2d/Linear reads is
 * identically zero. For a Conv2d/Linear output channel that means: its effective
 * weight row (orig × mask when masked by pruning/, else the raw weights) is all
 * zero where the input is not known to be zero, its bias is zero or absent, and
 * the following BatchNorm (if any) has γ = β = 0 — exactly what
 * `prune(model, { granularity: 'filter' })` leaves behind. What is removed with
 * it: the weight rows and bias entries, BatchNorm γ/β/running_mean/running_var
 * entries, the next layers' input channels, the H·W columns per channel of a
 * Linear after a Flatten, and every member of a residual/concat group.
 *
 * The result equals the masked model's outputs (up to float rounding), in train
 * and eval mode. Masks are folded in: a kept slice whose mask is all ones becomes
 * a plain parameter; a kept slice that still has masked entries keeps its (sliced)
 * mask, so fine-tuning the compacted model leaves those entries at zero.
 *
 * `roundTo: r` keeps each Conv2d/Linear's output count a multiple of r (the
 * vec4/tile widths the kernels like) by keeping a few more channels than the
 * masks allow — the removable groups of that layer with the largest L1 norm of
 * the unmasked (orig) filter — never more than the layer had. Kept-but-pruned
 * channels stay zero (and masked), so outputs are unchanged. Every layer keeps
 * at least one output channel (at least r with rounding, when it had that many).
 *
 * The original model is never modified; an unsupported topology throws an
 * UnsupportedLayerError naming the layer before anything is built, and an
 * `inputShape` the model cannot take an InputShapeError (expected vs given shape).
 *
 * What was done is told, not left to guess: the plan's `summary` lists the layers
 * changed and those left as they were; `compact` hands it to `onReport` and warns
 * (`onWarning`, default console.warn) when nothing could be removed — the result is
 * then a same-size copy, which happens after unstructured pruning.
 */
import { Conv2d, type Module } from '../nn/index.js';
import { buildDependencyGraph, type DependencyGraph, type TraceOptions, type WeightOp } from './graph/index.js';
import { rebuildModel } from './compact-rebuild.js';

export interface CompactOptions extends TraceOptions {
  /** Round every Conv2d/Linear output count up to a multiple of this (default 1: no rounding). */
  roundTo?: number;
}

export interface CompactReportOptions {
  /** Receives what compaction did (the plan's summary). */
  onReport?: (summary: CompactSummary) => void;
  /** Receives the warning that nothing was removed (default: console.warn). */
  onWarning?: (message: string) => void;
}

/** What compaction did, layer by layer (Conv2d, Linear, BatchNorm). */
export interface CompactSummary {
  /** Layers that lost outputs or inputs. */
  changed: LayerCompaction[];
  /** Layers left as they were. */
  unchanged: LayerCompaction[];
  /** Coupling groups (a filter or neuron with everything that depends on it) removed. */
  removedGroups: number;
  /** Removable groups kept for roundTo or the one-output minimum. */
  keptGroups: number;
  /** One line, e.g. "compact: 4 of 7 layers changed (…), 3 left as they were; 9 filters/neurons removed". */
  text: string;
}

export interface LayerCompaction {
  /** Dotted module name. */
  name: string;
  type: string;
  /** Output channels/features (BatchNorm: features) before and after. */
  outBefore: number;
  outAfter: number;
  /** Input channels/features (dim 1 of the weight) before and after; BatchNorm: same as out. */
  inBefore: number;
  inAfter: number;
}

export interface CompactionPlan {
  graph: DependencyGraph;
  /** Group ids deleted. */
  removed: Set<number>;
  /** Groups that could have gone but were kept for roundTo / the one-channel minimum. */
  kept: number;
  /** Per module: indices kept along dim 0 (Conv2d/Linear rows, BatchNorm features). */
  rows: Map<Module, number[]>;
  /** Per Conv2d/Linear: indices kept along weight dim 1 (input channels / features). */
  cols: Map<Module, number[]>;
  layers: LayerCompaction[];
  summary: CompactSummary;
}

function summarize(layers: LayerCompaction[], removedGroups: number, keptGroups: number): CompactSummary {
  const same = (l: LayerCompaction) => l.outAfter === l.outBefore && l.inAfter === l.inBefore;
  const changed = layers.filter((l) => !same(l));
  const unchanged = layers.filter(same);
  const kept = keptGroups ? `, ${keptGroups} more kept (roundTo, or the one output every layer keeps)` : '';
  let text: string;
  if (changed.length === 0) {
    text = keptGroups
      ? `compact: nothing removed: the ${keptGroups} removable filters/neurons were all kept (roundTo, or the one output every layer keeps); ${layers.length} layers left as they were — the result is a same-size copy`
      : `compact: nothing removed: no filter or neuron is entirely pruned (compaction removes whole filters/neurons: prune with filter, channel or row granularity); ${layers.length} layers left as they were — the result is a same-size copy`;
  } else {
    const what = (l: LayerCompaction) => {
      const parts = [l.outAfter !== l.outBefore ? `out ${l.outBefore}→${l.outAfter}` : '', l.inAfter !== l.inBefore && !l.type.startsWith('BatchNorm') ? `in ${l.inBefore}→${l.inAfter}` : ''];
      return `${l.name} ${l.type} ${parts.filter(Boolean).join(', ')}`;
    };
    text = `compact: ${changed.length} of ${layers.length} layers changed (${changed.map(what).join('; ')}), ${unchanged.length} left as they were; ${removedGroups} filters/neurons removed${kept}`;
  }
  return { changed, unchanged, removedGroups, keptGroups, text };
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function l1Row(values: Float32Array, rows: number, r: number): number {
  const cols = values.length / rows;
  let s = 0;
  for (let i = r * cols; i < (r + 1) * cols; i++) s += Math.abs(values[i]!);
  return s;
}

async function groupScores(graph: DependencyGraph, removed: Set<number>): Promise<Map<number, number>> {
  const score = new Map<number, number>();
  for (const op of graph.trace.ops) {
    if (op.kind !== 'conv' && op.kind !== 'linear') continue;
    const w = (await graph.cache.get(op.module, 'weight'))!;
    op.output.forEach((s, o) => {
      const id = graph.groupId(s);
      if (removed.has(id)) score.set(id, Math.max(score.get(id) ?? 0, l1Row(w.orig, op.output.length, o)));
    });
  }
  return score;
}

/** Keeps removable groups until every layer has ≥ 1 output (≥ r, a multiple of r with roundTo). */
async function applyMinimums(graph: DependencyGraph, removed: Set<number>, roundTo: number): Promise<number> {
  const weightOps = graph.trace.ops.filter((o): o is WeightOp => o.kind === 'conv' || o.kind === 'linear');
  const scores = await groupScores(graph, removed);
  let revived = 0;
  for (let changed = true; changed; ) {
    changed = false;
    for (const op of weightOps) {
      const total = op.output.length;
      const alive = op.output.filter((s) => !removed.has(graph.groupId(s))).length;
      const want = Math.min(total, Math.ceil(Math.max(alive, 1) / roundTo) * roundTo);
      if (alive >= want) continue;
      const candidates = [...new Set([...op.output].map((s) => graph.groupId(s)).filter((id) => removed.has(id)))];
      candidates.sort((a, b) => (scores.get(b) ?? 0) - (scores.get(a) ?? 0) || a - b);
      let now = alive;
      for (const id of candidates) {
        if (now >= want) break;
        removed.delete(id);
        revived++;
        changed = true;
        now = op.output.filter((s) => !removed.has(graph.groupId(s))).length;
      }
    }
  }
  return revived;
}

/** Works out what compaction would remove, without building anything. */
export async function planCompaction(model: Module, options: CompactOptions = {}): Promise<CompactionPlan> {
  const roundTo = options.roundTo ?? 1;
  if (!Number.isInteger(roundTo) || roundTo < 1) throw new Error(`compact: roundTo must be a positive integer, got ${roundTo}`);
  const graph = buildDependencyGraph(model, options);
  const removed = await graph.removableGroups();
  const kept = await applyMinimums(graph, removed, roundTo);
  const gone = (s: number) => removed.has(graph.groupId(s));
  const rows = new Map<Module, number[]>();
  const cols = new Map<Module, number[]>();
  const layers: LayerCompaction[] = [];
  for (const op of graph.trace.ops) {
    if (op.kind === 'conv' || op.kind === 'linear') {
      const r = range(op.output.length).filter((o) => !gone(op.output[o]!));
      const inTotal = op.module instanceof Conv2d ? op.module.inChannels : op.module.inFeatures;
      const c = op.input ? range(op.input.length).filter((i) => !gone(op.input![i]!)).flatMap((i) => range(op.inRepeat).map((k) => i * op.inRepeat + k)) : range(inTotal);
      rows.set(op.module, r);
      cols.set(op.module, c);
      layers.push({ name: op.name, type: op.module.typeName(), outBefore: op.output.length, outAfter: r.length, inBefore: inTotal, inAfter: c.length });
    } else if (op.kind === 'norm') {
      const n = op.module.numFeatures;
      const r = op.output ? range(op.output.length).filter((i) => !gone(op.output![i]!)).flatMap((i) => range(op.repeat).map((k) => i * op.repeat + k)) : range(n);
      rows.set(op.module, r);
      layers.push({ name: op.name, type: op.module.typeName(), outBefore: n, outAfter: r.length, inBefore: n, inAfter: r.length });
    }
  }
  return { graph, removed, kept, rows, cols, layers, summary: summarize(layers, removed.size, kept) };
}

/** The compacted model and the plan it followed. The input model is not modified. */
export async function compactWithPlan<M extends Module>(model: M, options: CompactOptions = {}): Promise<{ model: M; plan: CompactionPlan }> {
  const plan = await planCompaction(model, options);
  const out = await rebuildModel(model, plan);
  return { model: out as M, plan };
}

/**
 * A new model with the pruned filters/neurons physically removed (see the file comment);
 * `onReport` receives what was done, `onWarning` (default console.warn) hears when nothing was.
 */
export async function compact<M extends Module>(model: M, options: CompactOptions & CompactReportOptions = {}): Promise<M> {
  const { onReport, onWarning = console.warn, ...rest } = options;
  const { model: out, plan } = await compactWithPlan(model, rest);
  onReport?.(plan.summary);
  if (plan.summary.changed.length === 0) onWarning(plan.summary.text);
  return out;
}
