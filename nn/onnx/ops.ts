/**
 * One planner per supported ONNX operator: it checks the node (attributes, which inputs are
 * constants, shapes) and returns either every problem found or a plan — the output shape and
 * a `build` function that makes the nn layer later, once the whole graph has passed. Nothing is
 * created on a device while planning.
 *
 *   Conv → Conv2d         Gemm, MatMul (+ a constant Add: its bias) → Linear
 *   BatchNormalization → BatchNorm1d/2d (inference form)     Relu/Tanh/Sigmoid → ReLU/Tanh/Sigmoid
 *   MaxPool → MaxPool2d   AveragePool, GlobalAveragePool → AvgPool2d
 *   Flatten, Reshape to [N, -1] → Flatten     Softmax → Softmax     Dropout → Dropout
 *   Identity, a Pad that pads nothing → Identity
 *   Add of two computed tensors → Residual    Concat on channels → Concat   (joins: see structure.ts)
 *
 * Shapes are per sample (no batch axis); a null shape means "unknown because of an earlier
 * problem": shape checks are then skipped, so that every node still gets its own checks.
 */
import { type BackendName, type Generator, tensor } from '../../engine/internal.js';
import { Identity, ReLU, Sigmoid, Softmax, Tanh } from '../layers/activation.js';
import { BatchNorm1d, BatchNorm2d } from '../layers/batchnorm.js';
import { Conv2d } from '../layers/conv.js';
import { Dropout } from '../layers/dropout.js';
import { Flatten } from '../layers/flatten.js';
import { Linear } from '../layers/linear.js';
import { AvgPool2d, MaxPool2d } from '../layers/pooling.js';
import type { Module } from '../module.js';
import { attr, type Constant, type Graph, type Node } from './graph.js';
import { fmtShape, numel, type Shape, windowOut } from './shapes.js';

export interface BuildContext {
  backend?: BackendName;
  /** Source of the throw-away initial values (the global generator is left alone). */
  generator: Generator;
  /** Told about each layer as soon as it exists, so that a failure later on can free it. */
  created(m: Module): void;
}

export interface BuiltLayer {
  module: Module;
  /** Parameter/buffer key within the module → ONNX initializer name. */
  params: Record<string, string>;
}

export interface LayerPlan {
  kind: 'layer';
  /** The node, and a constant Add folded into it (MatMul's bias). */
  nodes: Node[];
  input: string;
  output: string;
  outShape: Shape | null;
  build(ctx: BuildContext): BuiltLayer;
}

export interface JoinPlan {
  kind: 'add' | 'concat';
  nodes: Node[];
  /** The computed operands, in order (a value may appear twice). */
  inputs: string[];
  output: string;
  outShape: Shape | null;
}

export type Plan = LayerPlan | JoinPlan;

export interface PlanContext {
  graph: Graph;
  /** Per-sample shapes of the computed values known so far. */
  shapes: Map<string, Shape | null>;
  /** Nodes folded into an earlier plan (a MatMul's bias Add). */
  absorbed: Set<Node>;
}

type Planner = (n: Node, ctx: PlanContext, problems: string[]) => Plan | null;

const ATTRS: Record<string, string[]> = {
  Conv: ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides'],
  Gemm: ['alpha', 'beta', 'transA', 'transB'],
  MatMul: [],
  BatchNormalization: ['epsilon', 'momentum', 'training_mode', 'spatial', 'is_test'],
  Relu: [], Tanh: [], Sigmoid: [], Identity: [], GlobalAveragePool: [],
  MaxPool: ['auto_pad', 'ceil_mode', 'dilations', 'kernel_shape', 'pads', 'storage_order', 'strides'],
  AveragePool: ['auto_pad', 'ceil_mode', 'count_include_pad', 'dilations', 'kernel_shape', 'pads', 'strides'],
  Flatten: ['axis'],
  Reshape: ['allowzero'],
  Softmax: ['axis'],
  Dropout: ['ratio', 'seed', 'is_test'],
  Pad: ['mode', 'pads', 'value'],
  Add: [],
  Concat: ['axis'],
};

