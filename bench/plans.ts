/**
 * The plans behind a benchmark row are recorded with `withPlans` (measure/plans.ts: every kernel
 * plan made while the row's workload runs, with its family, problem, variant and whether it was
 * forced, tuned or the profile's rule), printed with the row and kept in its JSON.
 *
 * Side by side (`--tuned`): a row's workload timed with the profile's rule plans and with the
 * tuned plans in the same interleaved rounds. Problems the adapter's tuning table lacks are
 * tuned first (quick protocol) and added to the table in memory, so every row compares the
 * rule with a measured choice.
 */
import type { PlanRecord, TuningTable } from '../gpu/profile.js';
import { adapterKey } from '../gpu/profile.js';
import { formatPlans, type PlanUse, withPlans } from '../measure/plans.js';
import { measureInterleaved, type Measurement, type ProtocolOptions } from '../measure/timing.js';
import { problemsOf } from '../tune/collect.js';
import { QUICK_TUNE_PROTOCOL, tune, webgpuRuntime } from '../tune/tune.js';

export interface RuleVsTuned {
  rule: Measurement;
  tuned: Measurement;
  /** Rule median / tuned median: above 1 the tuned plans are faster. */
  ratio: number;
  rulePlans: PlanUse[];
  tunedPlans: PlanUse[];
  /** Problems tuned for this row (absent from the table before). */
  tunedNow: number;
}

/** The table `--tuned` compares against: the adapter's loaded table, else an empty one to fill. */
export function sideBySideTable(): TuningTable {
  const rt = webgpuRuntime();
  return rt.settings.tuned ?? { adapter: adapterKey(rt.ctx.facts), entries: {} };
}

/**
 * Times `work` with the rule's plans and with `table`'s plans in the same interleaved rounds
 * (see the file comment); the backend's own table is restored afterwards.
 */
export async function ruleVsTuned(work: () => void | Promise<void>, table: TuningTable, protocol: ProtocolOptions, sync: () => Promise<void>): Promise<RuleVsTuned> {
  const s = webgpuRuntime().settings;
  const own = s.tuned;
  const using = (t: TuningTable | null) => async () => {
    s.tuned = t;
    try {
      await work();
    } finally {
      s.tuned = own;
    }
  };
  const ruleRun = await withPlans(using(null));
  await sync();
  const missing = problemsOf(ruleRun.records).filter((p) => !table.entries[p.family]?.[p.key]);
  if (missing.length) {
    const tuned = await tune({ problems: missing, protocol: QUICK_TUNE_PROTOCOL });
    for (const [family, entries] of Object.entries(tuned.table.entries)) Object.assign((table.entries[family as PlanRecord['family']] ??= {}), entries);
  }
  const tunedRun = await withPlans(using(table));
  await sync();
  const [rule, tuned] = (await measureInterleaved([using(null), using(table)], sync, protocol)) as [Measurement, Measurement];
  return { rule, tuned, ratio: rule.median / tuned.median, rulePlans: ruleRun.plans, tunedPlans: tunedRun.plans, tunedNow: missing.length };
}

/** One line for a side-by-side row. */
export function formatRuleVsTuned(c: RuleVsTuned): string {
  const same = formatPlans(c.rulePlans.map((p) => ({ ...p, source: 'rule' }))) === formatPlans(c.tunedPlans.map((p) => ({ ...p, source: 'rule' })));
  return `rule ${(c.rule.median * 1e3).toFixed(3)} ms vs tuned ${(c.tuned.median * 1e3).toFixed(3)} ms: ${c.ratio.toFixed(2)}× ${same ? '(same plans)' : `(tuned: ${formatPlans(c.tunedPlans)})`}${c.tunedNow ? `; ${c.tunedNow} problem(s) tuned for this row` : ''}`;
}
