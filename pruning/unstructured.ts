/**
 * torch.nn.utils.prune's unstructured methods: `l1Unstructured` and
 * `randomUnstructured`. A repeated call works only on the entries still alive
 * (torch's PruningContainer): `amount` counts or scales the surviving entries,
 * and the new mask is the old one with `k` more zeros.
 */
import { defaultGenerator, type Generator } from '../engine/internal.js';
import type { Module } from '../nn/index.js';
import { type Amount, normalizeAmount, unitsToPrune } from './amount.js';
import { type Scores, scoreValues } from './importance.js';
import { applyMask, effectiveValues, maskValues, trainableParam } from './masked.js';
import { smallestK } from './ranking.js';

export interface UnstructuredOptions {
  /** Scores ranked instead of the parameter's values (torch's `importance_scores`). */
  importanceScores?: Scores;
}

export interface RandomOptions {
  /** Source of randomness (the engine's default generator when absent). */
  generator?: Generator;
}

/** Indices where the mask is 1. */
export function aliveIndices(mask: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i] === 1) out.push(i);
  return out;
}

/**
 * Prunes the `amount` entries of `module[name]` with the smallest |value| (or
 * |importance score|), among those still alive. As in torch, the values ranked
 * are the parameter as the forward sees it (orig × mask on a repeated call).
 */
export async function l1Unstructured<M extends Module>(module: M, name: string, amount: Amount, options: UnstructuredOptions = {}): Promise<M> {
  const where = 'l1Unstructured';
  const p = trainableParam(module, name, where);
  const a = normalizeAmount(amount, where);
  const [values, mask] = await Promise.all([options.importanceScores ? scoreValues(options.importanceScores, p.shape, where) : effectiveValues(module, name), maskValues(module, name)]);
  const alive = aliveIndices(mask);
  const k = unitsToPrune(a, alive.length, where);
  const abs = Float64Array.from(values, Math.abs);
  for (const i of smallestK(abs, k, alive)) mask[i] = 0;
  applyMask(module, name, mask, where);
  return module;
}

/** Prunes `amount` entries of `module[name]` chosen uniformly at random among those still alive. */
export async function randomUnstructured<M extends Module>(module: M, name: string, amount: Amount, options: RandomOptions = {}): Promise<M> {
  const where = 'randomUnstructured';
  const p = trainableParam(module, name, where);
  const a = normalizeAmount(amount, where);
  const mask = await maskValues(module, name);
  const alive = aliveIndices(mask);
  const k = unitsToPrune(a, alive.length, where);
  const g = options.generator ?? defaultGenerator;
  const draw = new Float64Array(p.size);
  for (const i of alive) draw[i] = g.uniform();
  for (const i of smallestK(draw, k, alive)) mask[i] = 0;
  applyMask(module, name, mask, where);
  return module;
}
