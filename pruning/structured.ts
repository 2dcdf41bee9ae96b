/**
 * torch.nn.utils.prune's structured methods: `lnStructured` (prune the slices
 * along `dim` with the smallest Ln norm, the norm taken over every other dim)
 * and `randomStructured`. A repeated call works on the slices not yet entirely
 * pruned (torch's PruningContainer); `amount` counts or scales those.
 */
import { defaultGenerator } from '../engine/internal.js';
import type { Module } from '../nn/index.js';
import { type Amount, normalizeAmount, unitsToPrune } from './amount.js';
import { checkDim, indexAlong, type Scores, scoreValues } from './importance.js';
import { applyMask, effectiveValues, maskValues, trainableParam } from './masked.js';
import { largestK, lnNorm } from './ranking.js';
import type { RandomOptions } from './unstructured.js';

/** torch.norm's `p`: a real number, ±Infinity, or 'fro' (= 2). */
export type NormOrder = number | 'fro';

export interface StructuredOptions {
  importanceScores?: Scores;
}

function checkStructured(shape: readonly number[], where: string): void {
  if (shape.length <= 1) {
    throw new Error(`${where}: structured pruning can only be applied to multidimensional tensors; found a tensor of shape [${shape.join(', ')}] with ${shape.length} dims`);
  }
}

function normOrder(n: NormOrder, where: string): number {
  if (n === 'fro') return 2;
  if (typeof n !== 'number' || Number.isNaN(n)) throw new TypeError(`${where}: n must be a number, ±Infinity or 'fro', got ${String(n)}`);
  return n;
}

/** Slices along `dim` that still hold at least one live entry. */
function liveSlices(mask: ArrayLike<number>, along: Int32Array, count: number): number[] {
  const live = new Uint8Array(count);
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) live[along[i]!] = 1;
  const out: number[] = [];
  for (let c = 0; c < count; c++) if (live[c]) out.push(c);
  return out;
}

/** Zeroes every slice along `dim` not in `keep` (among `candidates`), leaving other slices as they are. */
function dropSlices(mask: Float32Array, along: Int32Array, candidates: number[], keep: number[]): void {
  const dropped = new Set(candidates);
  for (const c of keep) dropped.delete(c);
  for (let i = 0; i < mask.length; i++) if (dropped.has(along[i]!)) mask[i] = 0;
}

/**
 * Prunes the `amount` slices of `module[name]` along `dim` with the smallest
 * Ln norm (`n`), computed over all other dims (torch's `ln_structured`: it keeps
 * the largest). As in torch, the norms are of the parameter as the forward sees
 * it (orig × mask on a repeated call). `dim` may be negative.
 */
export async function lnStructured<M extends Module>(module: M, name: string, amount: Amount, n: NormOrder, dim: number = -1, options: StructuredOptions = {}): Promise<M> {
  const where = 'lnStructured';
  const p = trainableParam(module, name, where);
  const a = normalizeAmount(amount, where);
  const order = normOrder(n, where);
  checkStructured(p.shape, where);
  const d = checkDim(dim, p.shape, where);
  const [values, mask] = await Promise.all([options.importanceScores ? scoreValues(options.importanceScores, p.shape, where) : effectiveValues(module, name), maskValues(module, name)]);
  const along = indexAlong(p.shape, d);
  const count = p.shape[d]!;
  const candidates = liveSlices(mask, along, count);
  const k = unitsToPrune(a, candidates.length, where);
  if (k === 0) {
    applyMask(module, name, mask, where);
    return module;
  }
  const members: number[][] = Array.from({ length: count }, () => []);
  for (let i = 0; i < along.length; i++) members[along[i]!]!.push(values[i]!);
  const norms = members.map((v) => lnNorm(v, order));
  dropSlices(mask, along, candidates, largestK(norms, candidates.length - k, candidates));
  applyMask(module, name, mask, where);
  return module;
}

/** Prunes `amount` slices of `module[name]` along `dim`, chosen uniformly at random among the live ones. */
export async function randomStructured<M extends Module>(module: M, name: string, amount: Amount, dim: number = -1, options: RandomOptions = {}): Promise<M> {
  const where = 'randomStructured';
  const p = trainableParam(module, name, where);
  const a = normalizeAmount(amount, where);
  checkStructured(p.shape, where);
  const d = checkDim(dim, p.shape, where);
  const mask = await maskValues(module, name);
  const along = indexAlong(p.shape, d);
  const count = p.shape[d]!;
  const candidates = liveSlices(mask, along, count);
  const k = unitsToPrune(a, candidates.length, where);
  const g = options.generator ?? defaultGenerator;
  const draw = new Float64Array(count);
  for (const c of candidates) draw[c] = g.uniform();
  dropSlices(mask, along, candidates, largestK(draw, candidates.length - k, candidates));
  applyMask(module, name, mask, where);
  return module;
}
