/**
 * The problems a model gives its kernels: the model runs forward at each batch size (eval mode,
 * as-is and fused for inference) and once forward and backward in training mode (the gradient
 * passes), with every plan made recorded through `settings.onPlan`. Problems are distinct by
 * (family, key); families the tuner cannot measure are left out.
 */
import { noGrad, randn, sum, type PlanRecord } from '../engine/internal.js';
import { recordingPlans } from '../measure/plans.js';
import { createModel, fuseForInference, MODELS, type Module } from '../nn/index.js';
import type { Problem } from './family.js';
import { isTunable } from './families.js';

export { recordingPlans };

/** Distinct tunable problems from plan records, in first-seen order. */
export function problemsOf(records: Iterable<PlanRecord>): Problem[] {
  const out = new Map<string, Problem>();
  for (const r of records) {
    if (!isTunable(r.family) || r.args === undefined) continue;
    const id = `${r.family}\u0000${r.problem}`;
    if (!out.has(id)) out.set(id, { family: r.family, key: r.problem, args: r.args });
  }
  return [...out.values()];
}

/** The problems of a registered model at the given batch sizes (the WebGPU backend must be initialised). */
export async function modelProblems(name: string, batches: number[]): Promise<{ problems: Problem[]; records: PlanRecord[] }> {
  const spec = MODELS.get(name);
  if (!spec) throw new Error(`unknown model '${name}' (known: ${[...MODELS.keys()].join(', ')})`);
  const records: PlanRecord[] = [];
  await recordingPlans((r) => records.push(r), async () => {
    const model = createModel(name, { seed: 0, backend: 'webgpu' });
    const fused = fuseForInference(model.eval());
    const forward = async (m: Module, batch: number) => {
      const x = randn([batch, ...spec.inputShape]);
      const y = noGrad(() => m.forward(x));
      await y.toArray();
      x.dispose();
      y.dispose();
    };
    for (const b of batches) {
      await forward(model, b);
      await forward(fused, b);
    }
    // One training step's passes (forward in training mode, backward through every layer).
    model.train();
    const x = randn([Math.max(...batches), ...spec.inputShape]);
    const loss = sum(model.forward(x));
    loss.backward();
    for (const p of model.parameters()) await p.grad?.toArray();
    loss.dispose();
    x.dispose();
    fused.dispose();
    model.dispose();
  });
  return { problems: problemsOf(records), records };
}
