/**
 * Batched matmul launcher: plans a program for the shape on this device (kernels/matmul/plan.ts)
 * and runs it, with either operand stored transposed (so backward passes need no
 * materialised transposes) and an optional fused bias + ReLU epilogue.
 *
 * Programs: the texture GEMMs (matmul/rows-gemm.ts, matmul/texture-gemm.ts), the register-blocked `vec4`
 * kernel (matmul/tiled.ts on the GEMM skeleton of matmul/gemm-core.ts), the workgroup-memory GEMM
 * (matmul/shared-gemm.ts), matrix–vector kernels (matmul/gemv.ts), and split-K partial sums
 * reduced by matmul/splitk.ts.
 */
import type { MatmulGeometry } from '../gpu/types.js';
import type { GpuRuntime, GpuStorage } from '../gpu/runtime.js';
import type { Program } from '../gpu/program.js';
import { gemvProgram, gemvTile } from './matmul/gemv.js';
import { matmulParams } from './matmul/layout.js';
import { type MatmulPlan, planMatmul } from './matmul/plan.js';
import { sharedGemmGrid, sharedGemmProgram } from './matmul/shared-gemm.js';
import { splitReduceLaunch, splitReduceProgram } from './matmul/splitk.js';
import { rowsGemm, rowsGemmProgram } from './matmul/rows-gemm.js';
import { textureGemm, textureGemmProgram } from './matmul/texture-gemm.js';
import { tiledProgram, tiledTile } from './matmul/tiled.js';

export type { MatmulPlan } from './matmul/plan.js';
export { matmulCandidates, matmulProblemKey, planMatmul } from './matmul/plan.js';

export interface GpuEpilogue {
  /** Added per output column n (length n). */
  bias?: GpuStorage | null;
  relu?: boolean;
}

/** The programs a plan dispatches (for compile checks and reports). */
export function planPrograms(plan: MatmulPlan, epilogue: { bias?: boolean; relu?: boolean } = {}, vecOut = false): Program[] {
  const p = plan.program;
  const main = p.kind === 'tiled' ? tiledProgram(p) : p.kind === 'gemv' ? gemvProgram(p) : p.kind === 'rows' ? rowsGemmProgram(p)
    : p.kind === 'shared' ? sharedGemmProgram(p) : textureGemmProgram(p);
  if (plan.splits <= 1) return [main];
  return [main, splitReduceProgram({ vec: vecOut, bias: !!epilogue.bias, relu: !!epilogue.relu })];
}

function checkGeometry(g: MatmulGeometry): void {
  for (const [name, v] of Object.entries({ batch: g.batch, m: g.m, k: g.k, n: g.n })) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`matmul: ${name} must be a non-negative integer, got ${v}`);
  }
}

export function matmul(rt: GpuRuntime, a: GpuStorage, b: GpuStorage, g: MatmulGeometry, epilogue: GpuEpilogue = {}): GpuStorage {
  checkGeometry(g);
  const plan = planMatmul(g, { bias: !!epilogue.bias, relu: !!epilogue.relu }, rt.settings).plan;
  return matmulWith(rt, plan, a, b, g, epilogue);
}

/** Runs a given plan (tests and the tuner run each candidate of matmulCandidates through this). */
export function matmulWith(rt: GpuRuntime, plan: MatmulPlan, a: GpuStorage, b: GpuStorage, g: MatmulGeometry, epilogue: GpuEpilogue = {}): GpuStorage {
  checkGeometry(g);
  const { batch, m, k, n } = g;
  const bias = epilogue.bias ?? null;
  if (bias && bias.size !== n) throw new Error(`matmul: bias has ${bias.size} elements, expected n = ${n}`);
  const out = rt.alloc(batch * m * n);
  if (batch * m * n === 0) return out;
  if (k === 0) {
    // Empty reduction: zeros (plus the epilogue), through a split-K reduction of zero slices.
    runReduce(rt, null, bias, !!epilogue.relu, out, batch, m, n, 0);
    return out;
  }
  const splits = plan.splits;
  const z = batch * splits;
  if (z > rt.limits.maxComputeWorkgroupsPerDimension) throw new Error(`matmul: batch ${batch} × ${splits} k-slices exceeds the adapter's workgroup limit`);
  const p = plan.program;
  if (splits === 1 && (!!p.epilogue.bias !== !!bias || !!p.epilogue.relu !== !!epilogue.relu)) {
    throw new Error(`matmul: the plan's epilogue does not match the call (${JSON.stringify(p.epilogue)})`);
  }
  if (splits > 1 && !p.split) throw new Error('matmul: a split-K plan needs a program that writes partial sums');
  if (splits === 1 && p.split) throw new Error('matmul: a partial-sum program needs splits > 1');
  const target = splits > 1 ? rt.alloc(z * m * n) : out;
  const inputs = splits === 1 && bias ? [a, b, bias] : [a, b];
  const params = matmulParams(g, splits, splits > 1 ? plan.kChunk : k);
  if (p.kind === 'texture') {
    if (splits !== 1) throw new Error('matmul: the texture GEMM does not split k');
    textureGemm(rt, a, b, g, bias, p, out);
  } else if (p.kind === 'rows') {
    if (plan.kChunk % 4 !== 0) throw new Error('matmul: the row-texture GEMM splits k in multiples of 4');
    rowsGemm(rt, a, b, g, splits === 1 ? bias : null, p, plan.kChunk / 4, splits, target);
  } else if (p.kind === 'tiled') {
    const [tr, tc] = tiledTile(p);
    rt.run(tiledProgram(p), inputs, [target], params, [Math.ceil(n / tc), Math.ceil(m / tr), z]);
  } else if (p.kind === 'shared') {
    // Slabs staged with vec4 loads along k must not straddle a slice boundary.
    const kVec = (p.aVec && !p.transA) || (p.bVec && p.transB);
    if (splits > 1 && kVec && plan.kChunk % 4 !== 0) throw new Error('matmul: the workgroup-memory GEMM with vec4 loads along k splits k in multiples of 4');
    rt.run(sharedGemmProgram(p), inputs, [target], params, sharedGemmGrid(p, m, n, z));
  } else {
    const len = p.side === 'n1' ? m : n;
    rt.run(gemvProgram(p), inputs, [target], params, [Math.ceil(len / gemvTile(p)), 1, z]);
  }
  if (splits > 1) {
    runReduce(rt, target, bias, !!epilogue.relu, out, batch, m, n, splits);
    rt.release(target);
  }
  return out;
}

function runReduce(rt: GpuRuntime, partials: GpuStorage | null, bias: GpuStorage | null, relu: boolean, out: GpuStorage, batch: number, m: number, n: number, splits: number): void {
  const vec = n % 4 === 0;
  const c = { vec, bias: !!bias, relu };
  const { params, workgroups } = splitReduceLaunch(c, batch, m, n, splits);
  const inputs = [partials ?? out, ...(bias ? [bias] : [])];
  // With zero slices the partials binding is never read, but it may not alias the output: bind a scratch storage.
  if (!partials) {
    const scratch = rt.alloc(4);
    inputs[0] = scratch;
    rt.run(splitReduceProgram(c), inputs, [out], params, workgroups);
    rt.release(scratch);
    return;
  }
  rt.run(splitReduceProgram(c), inputs, [out], params, workgroups);
}
