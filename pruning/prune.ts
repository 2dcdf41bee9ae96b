/**
 * The high-level pruning call: criterion × granularity × scope, to a target
 * sparsity, on a model's Linear and Conv2d weights.
 *
 *   await prune(model, { sparsity: 0.9 })                                  // local L1, per weight
 *   await prune(model, { sparsity: 0.5, granularity: 'filter', criterion: 'l2' })
 *   await prune(model, { sparsity: 0.9, scope: 'global', normalize: 'l2' })
 *   await prune(model, { granularity: '2:4' })                             // N:M
 *
 * `sparsity` is the target *after* the call, counted in units of the
 * granularity (weights, rows, filters, blocks…): per layer for local scope,
 * over all chosen layers together for global scope. Exactly round(s × units)
 * units end up pruned (Python's rounding, as torch); units already pruned count
 * toward the target and are never revived, so calling with increasing targets
 * (iterative and gradual schedules) prunes only the difference. A layer
 * already sparser than its target is left as it is. N:M has a fixed sparsity
 * (1 − N/M) and ignores `sparsity`.
 *
 * A unit (group) is alive while any of its entries is; scores come from the
 * effective weights, so partly pruned groups score lower. Groups score by the
 * criterion's combination (an Lp norm by default); n×m blocks use the power
 * mean (Lp norm / count^(1/p)) so partial edge blocks compete on equal terms.
 *
 * Global scope ranks all chosen layers' units together; `normalize` divides
 * each layer's scores first: 'none' (torch's global_unstructured), 'l1', 'l2'
 * (by the layer's L1/L2 norm of scores), 'max' or 'mean'. Layers in `perLayer`
 * get their own (local) target and stay out of the global ranking.
 *
 * Structured granularities (row, column, kernel, filter, channel) leave the
 * output head (the last Linear/Conv2d) alone unless `excludeHead: false` or
 * `layers` names it. Filter pruning with `coupled` (default) also masks the
 * layer's bias and the following BatchNorm's weight and bias for the pruned
 * channels, so the channel's output is really zero.
 *
 * Every check runs and every mask is computed before any module changes: a
 * failing call leaves the model unchanged.
 */
import type { Generator } from '../engine/internal.js';
import type { Module } from '../nn/index.js';
import { checkSparsity, pythonRound } from './amount.js';
import { type Criterion, resolveCriterion } from './criteria.js';
import { type Granularity, granularityName, type Grouping, groupsFor, isNM, isStructured, parseGranularity } from './granularity.js';
import { applyMask, isPruned, maskValues, trainableParam } from './masked.js';
import { smallestK } from './ranking.js';
import { followingBatchNorm, headName, type PruneTarget, selectTargets, type TargetSelection } from './target.js';

export type Scope = 'local' | 'global';
export type Normalization = 'none' | 'l1' | 'l2' | 'max' | 'mean';

export interface PruneOptions extends TargetSelection {
  /** Target fraction of units pruned after the call (required except for N:M). */
  sparsity?: number;
  /** 'l1' (default), 'l2', 'linf', 'l<p>', 'random', 'bn-scale', or a Criterion (e.g. from a GradientAccumulator). */
  criterion?: Criterion | string;
  /** Default 'weight'. */
  granularity?: Granularity | string;
  /** Default 'local'. */
  scope?: Scope;
  /** Global scope: per-layer score normalisation (default 'none'). */
  normalize?: Normalization;
  /** Module name → its own target sparsity (pruned locally, outside the global ranking). */
  perLayer?: Record<string, number>;
  /** Leave the output head alone (default: true for structured granularities when `layers` is not given). */
  excludeHead?: boolean;
  /** Filter pruning also masks bias and the following BatchNorm (default true). */
  coupled?: boolean;
  /** For the 'random' criterion given by name. */
  generator?: Generator;
}

export interface LayerPruneResult {
  /** Parameter key, e.g. 'classifier.0.weight'. */
  key: string;
  units: number;
  /** Units pruned after the call (alive before and pruned now, or pruned earlier). For N:M, units are weights. */
  pruned: number;
  /** pruned / units. */
  sparsity: number;
  /** Entries of the weight that are masked. */
  zeros: number;
  size: number;
}

export interface PruneResult {
  criterion: string;
  granularity: string;
  scope: Scope;
  layers: LayerPruneResult[];
  units: number;
  pruned: number;
  /** Units pruned over units, over all layers. */
  sparsity: number;
}

interface Plan {
  target: PruneTarget;
  grouping: Grouping;
  mask: Float32Array;
  alive: Uint8Array;
  scores: Float64Array;
  local: number | null;
}

const NORMALIZATIONS: readonly Normalization[] = ['none', 'l1', 'l2', 'max', 'mean'];

function groupAlive(mask: Float32Array, grouping: Grouping): Uint8Array {
  const alive = new Uint8Array(grouping.count);
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) alive[grouping.of[i]!] = 1;
  return alive;
}

