/**
 * Recording the kernel plans a workload makes: while it runs, every plan the backend's kernel
 * planners settle on is passed to a recorder through `settings.onPlan` (an observer already
 * installed keeps hearing them, and is restored afterwards). A backend without kernel variants
 * (the CPU reference) plans nothing, and nothing is recorded.
 */
import { type BackendName, getBackend, kernelSettingsOf, observingPlans, type PlanRecord } from '../engine/internal.js';
import { distinctPlans, type PlanUse } from './plan-summary.js';

export { countPlans, distinctPlans, formatPlanCounts, formatPlans, planKey } from './plan-summary.js';
export type { PlanCount, PlanUse } from './plan-summary.js';

/** True when `backend` (an initialised one) plans its kernels, so its plans can be recorded. */
export function plansKernels(backend: BackendName = 'webgpu'): boolean {
  return kernelSettingsOf(getBackend(backend)) !== null;
}

/** Runs `fn` with every plan `backend` makes (WebGPU by default) passed to `record`; nested recorders all hear them. */
export async function recordingPlans<T>(record: (r: PlanRecord) => void, fn: () => T | Promise<T>, backend: BackendName = 'webgpu'): Promise<T> {
  const s = kernelSettingsOf(getBackend(backend));
  if (!s) return await fn();
  return observingPlans(s, record, fn);
}

/** Runs `work` once and returns its result with the distinct plans it made and every record. */
export async function withPlans<T>(work: () => T | Promise<T>, backend: BackendName = 'webgpu'): Promise<{ result: T; plans: PlanUse[]; records: PlanRecord[] }> {
  const records: PlanRecord[] = [];
  const result = await recordingPlans((r) => records.push(r), work, backend);
  return { result, plans: distinctPlans(records), records };
}
