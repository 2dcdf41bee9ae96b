/**
 * torch.nn.utils.prune.global_unstructured: one ranking over several
 * parameters. As in torch, the values ranked are the effective weights
 * (orig × mask) unless importance scores are given, only live entries compete,
 * and `amount` counts or scales the live entries of all parameters together.
 */
import { defaultGenerator, type Generator } from '../engine/internal.js';
import type { Module } from '../nn/index.js';
import { type Amount, normalizeAmount, unitsToPrune } from './amount.js';
import { type Scores, scoreValues } from './importance.js';
import { applyMask, effectiveValues, maskValues, trainableParam } from './masked.js';
import { smallestK } from './ranking.js';
import { aliveIndices, l1Unstructured, randomUnstructured } from './unstructured.js';

export type GlobalMethod = 'l1' | 'l1-unstructured' | 'random' | 'random-unstructured' | typeof l1Unstructured | typeof randomUnstructured;

export interface GlobalUnstructuredOptions {
  amount: Amount;
  /** The unstructured method (torch's `pruning_method`); default 'l1'. */
  method?: GlobalMethod;
  /** Scores to rank instead of the effective weights, per [module, name] pair (same order as `params`, or a Map keyed by the pair). */
  importanceScores?: ReadonlyArray<Scores | undefined> | Map<readonly [Module, string], Scores>;
  generator?: Generator;
}

function methodKind(m: GlobalMethod | undefined): 'l1' | 'random' {
  if (m === undefined || m === 'l1' || m === 'l1-unstructured' || m === l1Unstructured) return 'l1';
  if (m === 'random' || m === 'random-unstructured' || m === randomUnstructured) return 'random';
  throw new TypeError(`globalUnstructured: only unstructured methods can be applied globally ('l1' or 'random'), got ${typeof m === 'function' ? m.name : String(m)}`);
}

export async function globalUnstructured(params: ReadonlyArray<readonly [Module, string]>, options: GlobalUnstructuredOptions): Promise<void> {
  const where = 'globalUnstructured';
  if (!Array.isArray(params) || params.length === 0) throw new TypeError(`${where}: params must be a non-empty array of [module, name] pairs`);
  const kind = methodKind(options.method);
  const a = normalizeAmount(options.amount, where);
  const seen = new Set<string>();
  const modIds = new Map<Module, number>();
  const tensors = params.map(([m, name], j) => {
    const id = modIds.get(m) ?? modIds.size;
    modIds.set(m, id);
    if (seen.has(`${id}/${name}`)) throw new Error(`${where}: parameter '${name}' of the same module appears twice (entry ${j})`);
    seen.add(`${id}/${name}`);
    return trainableParam(m, name, where);
  });
  const scoresFor = (j: number): Scores | undefined => {
    const s = options.importanceScores;
    if (!s) return undefined;
    if (s instanceof Map) {
      for (const [key, v] of s) if (key[0] === params[j]![0] && key[1] === params[j]![1]) return v;
      return undefined;
    }
    return (s as ReadonlyArray<Scores | undefined>)[j];
  };
  const parts = await Promise.all(params.map(async ([m, name], j) => {
    const given = scoresFor(j);
    const [values, mask] = await Promise.all([given ? scoreValues(given, tensors[j]!.shape, where) : effectiveValues(m, name), maskValues(m, name)]);
    return { values, mask };
  }));
  const total = parts.reduce((n, q) => n + q.mask.length, 0);
  const values = new Float64Array(total);
  const mask = new Float32Array(total);
  let off = 0;
  for (const q of parts) {
    values.set(q.values, off);
    mask.set(q.mask, off);
    off += q.mask.length;
  }
  const alive = aliveIndices(mask);
  const k = unitsToPrune(a, alive.length, where);
  let scores: Float64Array;
  if (kind === 'l1') scores = Float64Array.from(values, Math.abs);
  else {
    const g = options.generator ?? defaultGenerator;
    scores = new Float64Array(total);
    for (const i of alive) scores[i] = g.uniform();
  }
  for (const i of smallestK(scores, k, alive)) mask[i] = 0;
  off = 0;
  params.forEach(([m, name], j) => {
    const n = tensors[j]!.size;
    applyMask(m, name, mask.subarray(off, off + n), where);
    off += n;
  });
}
