/**
 * The kernel problems the page's tuner measures: the ones the page's own figures run. The model
 * (LeNet-5 as shipped, or the picked checkpoint) runs forward at the model section's batch sizes,
 * and every density of the sweep runs its dense, CSR and BSR layers once, with every plan recorded
 * (the plans carry each problem's planner arguments, so the tuner can run all its candidates).
 * `?tunematmul=MxKxN,…` replaces them with plain matmuls of those sizes (tiny ones keep a test
 * of the tuning section short).
 */
import { noGrad, type nn, type PlanRecord, type Problem, problemsOf, sync, tensor, tidy } from '../index.js';
import { recordingPlans } from '../tune/collect.js';
import { familyOf } from '../tune/families.js';
import { matmulProblemArgs } from '../tune/families/matmul.js';
import type { KernelSettings } from '../gpu/profile.js';
import { forEachSweepPoint, type SweepCase } from './sweep.js';

/** What the page's tuning covers. */
export interface TuneScope {
  /** Plain matmuls (M, K, N) given with ?tunematmul=; when set, nothing else is tuned. */
  matmuls: Array<[number, number, number]>;
  cases: SweepCase[];
  /** Loads the page's model (the caller's module is disposed once its problems are recorded). */
  model: (() => Promise<{ module: nn.Module; inputShape: readonly number[]; batches: number[] }>) | null;
}

/** A plain matmul problem of m × k by k × n. */
export function matmulProblem(m: number, k: number, n: number): Problem {
  const args = matmulProblemArgs(m, k, n);
  return { family: 'matmul', key: familyOf('matmul').key(args), args };
}

/** The problems in scope (running the model and the sweep once when they are in it). */
export async function scopeProblems(scope: TuneScope, onStep: (text: string) => void = () => {}): Promise<Problem[]> {
  if (scope.matmuls.length) return scope.matmuls.map(([m, k, n]) => matmulProblem(m, k, n));
  const records: PlanRecord[] = [];
  await recordingPlans((r) => records.push(r), async () => {
    if (scope.model) {
      onStep('loading the model');
      const { module, inputShape, batches } = await scope.model();
      try {
        module.eval();
        for (const b of batches) {
          onStep(`collecting the model's kernel problems at batch ${b}`);
          const size = b * inputShape.reduce((a, d) => a * d, 1);
          const y = noGrad(() => tidy(() => module.forward(tensor(new Float32Array(size), [b, ...inputShape]))));
          await y.toArray();
          y.dispose();
        }
      } finally {
        module.dispose();
      }
    }
    await forEachSweepPoint(scope.cases, async (p) => {
      onStep(`collecting the sweep's kernel problems: ${p.case.name} at density ${p.target}`);
      p.calls.dense();
      p.calls.csr();
      p.calls.bsr();
      await sync();
    });
  });
  return problemsOf(records);
}

/** The plan each problem gets under `settings` now (its variant and source: forced, tuned or the rule). */
export function currentPlans(problems: Problem[], settings: KernelSettings): PlanRecord[] {
  const quiet = { ...settings, onPlan: undefined };
  return problems.map((p) => {
    const f = familyOf(p.family);
    return f.plan(f.parse(p.args), quiet).record;
  });
}
