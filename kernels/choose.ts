/**
 * How every planner settles on one candidate: a variant forced for the family wins, then the
 * tuning table's measured winner for this problem, then the device profile's rule. The result
 * says which of the three decided and why, and is reported to `settings.onPlan`.
 */
import type { KernelFamily, KernelSettings, PlanRecord } from '../gpu/profile.js';

export interface Candidate<P> {
  /** Stable name of the variant (what WGPRUNE_KERNEL and tuning tables name), e.g. `tiled-16x4`. */
  variant: string;
  plan: P;
}

export interface Chosen<P> extends Candidate<P> {
  record: PlanRecord;
}

export class UnknownVariantError extends Error {
  override name = 'UnknownVariantError';
}

export function choose<P>(
  s: KernelSettings,
  family: KernelFamily,
  problem: string,
  candidates: ReadonlyArray<Candidate<P>>,
  rule: () => { variant: string; why: string },
  args?: unknown,
): Chosen<P> {
  const find = (v: string) => candidates.find((c) => c.variant === v);
  let picked: Candidate<P> | undefined;
  let source: PlanRecord['source'];
  let why: string;
  const forced = s.forced[family];
  const tuned = s.tuned?.entries[family]?.[problem];
  if (forced !== undefined) {
    picked = find(forced);
    if (!picked) {
      throw new UnknownVariantError(
        `${family}: variant '${forced}' was forced but does not apply to ${problem}; its candidates are ${candidates.map((c) => c.variant).join(', ') || 'none'}`,
      );
    }
    source = 'forced';
    why = 'forced (WGPRUNE_KERNEL or the kernels option)';
  } else if (tuned && find(tuned.variant)) {
    picked = find(tuned.variant)!;
    source = 'tuned';
    why = `tuned on this adapter: ${tuned.ms.toFixed(3)} ms, fastest of ${Object.keys(tuned.candidates).length}`;
  } else {
    const r = rule();
    picked = find(r.variant);
    if (!picked) throw new Error(`${family}: the ${s.profile} rule chose '${r.variant}', which is not among the candidates for ${problem}`);
    source = 'rule';
    why = `${s.profile} profile: ${r.why}`;
  }
  const record: PlanRecord = { family, problem, variant: picked.variant, source, why, ...(args === undefined ? {} : { args }) };
  s.onPlan?.(record);
  return { ...picked, record };
}