function combine(elements: Float64Array, grouping: Grouping, criterion: Criterion, mean: boolean): Float64Array {
  const c = criterion.combine ?? { kind: 'norm', p: 1 };
  const out = new Float64Array(grouping.count);
  if (c.kind === 'square-of-sum') {
    for (let i = 0; i < elements.length; i++) out[grouping.of[i]!]! += elements[i]!;
    for (let g = 0; g < out.length; g++) out[g] = out[g]! * out[g]!;
    return out;
  }
  const p = c.p;
  if (p === Infinity) {
    for (let i = 0; i < elements.length; i++) out[grouping.of[i]!] = Math.max(out[grouping.of[i]!]!, Math.abs(elements[i]!));
    return out;
  }
  if (p === -Infinity) {
    out.fill(Infinity);
    for (let i = 0; i < elements.length; i++) out[grouping.of[i]!] = Math.min(out[grouping.of[i]!]!, Math.abs(elements[i]!));
    return out;
  }
  for (let i = 0; i < elements.length; i++) {
    const a = Math.abs(elements[i]!);
    out[grouping.of[i]!]! += p === 0 ? (a !== 0 ? 1 : 0) : p === 1 ? a : a ** p;
  }
  for (let g = 0; g < out.length; g++) {
    let v = out[g]!;
    if (mean) v /= grouping.sizes[g]!;
    out[g] = p === 0 || p === 1 ? v : v ** (1 / p);
  }
  return out;
}

function normalizeScores(scores: Float64Array, how: Normalization): Float64Array {
  if (how === 'none' || scores.length === 0) return scores;
  let d = 0;
  if (how === 'l1') for (const v of scores) d += Math.abs(v);
  else if (how === 'l2') d = Math.sqrt(scores.reduce((a, v) => a + v * v, 0));
  else if (how === 'max') d = scores.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
  else d = scores.reduce((a, v) => a + Math.abs(v), 0) / scores.length;
  return d > 0 && Number.isFinite(d) ? scores.map((v) => v / d) : scores;
}

/** Alive groups with the smallest scores, so that round(s·count) groups end up pruned. */
function toPrune(alive: Uint8Array, scores: Float64Array, target: number): number[] {
  const live: number[] = [];
  for (let g = 0; g < alive.length; g++) if (alive[g]) live.push(g);
  const dead = alive.length - live.length;
  const k = Math.max(0, pythonRound(target * alive.length) - dead);
  return smallestK(scores, k, live);
}

/** N:M: in every group keep the ⌈size·n/m⌉ best live entries. */
function nmMask(mask: Float32Array, grouping: Grouping, elements: Float64Array, n: number, m: number): void {
  const members: number[][] = Array.from({ length: grouping.count }, () => []);
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) members[grouping.of[i]!]!.push(i);
  for (let g = 0; g < grouping.count; g++) {
    const keep = Math.ceil((grouping.sizes[g]! * n) / m);
    const live = members[g]!;
    if (live.length <= keep) continue;
    const score = (i: number) => Math.abs(elements[i]!);
    live.sort((a, b) => score(a) - score(b) || a - b);
    for (const i of live.slice(0, live.length - keep)) mask[i] = 0;
  }
}

