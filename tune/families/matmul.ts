/**
 * The matmul family for the tuner: the planner's arguments are the geometry and the fused
 * epilogue (bias, ReLU); synthetic operands of the geometry's sizes (batch strides and
 * transposes as recorded) run each candidate plan through the launcher.
 */
import type { MatmulGeometry } from '../../gpu/types.js';
import type { GpuRuntime } from '../../gpu/runtime.js';
import { matmulWith } from '../../kernels/matmul.js';
import { matmulCandidates, matmulProblemKey, planMatmul } from '../../kernels/matmul/plan.js';
import type { MatmulPlan } from '../../kernels/matmul/plan.js';
import type { TunableFamily } from '../family.js';
import { seededValues } from '../inputs.js';

export interface MatmulArgs {
  g: MatmulGeometry;
  epilogue: { bias?: boolean; relu?: boolean };
}

const GEOMETRY_KEYS = ['batch', 'm', 'k', 'n', 'aBatchStride', 'bBatchStride'] as const;

/** A plain A·B (row-major, unbatched) of m × k by k × n, the shape `--matmul MxKxN` names. */
export function matmulProblemArgs(m: number, k: number, n: number): MatmulArgs {
  return { g: { batch: 1, m, k, n, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 }, epilogue: {} };
}

/** Elements an operand spans: the last batch's start plus one matrix. */
const span = (batch: number, stride: number, size: number) => (batch - 1) * stride + size;

export const matmulFamily: TunableFamily<MatmulArgs, MatmulPlan> = {
  family: 'matmul',
  parse(raw) {
    const r = raw as Partial<MatmulArgs> | null;
    const g = r?.g as Record<string, unknown> | undefined;
    if (!g || typeof g !== 'object') throw new Error('matmul problem: expected { g: geometry, epilogue }');
    for (const k of GEOMETRY_KEYS) if (!Number.isInteger(g[k]) || (g[k] as number) < 0) throw new Error(`matmul problem: g.${k} must be a non-negative integer`);
    return { g: { ...(g as unknown as MatmulGeometry), transA: !!g.transA, transB: !!g.transB }, epilogue: { bias: !!r?.epilogue?.bias, relu: !!r?.epilogue?.relu } };
  },
  key: (a) => matmulProblemKey(a.g, a.epilogue),
  candidates: (a, s) => matmulCandidates(a.g, a.epilogue, s),
  plan: (a, s) => planMatmul(a.g, a.epilogue, s),
  prepare(rt: GpuRuntime, { g, epilogue }, seed) {
    const a = rt.upload(seededValues(span(g.batch, g.aBatchStride, g.m * g.k), seed));
    const b = rt.upload(seededValues(span(g.batch, g.bBatchStride, g.k * g.n), seed + 1));
    const bias = epilogue.bias ? rt.upload(seededValues(g.n, seed + 2)) : null;
    return {
      run: (plan) => matmulWith(rt, plan, a, b, g, { bias, relu: !!epilogue.relu }),
      dispose: () => {
        for (const s of [a, b, bias]) if (s) rt.release(s);
      },
    };
  },
  describe: ({ g, epilogue }) =>
    `${g.batch > 1 ? `${g.batch}× ` : ''}${g.m}×${g.k}${g.transA ? 'ᵀ' : ''} · ${g.k}×${g.n}${g.transB ? 'ᵀ' : ''}${epilogue.bias ? ' +bias' : ''}${epilogue.relu ? ' +relu' : ''}`,
  flops: ({ g }) => 2 * g.batch * g.m * g.k * g.n,
};
