/**
 * The candidate variants of a sparse kernel problem as a plan record names it (family and the
 * planner's arguments), for callers that time the variants of a layer they run (toSparse).
 */
import type { KernelFamily, KernelSettings } from '../../gpu/profile.js';
import { bsrSpmmCandidates, type BsrSpmmProblem } from './bsr-plan.js';
import { sparseConvCandidates, type SparseConvProblem } from './conv-plan.js';
import { csrSpmmCandidates, type CsrSpmmProblem } from './csr-plan.js';

export const SPARSE_FAMILIES: readonly KernelFamily[] = ['spmm-csr', 'spmm-bsr', 'sparse-conv'];

/** The variant names the family's planner offers for `args` (a PlanRecord's args); [] for other families. */
export function sparseVariants(family: KernelFamily, args: unknown, s: KernelSettings): string[] {
  switch (family) {
    case 'spmm-csr': return csrSpmmCandidates(args as CsrSpmmProblem, s).map((c) => c.variant);
    case 'spmm-bsr': return bsrSpmmCandidates(args as BsrSpmmProblem, s).map((c) => c.variant);
    case 'sparse-conv': return sparseConvCandidates(args as SparseConvProblem, s).map((c) => c.variant);
    default: return [];
  }
}