export async function prune(model: Module, options: PruneOptions): Promise<PruneResult> {
  const where = 'prune';
  const granularity = parseGranularity(options.granularity ?? 'weight');
  const scope = options.scope ?? 'local';
  if (scope !== 'local' && scope !== 'global') throw new Error(`${where}: scope must be 'local' or 'global', got '${String(scope)}'`);
  const normalize = options.normalize ?? 'none';
  if (!NORMALIZATIONS.includes(normalize)) throw new Error(`${where}: normalize must be one of ${NORMALIZATIONS.join(', ')}, got '${String(normalize)}'`);
  const nm = isNM(granularity);
  if (nm && scope === 'global') throw new Error(`${where}: N:M granularity is a per-group pattern; it has no global scope`);
  if (!nm) {
    if (options.sparsity === undefined) throw new Error(`${where}: sparsity is required (a fraction in [0, 1])`);
    checkSparsity(options.sparsity, where);
  }
  const criterion = resolveCriterion(options.criterion, options.generator);
  const excludeHead = options.excludeHead ?? (isStructured(granularity) && !options.layers);
  const head = excludeHead ? headName(model) : null;
  let targets = selectTargets(model, { ...options, exclude: [...(options.exclude ?? []), ...(head !== null ? [head] : [])] }, where);
  // Kernels exist only in conv weights: by default, 'kernel' prunes the conv layers alone.
  if (granularity === 'kernel' && !options.layers) targets = targets.filter((t) => trainableParam(t.module, t.param, where).rank === 4);
  if (targets.length === 0) throw new Error(`${where}: no layer to prune (check layers / exclude)`);
  const perLayer = options.perLayer ?? {};
  for (const [name, s] of Object.entries(perLayer)) {
    if (!targets.some((t) => t.moduleName === name)) throw new Error(`${where}: perLayer names '${name}', which is not among the layers pruned (${targets.map((t) => t.moduleName).join(', ')})`);
    checkSparsity(s, `${where}: perLayer['${name}']`);
  }

  // Plan every layer (all reads and checks) before changing anything.
  const plans: Plan[] = [];
  for (const target of targets) {
    const shape = trainableParam(target.module, target.param, where).shape;
    const grouping = groupsFor(shape, granularity, `${where} '${target.key}'`);
    const mask = await maskValues(target.module, target.param);
    const alive = groupAlive(mask, grouping);
    let scores: Float64Array | null = null;
    if (criterion.groupScores && !nm) scores = await criterion.groupScores(target, grouping, granularity);
    if (!scores) {
      const elements = await criterion.elementScores(target);
      if (nm) scores = elements;
      else scores = combine(elements, grouping, criterion, typeof granularity === 'object' && 'block' in granularity);
    }
    plans.push({ target, grouping, mask, alive, scores, local: perLayer[target.moduleName] ?? (scope === 'local' ? options.sparsity ?? 0 : null) });
  }

  const dead = new Map<Plan, number[]>();
  if (nm) {
    const [n, m] = granularity.nm;
    for (const p of plans) nmMask(p.mask, p.grouping, p.scores, n, m);
  } else {
    for (const p of plans) if (p.local !== null) dead.set(p, toPrune(p.alive, p.scores, p.local));
    const pooled = plans.filter((p) => p.local === null);
    if (pooled.length) {
      const offsets: number[] = [];
      let total = 0;
      for (const p of pooled) {
        offsets.push(total);
        total += p.grouping.count;
      }
      const alive = new Uint8Array(total);
      const scores = new Float64Array(total);
      pooled.forEach((p, j) => {
        alive.set(p.alive, offsets[j]);
        scores.set(normalizeScores(p.scores, normalize), offsets[j]);
      });
      const chosen = toPrune(alive, scores, options.sparsity!);
      pooled.forEach((p) => dead.set(p, []));
      for (const g of chosen) {
        let j = pooled.length - 1;
        while (offsets[j]! > g) j--;
        dead.get(pooled[j]!)!.push(g - offsets[j]!);
      }
    }
    for (const [p, groups] of dead) {
      const drop = new Uint8Array(p.grouping.count);
      for (const g of groups) drop[g] = 1;
      for (let i = 0; i < p.mask.length; i++) if (drop[p.grouping.of[i]!]) p.mask[i] = 0;
    }
  }

  // Coupled masks for filter pruning: bias and the following BatchNorm.
  const coupled: Array<[Module, string, Float32Array]> = [];
  if ((granularity === 'filter' || granularity === 'row') && options.coupled !== false) {
    for (const p of plans) {
      if (p.target.param !== 'weight') continue;
      const channelAlive = groupAlive(p.mask, p.grouping);
      if (channelAlive.every((a) => a === 1)) continue;
      const related: Array<[Module, string]> = [];
      if (p.target.module.parameter('bias') || isPruned(p.target.module, 'bias')) related.push([p.target.module, 'bias']);
      const bn = followingBatchNorm(p.target.model, p.target.moduleName);
      if (bn) for (const name of ['weight', 'bias']) if (bn[1].parameter(name) || isPruned(bn[1], name)) related.push([bn[1], name]);
      for (const [m, name] of related) {
        const mask = await maskValues(m, name);
        if (mask.length !== channelAlive.length) continue;
        for (let c = 0; c < mask.length; c++) if (!channelAlive[c]) mask[c] = 0;
        coupled.push([m, name, mask]);
      }
    }
  }

  for (const p of plans) applyMask(p.target.module, p.target.param, p.mask, where);
  for (const [m, name, mask] of coupled) applyMask(m, name, mask, where);

  const layers = plans.map((p) => {
    const alive = groupAlive(p.mask, p.grouping);
    const pruned = alive.length - alive.reduce((a, v) => a + v, 0);
    const zeros = p.mask.reduce((a, v) => a + (v === 0 ? 1 : 0), 0);
    if (nm) return { key: p.target.key, units: p.mask.length, pruned: zeros, sparsity: p.mask.length ? zeros / p.mask.length : 0, zeros, size: p.mask.length };
    return { key: p.target.key, units: p.grouping.count, pruned, sparsity: p.grouping.count ? pruned / p.grouping.count : 0, zeros, size: p.mask.length };
  });
  const units = layers.reduce((a, l) => a + l.units, 0);
  const pruned = layers.reduce((a, l) => a + l.pruned, 0);
  return { criterion: criterion.name, granularity: granularityName(granularity), scope, layers, units, pruned, sparsity: units ? pruned / units : 0 };
}
