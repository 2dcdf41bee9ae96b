/**
 * The plans behind a benchmark row: every kernel plan made while the row's workload runs
 * (family, problem, variant and whether it was forced, tuned or the profile's rule), recorded
 * through `settings.onPlan`, printed with the row and kept in its JSON.
 *
 * Side by side (`--tuned`): a row's workload timed with the profile's rule plans and with the
 * tuned plans in the same interleaved rounds. Problems the adapter's tuning table lacks are
 * tuned first (quick protocol) and added to the table in memory, so every row compares the
 * rule with a measured choice.
 */
import type { PlanRecord, TuningTable } from '../gpu/profile.js';
import { adapterKey } from '../gpu/profile.js';
import { measureInterleaved, type Measurement, type ProtocolOptions } from '../measure/timing.js';
import { problemsOf, recordingPlans } from '../tune/collect.js';
import { QUICK_TUNE_PROTOCOL, tune, webgpuRuntime } from '../tune/tune.js';

/** A plan as a row shows it. */
export interface PlanUse {
  family: PlanRecord['family'];
  problem: string;
  variant: string;
  source: PlanRecord['source'];
}

/** Distinct plans (by family, problem, variant and source) in first-seen order. */
function distinct(records: PlanRecord[]): PlanUse[] {
  const out = new Map<string, PlanUse>();
  for (const r of records) out.set(`${r.family}|${r.problem}|${r.variant}|${r.source}`, { family: r.family, problem: r.problem, variant: r.variant, source: r.source });
  return [...out.values()];
}

/** Runs `work` once and returns its result with the plans it made. */
export async function withPlans<T>(work: () => T | Promise<T>): Promise<{ result: T; plans: PlanUse[]; records: PlanRecord[] }> {
  const records: PlanRecord[] = [];
  const result = await recordingPlans((r) => records.push(r), work);
  return { result, plans: distinct(records), records };
}

/** `matmul tiled-16x4 (rule), conv-fwd implicit (tuned)`: a row's plans on one line. */
export function formatPlans(plans: PlanUse[]): string {
  if (!plans.length) return 'no planned kernels';
  const seen = new Map<string, number>();
  for (const p of plans) {
    const k = `${p.family} ${p.variant} (${p.source})`;
    seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  return [...seen].map(([k, n]) => (n > 1 ? `${k} ×${n}` : k)).join(', ');
}

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
