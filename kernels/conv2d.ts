/**
 * NCHW conv2d launchers: forward, gradient w.r.t. the input and gradient w.r.t. the
 * weights. Each pass asks the planner (kernels/conv2d/plan.ts) which program to run with
 * the runtime's kernel settings, and `convWith` runs the plan: the texture GEMMs of the
 * forward pass (x read in place, shifted copies of x, an im2col texture), a 1×1
 * convolution as a matmul, implicit GEMM on storage buffers (with split-K for the weight
 * gradient), or a plain fill when there is nothing to multiply.
 *
 * Layouts: x [n, c, h, w], weights [oc, c, kh, kw], y / gy [n, oc, oh, ow].
 */
import type { Conv2dGeometry, Pool2dGeometry } from '../gpu/types.js';
import type { GpuRuntime, GpuStorage } from '../gpu/runtime.js';
import { matmul } from './matmul.js';
import { convGemmDims, convGemmParams, convGemmProgram } from './conv2d/implicit-gemm.js';
import { type ConvGemmPlan, type ConvPlan, planConv } from './conv2d/plan.js';
import { splitReduceLaunch, splitReduceProgram } from './matmul/splitk.js';
import { textureConvForward } from './conv2d/texture-conv.js';
import { shiftedConvForward } from './conv2d/shifted-conv.js';
import { windowConvForward } from './conv2d/window-conv.js';
import { maxPool2d } from './pool2d.js';
import { fill } from './fill.js';
import { gather } from './copy.js';
import { unary } from './elementwise.js';

export { convCandidates, convProblemKey, planConv, isPointwise, type ConvPlan, type ConvGemmPlan, type ConvOptions, type ConvPass } from './conv2d/plan.js';

/** Runs one implicit-GEMM program (with its split-K reduction): C = A·B of the pass's GEMM. */
export function convGemmWith(rt: GpuRuntime, plan: ConvGemmPlan, a: GpuStorage, b: GpuStorage, bias: GpuStorage | null, g: Conv2dGeometry): GpuStorage {
  const c = plan.config;
  const d = convGemmDims(c.kind, g);
  const out = rt.alloc(d.batch * d.m * d.n);
  if (out.size === 0) return out;
  if (!!bias !== c.bias) throw new Error(`conv2d: the plan ${c.kind} ${c.bias ? 'expects' : 'takes no'} bias`);
  if (plan.splits > 1 !== c.split) throw new Error('conv2d: split-K plans need a partial-sum program and vice versa');
  if (d.k === 0) throw new Error('conv2d: empty reduction');
  const z = d.batch * plan.splits;
  if (z > rt.limits.maxComputeWorkgroupsPerDimension) throw new Error(`conv2d: batch ${d.batch} × ${plan.splits} k-slices exceeds the adapter's workgroup limit`);
  const target = plan.splits > 1 ? rt.alloc(z * d.m * d.n) : out;
  const grid: [number, number, number] = [Math.ceil(d.n / (4 * c.tn * c.wgX)), Math.ceil(d.m / (c.tm * c.wgY)), z];
  rt.run(convGemmProgram(c), bias ? [a, b, bias] : [a, b], [target], convGemmParams(g, c.kind, plan.splits, plan.kChunk), grid);
  if (plan.splits > 1) {
    const rc = { vec: d.n % 4 === 0, bias: false, relu: false };
    const { params, workgroups } = splitReduceLaunch(rc, d.batch, d.m, d.n, plan.splits);
    rt.run(splitReduceProgram(rc), [target], [out], params, workgroups);
    rt.release(target);
  }
  return out;
}

/** The operands of a pass: forward x, w and bias; input gradient gy and w; weight gradient x and gy. */
export interface ConvOperands {
  x?: GpuStorage;
  w?: GpuStorage;
  gy?: GpuStorage;
  bias?: GpuStorage | null;
}

function operand(ops: ConvOperands, name: 'x' | 'w' | 'gy', plan: ConvPlan): GpuStorage {
  const s = ops[name];
  if (!s) throw new Error(`conv2d: the ${plan.pass} pass needs operand ${name}`);
  return s;
}

/**
 * Nothing to multiply: zeros, or for the forward pass the bias (after the ReLU) in every
 * pixel of its channel.
 */