export const SUPPORTED_OPS = Object.keys(ATTRS);

// ---- helpers -------------------------------------------------------------------------------

function constant(ctx: PlanContext, v: string | undefined): Constant | null {
  return v ? ctx.graph.constants.get(v) ?? null : null;
}

/** Input `i` must be a constant (an initializer or Constant node); records a problem otherwise. */
function needConstant(n: Node, ctx: PlanContext, i: number, what: string, problems: string[], optional = false): Constant | null {
  const v = n.inputs[i];
  if (!v) {
    if (!optional) problems.push(`its ${what} (input ${i}) is missing`);
    return null;
  }
  const c = constant(ctx, v);
  if (!c) problems.push(`its ${what} ('${v}') is computed at run time; only constant ${what}s (initializers) are supported`);
  return c;
}

/** The computed input at position 0 (every layer has exactly one); its shape or null. */
function dataInput(n: Node, ctx: PlanContext, problems: string[]): { name: string; shape: Shape | null } | null {
  const v = n.inputs[0];
  if (!v) {
    problems.push('its data input is missing');
    return null;
  }
  if (constant(ctx, v)) {
    problems.push(`its data input '${v}' is a constant; only layers applied to the model's input or to computed values are supported`);
    return null;
  }
  return { name: v, shape: ctx.shapes.get(v) ?? null };
}

/** Extra outputs (BatchNorm's training statistics, MaxPool's indices, Dropout's mask) must be unused. */
function extraOutputsUnused(n: Node, ctx: PlanContext, problems: string[]): void {
  for (const o of n.outputs.slice(1)) {
    if (o && ((ctx.graph.consumers.get(o)?.length ?? 0) > 0 || o === ctx.graph.output)) {
      problems.push(`its extra output '${o}' is used (only the first output of a ${n.opType} is supported)`);
    }
  }
}

function ints(n: Node, name: string, length: number, dflt: number[], problems: string[]): number[] {
  const v = attr.ints(n, name);
  if (typeof v === 'string') {
    problems.push(v);
    return dflt;
  }
  if (v === null) return dflt;
  if (v.length !== length) {
    problems.push(`attribute ${name} has ${v.length} values, expected ${length} (2-D operators only)`);
    return dflt;
  }
  return v;
}

function int(n: Node, name: string, dflt: number, problems: string[]): number {
  const v = attr.int(n, name, dflt);
  if (typeof v === 'string') {
    problems.push(v);
    return dflt;
  }
  return v;
}

/** ONNX float attributes are float32: the shortest decimal with the same float32 value (1e-5, not 9.99999974738e-6). */
function shortestF32(v: number): number {
  for (let p = 1; p <= 9; p++) {
    const c = Number(v.toPrecision(p));
    if (Math.fround(c) === Math.fround(v)) return c;
  }
  return v;
}

function float(n: Node, name: string, dflt: number, problems: string[]): number {
  const v = attr.float(n, name, dflt);
  if (typeof v === 'string') {
    problems.push(v);
    return dflt;
  }
  return shortestF32(v);
}

/**
 * Padding of a 2-D window op: [padH, padW], symmetric (ONNX pads are [top, left, bottom,
 * right]); auto_pad SAME_* is resolved from the input size when it comes out symmetric.
 */
