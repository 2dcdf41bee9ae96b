/**
 * Criteria: how important each weight (or group of weights) is. A criterion
 * gives per-element scores and says how they combine over a group; criteria
 * that only make sense per group (random, BN-scale) score groups directly.
 * Low scores are pruned first. Scores are computed from the effective weights
 * (orig × mask), so entries already pruned count as zero.
 *
 *   magnitude(p)       |w|, groups by their Lp norm (p = 1: L1, 2: L2, Infinity, …)
 *   random()           uniform random scores, one per group
 *   bnScale()          |γ| of the BatchNorm right after the layer, per output channel
 *   gradient magnitude and first-order Taylor: see GradientAccumulator (gradient.ts)
 */
import { defaultGenerator, type Generator } from '../engine/internal.js';
import type { Granularity, Grouping } from './granularity.js';
import { effectiveValues, trainableParam } from './masked.js';
import { followingBatchNorm, type PruneTarget } from './target.js';

/** How element scores combine over a group: an Lp norm, or the square of their (signed) sum (Taylor). */
export type GroupCombine = { kind: 'norm'; p: number } | { kind: 'square-of-sum' };

export interface Criterion {
  readonly name: string;
  /** Per-element scores (signed allowed when `combine` is 'square-of-sum'). */
  elementScores(target: PruneTarget): Promise<Float64Array>;
  /** Default { kind: 'norm', p: 1 }. */
  readonly combine?: GroupCombine;
  /** Scores for whole groups; null falls back to element scores combined. */
  groupScores?(target: PruneTarget, grouping: Grouping, granularity: Granularity): Promise<Float64Array | null>;
}

/** Weight magnitude; groups are ranked by their Lp norm. */
export function magnitude(p = 1): Criterion {
  if (typeof p !== 'number' || Number.isNaN(p)) throw new Error(`magnitude: p must be a number, got ${String(p)}`);
  return {
    name: p === 1 ? 'l1' : p === 2 ? 'l2' : `l${p}`,
    combine: { kind: 'norm', p },
    async elementScores(t) {
      return Float64Array.from(await effectiveValues(t.module, t.param), Math.abs);
    },
  };
}

/** Uniformly random scores (one draw per element, or per group for grouped granularities). */
export function random(generator: Generator = defaultGenerator): Criterion {
  return {
    name: 'random',
    async elementScores(t) {
      const n = trainableParam(t.module, t.param, 'random').size;
      return Float64Array.from({ length: n }, () => generator.uniform());
    },
    async groupScores(_t, grouping) {
      return Float64Array.from({ length: grouping.count }, () => generator.uniform());
    },
  };
}

/**
 * Network-slimming's BN-scale criterion: output channel c of a layer scores
 * |γ_c| of the BatchNorm that follows it. Only for 'filter' (or 'row') granularity.
 */
export function bnScale(): Criterion {
  return {
    name: 'bn-scale',
    async elementScores() {
      throw new Error("bn-scale ranks output channels: use granularity 'filter'");
    },
    async groupScores(t, grouping, granularity) {
      if (granularity !== 'filter' && granularity !== 'row') throw new Error(`bn-scale ranks output channels: use granularity 'filter', not '${typeof granularity === 'string' ? granularity : JSON.stringify(granularity)}'`);
      const bn = followingBatchNorm(t.model, t.moduleName);
      if (!bn) throw new Error(`bn-scale: no BatchNorm follows '${t.moduleName}' (exclude the layer or use another criterion)`);
      const [bnName, m] = bn;
      if (m.parameter('weight') === null) throw new Error(`bn-scale: BatchNorm '${bnName}' has no affine weight`);
      const gamma = await effectiveValues(m, 'weight');
      if (gamma.length !== grouping.count) throw new Error(`bn-scale: BatchNorm '${bnName}' has ${gamma.length} channels, '${t.moduleName}' ${grouping.count}`);
      return Float64Array.from(gamma, Math.abs);
    },
  };
}

/** 'l1' | 'l2' | 'linf' | 'l<p>' | 'magnitude' | 'random' | 'bn-scale' → a criterion. */
export function resolveCriterion(c: Criterion | string | undefined, generator?: Generator): Criterion {
  if (c === undefined) return magnitude(1);
  if (typeof c !== 'string') return c;
  const s = c.toLowerCase();
  if (s === 'l1' || s === 'magnitude') return magnitude(1);
  if (s === 'l2') return magnitude(2);
  if (s === 'linf') return magnitude(Infinity);
  if (/^l\d+(\.\d+)?$/.test(s)) return magnitude(Number(s.slice(1)));
  if (s === 'random') return random(generator);
  if (s === 'bn-scale' || s === 'bn_scale' || s === 'bnscale') return bnScale();
  if (s === 'gradient' || s === 'taylor') throw new Error(`criterion '${c}' needs gradients: build it with new GradientAccumulator(model).${s === 'taylor' ? 'taylor' : 'gradientMagnitude'}() after feeding batches`);
  throw new Error(`unknown criterion '${c}' (expected l1, l2, linf, l<p>, random, bn-scale, or a Criterion object)`);
}