function emptyPass(rt: GpuRuntime, plan: ConvPlan, g: Conv2dGeometry, bias: GpuStorage | null): GpuStorage {
  const d = convGemmDims(plan.pass, g);
  const size = d.batch * d.m * d.n;
  if (size === 0) return rt.alloc(0);
  if (!bias) return fill(rt, size, 0);
  const b = plan.relu ? unary(rt, 'relu', bias) : bias;
  const y = gather(rt, b, { offset: 0, strides: [0, 1, 0] }, [g.n, g.oc, g.oh * g.ow]);
  if (b !== bias) rt.release(b);
  return y;
}

/** One pass as planned, before any pooling that runs after it. */
function runPass(rt: GpuRuntime, plan: ConvPlan, g: Conv2dGeometry, ops: ConvOperands): GpuStorage {
  const bias = ops.bias ?? null;
  if (plan.bias !== !!bias) throw new Error(`conv2d: the plan ${plan.bias ? 'expects' : 'takes no'} bias`);
  const { relu } = plan;
  switch (plan.path) {
    case 'empty':
      return emptyPass(rt, plan, g, bias);
    case 'window':
      return windowConvForward(rt, operand(ops, 'x', plan), operand(ops, 'w', plan), bias, g, Infinity, { relu, pool: plan.poolFused });
    case 'shifted':
      return shiftedConvForward(rt, operand(ops, 'x', plan), operand(ops, 'w', plan), bias, g, Infinity, relu);
    case 'im2col-texture':
      return textureConvForward(rt, operand(ops, 'x', plan), operand(ops, 'w', plan), bias, g, Infinity, relu);
    case 'pointwise': {
      const hw = g.h * g.w;
      const w = operand(ops, 'w', plan);
      // Y[b] [oc, h·w] = W [oc, c] · X[b] [c, h·w]
      if (plan.pass === 'fwd') return matmul(rt, w, operand(ops, 'x', plan), { batch: g.n, m: g.oc, k: g.c, n: hw, transA: false, transB: false, aBatchStride: 0, bBatchStride: g.c * hw }, { relu });
      // gX[b] [c, h·w] = Wᵀ [c, oc] · gY[b] [oc, h·w]   (W stored [oc, c]: the transposed-A variant)
      if (plan.pass === 'gradInput') return matmul(rt, w, operand(ops, 'gy', plan), { batch: g.n, m: g.c, k: g.oc, n: hw, transA: true, transB: false, aBatchStride: 0, bBatchStride: g.oc * hw });
      throw new Error('conv2d: the weight gradient has no pointwise plan');
    }
    case 'implicit':
      if (plan.pass === 'fwd') return convGemmWith(rt, plan.gemm, operand(ops, 'w', plan), operand(ops, 'x', plan), bias, g);
      if (plan.pass === 'gradInput') return convGemmWith(rt, plan.gemm, operand(ops, 'w', plan), operand(ops, 'gy', plan), null, g);
      return convGemmWith(rt, plan.gemm, operand(ops, 'gy', plan), operand(ops, 'x', plan), null, g);
  }
}

/**
 * Runs any plan of `convCandidates` / `planConv` for geometry `g` (the pass and its fused
 * epilogue are the plan's): the output, pooled when the plan pools.
 */
export function convWith(rt: GpuRuntime, plan: ConvPlan, g: Conv2dGeometry, ops: ConvOperands): GpuStorage {
  const y = runPass(rt, plan, g, ops);
  if (!plan.pool || plan.poolFused) return y;
  const { out } = maxPool2d(rt, y, plan.pool, false);
  rt.release(y);
  return out;
}

/**
 * y = conv(x, w) + bias, then ReLU when `relu` (in the planned program's stores), then, when
 * `pool` is given, max pooling of y with that geometry (in the stores where the plan can, else
 * by the pooling kernel).
 */
export function conv2dForward(rt: GpuRuntime, x: GpuStorage, w: GpuStorage, bias: GpuStorage | null, g: Conv2dGeometry, relu = false, pool: Pool2dGeometry | null = null): GpuStorage {
  const { plan } = planConv('fwd', g, { bias: bias !== null, relu, pool }, rt.settings);
  return convWith(rt, plan, g, { x, w, bias });
}

export function conv2dGradInput(rt: GpuRuntime, gy: GpuStorage, w: GpuStorage, g: Conv2dGeometry): GpuStorage {
  const { plan } = planConv('gradInput', g, {}, rt.settings);
  return convWith(rt, plan, g, { gy, w });
}

export function conv2dGradWeight(rt: GpuRuntime, x: GpuStorage, gy: GpuStorage, g: Conv2dGeometry): GpuStorage {
  const { plan } = planConv('gradWeight', g, {}, rt.settings);
  return convWith(rt, plan, g, { x, gy });
}