function windowPadding(n: Node, inShape: Shape | null, kernel: number[], strides: number[], dilations: number[], problems: string[]): [number, number] {
  const autoPad = attr.string(n, 'auto_pad', 'NOTSET');
  const pads = ints(n, 'pads', 4, [0, 0, 0, 0], problems);
  if (autoPad === 'NOTSET') {
    if (pads.some((p) => p < 0)) problems.push(`negative pads [${pads.join(', ')}] are not supported`);
    if (pads[0] !== pads[2] || pads[1] !== pads[3]) problems.push(`asymmetric pads [${pads.join(', ')}] (top, left, bottom, right) are not supported`);
    return [pads[0]!, pads[1]!];
  }
  if (n.attrs.has('pads')) problems.push(`both auto_pad ${autoPad} and pads are given`);
  if (autoPad === 'VALID') return [0, 0];
  if (autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER') {
    problems.push(`auto_pad ${autoPad} is not supported`);
    return [0, 0];
  }
  if (!inShape) return [0, 0];
  const out: [number, number] = [0, 0];
  for (let a = 0; a < 2; a++) {
    const size = inShape[a + 1]!, s = strides[a]!, k = kernel[a]!, d = dilations[a]!;
    const total = Math.max((Math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0);
    if (total % 2 !== 0) problems.push(`auto_pad ${autoPad} pads axis ${a + 2} asymmetrically (${total} in total); only symmetric padding is supported`);
    out[a] = Math.floor(total / 2);
  }
  return out;
}

function need4d(inShape: Shape | null, problems: string[]): boolean {
  if (inShape && inShape.length !== 3) {
    problems.push(`its input has shape [N, ${inShape.join(', ')}]; a 4-D [N, C, H, W] input is required`);
    return false;
  }
  return !!inShape;
}

/** The axis normalised against a rank with the batch axis; null when the rank is unknown. */
function normAxis(axis: number, inShape: Shape | null): number | null {
  if (!inShape) return axis >= 0 ? axis : null;
  return axis < 0 ? axis + inShape.length + 1 : axis;
}

function setParam(m: Module, key: string, values: Float32Array, shape: number[], ctx: BuildContext): void {
  const old = m.replaceParameter(key, tensor(values, shape, { backend: ctx.backend }));
  old?.dispose();
}

function setBuffer(m: Module, key: string, values: Float32Array, shape: number[], ctx: BuildContext): void {
  const old = m.replaceBuffer(key, tensor(values, shape, { backend: ctx.backend }));
  old?.dispose();
}

/** A [K, O] matrix transposed to [O, K] (and scaled). */
function transposed(values: Float32Array, k: number, o: number, scale = 1): Float32Array {
  const out = new Float32Array(k * o);
  for (let i = 0; i < k; i++) for (let j = 0; j < o; j++) out[j * k + i] = values[i * o + j]! * scale;
  return out;
}

/** A bias of O values from a constant of O values, or of one value (broadcast); null with a problem otherwise. */
function biasValues(c: Constant, o: number, scale: number, problems: string[], what: string): Float32Array | null {
  const shapeOk = (c.dims.length <= 2 && numel(c.dims) === o && (c.dims.length < 2 || c.dims[0] === 1)) || numel(c.dims) === 1;
  if (!shapeOk) {
    problems.push(`its ${what} '${c.name}' has shape ${fmtShape(c.dims)}; [${o}], [1, ${o}] or a single value is supported (no per-sample bias)`);
    return null;
  }
  const out = new Float32Array(o);
  for (let j = 0; j < o; j++) out[j] = (c.values.length === 1 ? c.values[0]! : c.values[j]!) * scale;
  return out;
}

function layer(n: Node, input: string, outShape: Shape | null, build: (ctx: BuildContext) => BuiltLayer, extra: Node[] = []): LayerPlan {
  return { kind: 'layer', nodes: [n, ...extra], input, output: (extra.at(-1) ?? n).outputs[0]!, outShape, build };
}

// ---- planners ------------------------------------------------------------------------------

const conv: Planner = (n, ctx, problems) => {
  const x = dataInput(n, ctx, problems);
  const w = needConstant(n, ctx, 1, 'weight', problems);
  const b = needConstant(n, ctx, 2, 'bias', problems, true);
  const group = int(n, 'group', 1, problems);
  if (group !== 1) problems.push(`grouped convolution (group ${group}) is not supported`);
  if (w && w.dims.length !== 4) {
    problems.push(`its weight has shape ${fmtShape(w.dims)}; only 2-D convolutions (a 4-D weight) are supported`);
    return null;
  }
  const kernel = w ? [w.dims[2]!, w.dims[3]!] : [1, 1];
  const ks = ints(n, 'kernel_shape', 2, kernel, problems);
  if (w && (ks[0] !== kernel[0] || ks[1] !== kernel[1])) problems.push(`kernel_shape [${ks.join(', ')}] differs from the weight's ${fmtShape(w.dims)}`);
  const strides = ints(n, 'strides', 2, [1, 1], problems);
  const dilations = ints(n, 'dilations', 2, [1, 1], problems);
  if (strides.some((s) => s < 1) || dilations.some((d) => d < 1)) problems.push('strides and dilations must be at least 1');
  const padding = windowPadding(n, x?.shape ?? null, kernel, strides, dilations, problems);
  const out = w?.dims[0] ?? 0;
  if (w && b && (b.dims.length !== 1 || b.dims[0] !== out)) problems.push(`its bias has shape ${fmtShape(b.dims)}, expected [${out}]`);
  let outShape: Shape | null = null;
  if (x && w && need4d(x.shape, problems)) {
    const [c, h, wd] = x.shape as [number, number, number];
    if (group === 1 && c !== w.dims[1]) problems.push(`its input has ${c} channels but the weight ${fmtShape(w.dims)} expects ${w.dims[1]}`);
    outShape = [out, windowOut(h, kernel[0]!, strides[0]!, padding[0], padding[0], dilations[0]), windowOut(wd, kernel[1]!, strides[1]!, padding[1], padding[1], dilations[1])];
    if (outShape[1]! < 1 || outShape[2]! < 1) problems.push(`the kernel does not fit the input [N, ${x.shape!.join(', ')}]`);
  }
  if (problems.length || !x || !w) return null;
  return layer(n, x.name, outShape, (bc) => {
    const m = new Conv2d(w.dims[1]!, out, [kernel[0]!, kernel[1]!], { stride: [strides[0]!, strides[1]!], padding, dilation: [dilations[0]!, dilations[1]!], bias: !!b, generator: bc.generator, backend: bc.backend });
    bc.created(m);
    setParam(m, 'weight', w.values, w.dims, bc);
    if (b) setParam(m, 'bias', b.values, [out], bc);
    return { module: m, params: { weight: w.name, ...(b ? { bias: b.name } : {}) } };
  });
};

/** Linear from a [O, K] weight (already transposed/scaled) and an optional bias. */
function linearPlan(n: Node, input: string, inShape: Shape | null, k: number, o: number, weight: () => Float32Array, weightName: string, bias: { values: Float32Array; name: string } | null, problems: string[], extra: Node[] = []): Plan | null {
  if (inShape && (inShape.length !== 1 || inShape[0] !== k)) problems.push(`its input has shape [N, ${inShape.join(', ')}] but the weight needs [N, ${k}]${inShape.length !== 1 ? ' (flatten it first)' : ''}`);
  if (problems.length) return null;
  return layer(n, input, [o], (bc) => {
    const m = new Linear(k, o, { bias: !!bias, generator: bc.generator, backend: bc.backend });
    bc.created(m);
    setParam(m, 'weight', weight(), [o, k], bc);
    if (bias) setParam(m, 'bias', bias.values, [o], bc);
    return { module: m, params: { weight: weightName, ...(bias ? { bias: bias.name } : {}) } };
  }, extra);
}

const gemm: Planner = (n, ctx, problems) => {
  const x = dataInput(n, ctx, problems);
  const b = needConstant(n, ctx, 1, 'weight', problems);
  const c = needConstant(n, ctx, 2, 'bias', problems, true);
  const alpha = float(n, 'alpha', 1, problems), beta = float(n, 'beta', 1, problems);
  if (int(n, 'transA', 0, problems) !== 0) problems.push('transA = 1 (a transposed input) is not supported');
  const transB = int(n, 'transB', 0, problems);
  if (b && b.dims.length !== 2) problems.push(`its weight has shape ${fmtShape(b.dims)}; a matrix is required`);
  if (!x || !b || b.dims.length !== 2) return null;
  const [o, k] = transB ? [b.dims[0]!, b.dims[1]!] : [b.dims[1]!, b.dims[0]!];
  const bias = c ? biasValues(c, o, beta, problems, 'bias') : null;
  const weight = () => (transB ? (alpha === 1 ? b.values : b.values.map((v) => v * alpha)) : transposed(b.values, k, o, alpha));
  return linearPlan(n, x.name, x.shape, k, o, weight, b.name, bias && c ? { values: bias, name: c.name } : null, problems);
};

/** MatMul by a constant [K, O] matrix; a following Add of a constant [O] vector becomes the bias. */
const matmul: Planner = (n, ctx, problems) => {
  const x = dataInput(n, ctx, problems);
  const b = needConstant(n, ctx, 1, 'weight', problems);
  if (b && b.dims.length !== 2) problems.push(`its weight has shape ${fmtShape(b.dims)}; a constant matrix [K, O] is required`);
  if (!x || !b || b.dims.length !== 2) return null;
  const [k, o] = [b.dims[0]!, b.dims[1]!];
  let bias: { values: Float32Array; name: string } | null = null;
  const extra: Node[] = [];
  const users = ctx.graph.consumers.get(n.outputs[0]!) ?? [];
  const add = users.length === 1 && n.outputs[0] !== ctx.graph.output ? users[0]! : null;
  if (add && add.opType === 'Add' && add.inputs.length === 2) {
    const other = add.inputs[0] === n.outputs[0] ? add.inputs[1] : add.inputs[0];
    const c = constant(ctx, other);
    const local: string[] = [];
    const values = c ? biasValues(c, o, 1, local, 'bias') : null;
    if (c && values) {
      bias = { values, name: c.name };
      extra.push(add);
      ctx.absorbed.add(add);
    }
  }
  return linearPlan(n, x.name, x.shape, k, o, () => transposed(b.values, k, o), b.name, bias, problems, extra);
};

const batchNorm: Planner = (n, ctx, problems) => {
  const x = dataInput(n, ctx, problems);
  const parts = ['scale', 'bias', 'mean', 'variance'].map((what, i) => needConstant(n, ctx, i + 1, what, problems));
  const eps = float(n, 'epsilon', 1e-5, problems);
  const momentum = float(n, 'momentum', 0.9, problems);
  if (int(n, 'training_mode', 0, problems) !== 0) problems.push('training_mode = 1 is not supported (inference form only)');
  if (int(n, 'spatial', 1, problems) !== 1) problems.push('spatial = 0 is not supported');
  extraOutputsUnused(n, ctx, problems);
  const c = parts[0]?.dims[0] ?? 0;
  for (const p of parts) if (p && (p.dims.length !== 1 || p.dims[0] !== c)) problems.push(`'${p.name}' has shape ${fmtShape(p.dims)}, expected [${c}]`);
  if (x?.shape) {
    if (x.shape.length !== 1 && x.shape.length !== 3) problems.push(`its input has shape [N, ${x.shape.join(', ')}]; [N, C] or [N, C, H, W] is supported`);
    else if (x.shape[0] !== c) problems.push(`its input has ${x.shape[0]} channels, its parameters ${c}`);
  }
  if (!(eps > 0)) problems.push(`epsilon must be positive, got ${eps}`);
  if (problems.length || !x || parts.some((p) => !p)) return null;
  const [scale, bias, mean, variance] = parts as Constant[];
  const twoD = x.shape?.length === 3;
  // torch's momentum weighs the new batch statistic, ONNX's the running one.
  const torchMomentum = Math.min(1, Math.max(0, Math.round((1 - momentum) * 1e6) / 1e6));
  return layer(n, x.name, x.shape, (bc) => {
    const opts = { eps, momentum: torchMomentum, backend: bc.backend };
    const m = twoD ? new BatchNorm2d(c, opts) : new BatchNorm1d(c, opts);
    bc.created(m);
    setParam(m, 'weight', scale!.values, [c], bc);
    setParam(m, 'bias', bias!.values, [c], bc);
    setBuffer(m, 'running_mean', mean!.values, [c], bc);
    setBuffer(m, 'running_var', variance!.values, [c], bc);
    return { module: m, params: { weight: scale!.name, bias: bias!.name, running_mean: mean!.name, running_var: variance!.name } };
  });
};

const elementwise = (make: () => Module): Planner => (n, ctx, problems) => {
  const x = dataInput(n, ctx, problems);
  if (problems.length || !x) return null;
  return layer(n, x.name, x.shape, () => ({ module: make(), params: {} }));
};

const pool = (kind: 'max' | 'avg'): Planner => (n, ctx, problems) => {
  const x = dataInput(n, ctx, problems);
  extraOutputsUnused(n, ctx, problems);
  const ksAttr = attr.ints(n, 'kernel_shape');
  if (ksAttr === null) problems.push('attribute kernel_shape is missing');
  const kernel = ints(n, 'kernel_shape', 2, [1, 1], problems);
  const strides = ints(n, 'strides', 2, [1, 1], problems);
  const dilations = ints(n, 'dilations', 2, [1, 1], problems);
  if (dilations.some((d) => d !== 1)) problems.push(`dilated pooling (dilations [${dilations.join(', ')}]) is not supported`);
  if (strides.some((s) => s < 1) || kernel.some((k) => k < 1)) problems.push('kernel sizes and strides must be at least 1');
  if (kind === 'max' && int(n, 'storage_order', 0, problems) !== 0) problems.push('storage_order = 1 is not supported');
  const countIncludePad = kind === 'avg' && int(n, 'count_include_pad', 0, problems) === 1;
  const ceil = int(n, 'ceil_mode', 0, problems) === 1;
  const padding = windowPadding(n, x?.shape ?? null, kernel, strides, [1, 1], problems);
  if (padding[0] > kernel[0]! / 2 || padding[1] > kernel[1]! / 2) problems.push(`padding ${padding.join('x')} larger than half the kernel ${kernel.join('x')} is not supported`);
  let outShape: Shape | null = null;
  if (x && need4d(x.shape, problems)) {
    const [c, h, w] = x.shape as [number, number, number];
    const oh = windowOut(h, kernel[0]!, strides[0]!, padding[0], padding[0]), ow = windowOut(w, kernel[1]!, strides[1]!, padding[1], padding[1]);
    // ceil_mode only matters when the last window would start inside the input; accepted when it changes nothing.
    if (ceil && (windowOut(h, kernel[0]!, strides[0]!, padding[0], padding[0], 1, true) !== oh || windowOut(w, kernel[1]!, strides[1]!, padding[1], padding[1], 1, true) !== ow)) {
      problems.push(`ceil_mode = 1 changes the output size for input [N, ${x.shape!.join(', ')}]; only floor mode is supported`);
    }
    if (oh < 1 || ow < 1) problems.push(`the kernel does not fit the input [N, ${x.shape!.join(', ')}]`);
    outShape = [c, oh, ow];
  }
  if (problems.length || !x) return null;
  const k: [number, number] = [kernel[0]!, kernel[1]!], s: [number, number] = [strides[0]!, strides[1]!];
  return layer(n, x.name, outShape, () => ({
    module: kind === 'max' ? new MaxPool2d(k, { stride: s, padding }) : new AvgPool2d(k, { stride: s, padding, countIncludePad }),
    params: {},
  }));
};

const globalAveragePool: Planner = (n, ctx, problems) => {
  const x = dataInput(n, ctx, problems);
  const known = x ? need4d(x.shape, problems) : false;
  if (problems.length || !x) return null;
  const [c, h, w] = known ? (x.shape as [number, number, number]) : [0, 1, 1];
  return layer(n, x.name, known ? [c, 1, 1] : null, () => ({ module: new AvgPool2d([h, w], { stride: [h, w] }), params: {} }));
};

const flatten: Planner = (n, ctx, problems) => {
  const x = dataInput(n, ctx, problems);
  const axis = normAxis(int(n, 'axis', 1, problems), x?.shape ?? null);
  if (axis !== null && axis !== 1) problems.push(`axis ${attr.int(n, 'axis', 1)} is not supported; only flattening everything after the batch axis (axis 1) is`);
  if (problems.length || !x) return null;
  return layer(n, x.name, x.shape ? [numel(x.shape)] : null, () => ({ module: new Flatten(1), params: {} }));
};

/** Reshape to [N, features]: a constant shape [0 | -1 | N, -1 | features]. */
const reshape: Planner = (n, ctx, problems) => {
  const x = dataInput(n, ctx, problems);
  const s = needConstant(n, ctx, 1, 'target shape', problems);
  const allowZero = int(n, 'allowzero', 0, problems) === 1;
  const target = s?.ints ?? null;
  if (s && !target) problems.push(`its target shape '${s.name}' is not an integer tensor`);
  if (x?.shape && target) {
    const f = numel(x.shape);
    const batch = ctx.graph.input.dims?.[0];
    const [t0, t1] = target;
    const firstOk = (t0 === 0 && !allowZero) || (t0 === -1 && t1 === f) || (typeof batch === 'number' && t0 === batch);
    const secondOk = t1 === f || (t1 === -1 && t0 !== -1);
    if (target.length !== 2 || !firstOk || !secondOk) {
      const fixed = typeof t0 === 'number' && t0 > 0 && typeof batch !== 'number' ? ` (it fixes the batch size to ${t0})` : '';
      problems.push(`reshaping [N, ${x.shape.join(', ')}] to [${target.join(', ')}] is not supported${fixed}; only flattening to [N, ${f}] is`);
    }
  }
  if (problems.length || !x) return null;
  return layer(n, x.name, x.shape ? [numel(x.shape)] : null, () => ({ module: new Flatten(1), params: {} }));
};

const softmax: Planner = (n, ctx, problems) => {
  const x = dataInput(n, ctx, problems);
  const opset = ctx.graph.opset;
  const raw = int(n, 'axis', opset < 13 ? 1 : -1, problems);
  const axis = normAxis(raw, x?.shape ?? null);
  if (x?.shape && axis !== null) {
    const rank = x.shape.length + 1;
    if (axis < 1 || axis >= rank) problems.push(`axis ${raw} is not supported for input [N, ${x.shape.join(', ')}] (the batch axis cannot be normalised over)`);
    // Before opset 13, Softmax normalised over all axes from `axis` on, flattened.
    else if (opset < 13 && axis !== rank - 1) problems.push(`axis ${raw} over several axes (operator set ${opset} semantics) is not supported; only the last axis is`);
  }
  if (problems.length || !x) return null;
  return layer(n, x.name, x.shape, () => ({ module: new Softmax(axis ?? 1), params: {} }));
};

const dropout: Planner = (n, ctx, problems) => {
  const x = dataInput(n, ctx, problems);
  extraOutputsUnused(n, ctx, problems);
  let ratio = float(n, 'ratio', 0.5, problems);
  if (n.inputs[1]) {
    const r = needConstant(n, ctx, 1, 'ratio', problems);
    if (r) ratio = r.values[0] ?? 0.5;
  }
  if (n.inputs[2]) {
    const t = needConstant(n, ctx, 2, 'training mode', problems);
    if (t && t.values[0] !== 0) problems.push('training_mode = true is not supported (inference only)');
  }
  if (!(ratio >= 0 && ratio <= 1)) problems.push(`ratio ${ratio} is outside [0, 1]`);
  if (problems.length || !x) return null;
  return layer(n, x.name, x.shape, () => ({ module: new Dropout(ratio), params: {} }));
};

/** A Pad that pads nothing (exporters write one before some average poolings) is an Identity. */
const pad: Planner = (n, ctx, problems) => {
  const x = dataInput(n, ctx, problems);
  const mode = attr.string(n, 'mode', 'constant');
  let pads: number[] | null = null;
  if (ctx.graph.opset < 11) {
    const p = attr.ints(n, 'pads');
    if (typeof p === 'string') problems.push(p);
    else pads = p ?? [];
  } else {
    const c = needConstant(n, ctx, 1, 'pads', problems);
    pads = c?.ints ?? null;
    if (n.inputs[3]) needConstant(n, ctx, 3, 'axes', problems);
  }
  if (pads && pads.some((p) => p !== 0)) problems.push(`padding [${pads.join(', ')}] (mode ${mode}) is not supported; only a Pad that pads nothing is`);
  if (problems.length || !x) return null;
  return layer(n, x.name, x.shape, () => ({ module: new Identity(), params: {} }));
};

/** Add of two computed tensors: a residual join (see structure.ts). */
const add: Planner = (n, ctx, problems) => {
  if (n.inputs.length !== 2 || n.inputs.some((v) => !v)) {
    problems.push(`it has ${n.inputs.length} inputs, expected 2`);
    return null;
  }
  const consts = n.inputs.filter((v) => constant(ctx, v));
  if (consts.length > 0) {
    problems.push(`adding a constant ('${consts.join("', '")}') is supported only as the bias right after a MatMul`);
    return null;
  }
  const [a, b] = n.inputs.map((v) => ctx.shapes.get(v) ?? null);
  if (a && b && fmtShape(a) !== fmtShape(b)) problems.push(`its operands have shapes [N, ${a.join(', ')}] and [N, ${b.join(', ')}]; broadcasting is not supported`);
  if (problems.length) return null;
  return { kind: 'add', nodes: [n], inputs: [...n.inputs], output: n.outputs[0]!, outShape: a ?? b ?? null };
};

/** Concat of computed tensors on the channel (feature) axis: a Concat join. */
const concat: Planner = (n, ctx, problems) => {
  const inputs = n.inputs.filter((v) => v);
  if (inputs.length === 0) problems.push('it has no inputs');
  const consts = inputs.filter((v) => constant(ctx, v));
  if (consts.length) problems.push(`concatenating a constant ('${consts.join("', '")}') is not supported`);
  const axisAttr = attr.int(n, 'axis', Number.NaN);
  if (typeof axisAttr === 'string' || Number.isNaN(axisAttr)) problems.push('attribute axis is missing');
  const shapes = inputs.map((v) => ctx.shapes.get(v) ?? null);
  const first = shapes[0] ?? null;
  const axis = typeof axisAttr === 'number' ? normAxis(axisAttr, first) : null;
  if (axis !== null && axis !== 1) problems.push(`axis ${axisAttr} is not supported; only concatenating channels / features (axis 1) is`);
  let outShape: Shape | null = null;
  if (shapes.every((s) => s) && first) {
    for (const s of shapes) {
      if (s!.length !== first.length || s!.slice(1).some((d, i) => d !== first[i + 1])) {
        problems.push(`its operands ${shapes.map((t) => `[N, ${t!.join(', ')}]`).join(', ')} differ in more than the channel axis`);
        break;
      }
    }
    outShape = [shapes.reduce((sum, s) => sum + s![0]!, 0), ...first.slice(1)];
  }
  if (problems.length) return null;
  return { kind: 'concat', nodes: [n], inputs, output: n.outputs[0]!, outShape };
};

const PLANNERS: Record<string, Planner> = {
  Conv: conv, Gemm: gemm, MatMul: matmul, BatchNormalization: batchNorm,
  Relu: elementwise(() => new ReLU()), Tanh: elementwise(() => new Tanh()), Sigmoid: elementwise(() => new Sigmoid()),
  Identity: elementwise(() => new Identity()),
  MaxPool: pool('max'), AveragePool: pool('avg'), GlobalAveragePool: globalAveragePool,
  Flatten: flatten, Reshape: reshape, Softmax: softmax, Dropout: dropout, Pad: pad, Add: add, Concat: concat,
};

/** Plans one node: the plan, or the reasons it cannot be imported. */
export function planNode(n: Node, ctx: PlanContext): Plan | string[] {
  if (n.domain !== '' && n.domain !== 'ai.onnx') return [`operator domain '${n.domain}' is not supported`];
  const planner = PLANNERS[n.opType];
  if (!planner) return ['operator not supported'];
  const problems: string[] = [];
  for (const name of n.attrs.keys()) if (!ATTRS[n.opType]!.includes(name)) problems.push(`attribute ${name} is not supported`);
  const plan = planner(n, ctx, problems);
  if (problems.length || !plan) return problems.length ? problems : ['cannot be imported'];
  return plan;
}

