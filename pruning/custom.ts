/** torch.nn.utils.prune's `custom_from_mask` and `identity`. */
import type { Module } from '../nn/index.js';
import { type Scores, scoreValues } from './importance.js';
import { applyMask, maskValues, trainableParam } from './masked.js';

/**
 * Prunes `module[name]` with a given 0/1 mask, combined with any existing mask
 * (an entry stays alive only where both are 1). Any non-zero mask value counts as 1.
 */
export async function customFromMask<M extends Module>(module: M, name: string, mask: Scores): Promise<M> {
  const where = 'customFromMask';
  const p = trainableParam(module, name, where);
  const [given, old] = await Promise.all([scoreValues(mask, p.shape, where), maskValues(module, name)]);
  for (let i = 0; i < old.length; i++) if (given[i] === 0) old[i] = 0;
  applyMask(module, name, old, where);
  return module;
}

/** Re-parametrises `module[name]` with an all-ones mask (nothing pruned), like torch's `identity`. */
export async function identity<M extends Module>(module: M, name: string): Promise<M> {
  const where = 'identity';
  trainableParam(module, name, where);
  applyMask(module, name, await maskValues(module, name), where);
  return module;
}
