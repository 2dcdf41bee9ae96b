/**
 * The tunable kernel families: each one's planner and a runner for its candidates
 * (tune/families/*.ts). A family without an entry here is planned by its rule only.
 */
import type { KernelFamily } from '../gpu/profile.js';
import type { TunableFamily } from './family.js';
import { convFamilies } from './families/conv.js';
import { matmulFamily } from './families/matmul.js';
import { sparseFamilies } from './families/sparse.js';

const FAMILIES = new Map<KernelFamily, TunableFamily<any, any>>([matmulFamily, ...convFamilies, ...sparseFamilies].map((f) => [f.family, f]));

/** The families the tuner can measure. */
export function tunableFamilies(): KernelFamily[] {
  return [...FAMILIES.keys()];
}

export function isTunable(family: KernelFamily): boolean {
  return FAMILIES.has(family);
}

export function familyOf(family: KernelFamily): TunableFamily<any, any> {
  const f = FAMILIES.get(family);
  if (!f) throw new Error(`the tuner cannot measure kernel family '${family}' (tunable: ${tunableFamilies().join(', ')})`);
  return f;
}
