/**
 * The kernel plans behind a measurement, summarised for tables and results files. Every
 * planned kernel launch reports a PlanRecord (family, problem, variant and whether the variant
 * was forced, tuned or the device profile's rule); a timed workload makes the same plans on
 * every call, so its plans are the distinct records, and a row shows how many problems (shapes)
 * each family/variant/source served: `conv-fwd window (rule) ×2, matmul tiled-16x4 (tuned)`.
 *
 * Pure functions on plain data: reports format plans from a results file without a device.
 */
import type { KernelFamily, PlanRecord } from '../gpu/profile.js';

/** One distinct plan: a problem and the variant that ran it. */
export interface PlanUse {
  family: KernelFamily;
  /** The problem's key (its geometry, as tuning tables key it). */
  problem: string;
  variant: string;
  source: PlanRecord['source'];
}

/** Plans grouped by family, variant and source, with the number of distinct problems each served. */
export interface PlanCount {
  family: KernelFamily;
  variant: string;
  source: PlanRecord['source'];
  /** Distinct problems (shapes) planned this way. */
  problems: number;
}

/** What makes a plan distinct: its family, problem, variant and source. */
export function planKey(p: PlanUse): string {
  return `${p.family}\u0000${p.problem}\u0000${p.variant}\u0000${p.source}`;
}

/** Distinct plans (by family, problem, variant and source) in first-seen order. */
export function distinctPlans(records: Iterable<PlanUse>): PlanUse[] {
  const out = new Map<string, PlanUse>();
  for (const r of records) {
    const key = planKey(r);
    if (!out.has(key)) out.set(key, { family: r.family, problem: r.problem, variant: r.variant, source: r.source });
  }
  return [...out.values()];
}

/** Groups plans by family, variant and source (first-seen order), counting distinct problems. */
export function countPlans(plans: Iterable<PlanUse>): PlanCount[] {
  const out = new Map<string, PlanCount>();
  for (const p of distinctPlans(plans)) {
    const key = `${p.family}\u0000${p.variant}\u0000${p.source}`;
    const known = out.get(key);
    if (known) known.problems++;
    else out.set(key, { family: p.family, variant: p.variant, source: p.source, problems: 1 });
  }
  return [...out.values()];
}

/** `conv-fwd window (rule) ×2, matmul tiled-16x4 (tuned)`: grouped plans on one line. */
export function formatPlanCounts(counts: readonly PlanCount[]): string {
  if (!counts.length) return 'no planned kernels';
  return counts.map((c) => `${c.family} ${c.variant} (${c.source})${c.problems > 1 ? ` ×${c.problems}` : ''}`).join(', ');
}

/** A workload's distinct plans on one line (see formatPlanCounts). */
export function formatPlans(plans: readonly PlanUse[]): string {
  return formatPlanCounts(countPlans(plans));
}
