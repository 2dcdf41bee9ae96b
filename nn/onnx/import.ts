/**
 * fromOnnx: an ONNX model file as an nn model.
 *
 *   const { model, inputShape, names } = nn.fromOnnx(readFileSync('resnet.onnx'));
 *   model.forward(x);                      // x: [N, ...inputShape]; eval mode
 *   names.params['3.weight']               // → 'classifier.0.weight', the initializer it came from
 *
 * The graph becomes nested Sequential / Residual / Concat containers of nn layers (see ops.ts
 * for the operators and structure.ts for the topologies), with the initializers as parameters
 * and buffers; module keys are positions ('0', '3.body.1', …) and `names` maps them back to the
 * ONNX node and initializer names. The model is in eval mode (ONNX graphs are inference graphs).
 *
 * Refusals are OnnxErrors (exitCode 2), thrown before anything is created on a device:
 * 'malformed' for bytes that are not a readable ONNX model, 'unsupported' with one message
 * listing every unsupported node (name and operator) and attribute, 'dynamic-shape' when the
 * input's per-sample dimensions are symbolic and `inputShape` does not fix them (the batch axis
 * may stay symbolic).
 */
import { type BackendName, Generator } from '../../engine/internal.js';
import { Identity } from '../layers/activation.js';
import { Concat, Residual } from '../layers/residual.js';
import { Sequential } from '../layers/sequential.js';
import type { Module } from '../module.js';
import { OnnxError, type OnnxProblem, problemsError } from './errors.js';
import { type Graph, readGraph } from './graph.js';
import { type BuildContext, type Plan, planNode, type PlanContext } from './ops.js';
import { fmtShape, type Shape } from './shapes.js';
import { buildStructure, type Spec, StructureError } from './structure.js';

export interface FromOnnxOptions {
  /**
   * One sample's input shape without the batch axis, e.g. [3, 32, 32]: needed when the file
   * leaves those dimensions symbolic; must agree with the ones it fixes.
   */
  inputShape?: readonly number[];
  /** Backend the parameters are created on (the current one by default). */
  backend?: BackendName;
}

/** Where the imported model's keys come from in the ONNX file. */
export interface OnnxNames {
  /** State-dict key → ONNX initializer (or Constant output) name. BatchNorm's num_batches_tracked has none. */
  params: Record<string, string>;
  /** Module key ('' for the model) → the ONNX nodes it was built from (a MatMul and its bias Add give two). */
  modules: Record<string, string[]>;
  /** The graph's input and output value names. */
  input: string;
  output: string;
}

export interface OnnxImport {
  /** The model, in eval mode. */
  model: Sequential;
  /** One sample's input shape (without the batch axis). */
  inputShape: number[];
  /** One sample's output shape. */
  outputShape: number[];
  names: OnnxNames;
  /** Version of the default operator set the file uses. */
  opset: number;
  /** The file's batch dimension: a size, a symbolic name, or null when not given. */
  batch: number | string | null;
}

/** The per-sample input shape, or a problem. */
function resolveInputShape(g: Graph, given: readonly number[] | undefined): Shape | OnnxProblem {
  const dims = g.input.dims;
  const where = { node: g.input.name, opType: 'input' };
  if (given) {
    if (!Array.isArray(given) || !given.every((d) => Number.isInteger(d) && d >= 1)) return { ...where, message: `inputShape must be positive integers, got ${JSON.stringify(given)}` };
    if (dims && (dims.length !== given.length + 1 || dims.slice(1).some((d, i) => typeof d === 'number' && d !== given[i]))) {
      return { ...where, message: `inputShape ${fmtShape([...given])} does not match the file's input ${fmtShape(dims)} (batch axis first)` };
    }
    return [...given];
  }
  if (!dims) return { ...where, message: 'the file gives no input shape; pass inputShape (one sample\'s shape, e.g. [3, 32, 32])' };
  const open = dims.slice(1).map((d, i) => (typeof d === 'number' ? null : `axis ${i + 1} is ${d === null ? 'unknown' : `'${d}'`}`)).filter((s): s is string => s !== null);
  if (dims.length < 2) return { ...where, message: `the input ${fmtShape(dims)} has no per-sample axes` };
  if (open.length) return { ...where, message: `the input ${fmtShape(dims)} has dynamic dimensions (${open.join(', ')}) that nothing in the file fixes; pass inputShape (one sample's shape without the batch axis)` };
  return dims.slice(1) as number[];
}

function plansOf(g: Graph, inputShape: Shape | null, problems: OnnxProblem[]): Plan[] {
  const ctx: PlanContext = { graph: g, shapes: new Map([[g.input.name, inputShape]]), absorbed: new Set() };
  const plans: Plan[] = [];
  for (const n of g.nodes) {
    if (ctx.absorbed.has(n)) continue;
    const plan = planNode(n, ctx);
    if (Array.isArray(plan)) {
      for (const message of plan) problems.push({ node: n.name, opType: n.opType, message });
      for (const o of n.outputs) ctx.shapes.set(o, null);
    } else {
      plans.push(plan);
      ctx.shapes.set(plan.output, plan.outShape);
    }
  }
  return plans;
}

/** Builds the modules of a checked structure; `origin` records each one (and lets a failure free them). */
function build(specs: Spec[], ctx: BuildContext, origin: Map<Module, { nodes: string[]; params: Record<string, string> }>): Sequential {
  const seq = new Sequential();
  for (const s of specs) {
    let m: Module;
    if (s.kind === 'layer') {
      const built = s.plan.build({ ...ctx, created: (c) => origin.set(c, { nodes: [], params: {} }) });
      m = built.module;
      origin.set(m, { nodes: s.plan.nodes.map((n) => n.name), params: built.params });
    } else if (s.kind === 'residual') {
      m = new Residual(build(s.body, ctx, origin), s.shortcut ? build(s.shortcut, ctx, origin) : null);
      origin.set(m, { nodes: [s.plan.nodes[0]!.name], params: {} });
    } else {
      m = new Concat(...s.branches.map((b) => (b ? build(b, ctx, origin) : new Identity())));
      origin.set(m, { nodes: [s.plan.nodes[0]!.name], params: {} });
    }
    seq.append(m);
  }
  return seq;
}

/** Reads an ONNX model (the file's bytes) into an nn model; see the file comment. */
export function fromOnnx(bytes: Uint8Array, options: FromOnnxOptions = {}): OnnxImport {
  const g = readGraph(bytes);
  const problems: OnnxProblem[] = [...g.problems];
  const shape = resolveInputShape(g, options.inputShape);
  const inputShape = Array.isArray(shape) ? shape : null;
  if (inputShape && inputShape.length !== 1 && inputShape.length !== 3) {
    problems.push({ node: g.input.name, opType: 'input', message: `one sample's shape is ${fmtShape(inputShape)}; [features] or [channels, height, width] is supported` });
  }
  const plans = plansOf(g, inputShape, problems);
  if (problems.length || !inputShape) {
    if (!inputShape && problems.length === 0) throw new OnnxError('dynamic-shape', `cannot import the ONNX model: ${(shape as OnnxProblem).message}`, [shape as OnnxProblem]);
    if (!inputShape) problems.push(shape as OnnxProblem);
    const nodes = new Set(problems.filter((p) => p.opType && p.opType !== 'input' && p.opType !== 'initializer').map((p) => p.node)).size;
    throw problemsError('unsupported', `cannot import the ONNX model: ${problems.length} problem(s)${nodes ? ` in ${nodes} node(s)` : ''}`, problems);
  }
  let specs: Spec[];
  try {
    specs = buildStructure(plans, g.input.name, g.output);
  } catch (e) {
    if (!(e instanceof StructureError)) throw e;
    throw problemsError('unsupported', 'cannot import the ONNX model: its topology is not supported', [{ node: e.node, opType: e.opType, message: e.message }]);
  }

  const origin = new Map<Module, { nodes: string[]; params: Record<string, string> }>();
  let model: Sequential;
  try {
    model = build(specs, { backend: options.backend, generator: new Generator(0), created: () => undefined }, origin);
  } catch (e) {
    for (const m of origin.keys()) m.dispose();
    throw e;
  }
  model.eval();
  const names: OnnxNames = { params: {}, modules: {}, input: g.input.name, output: g.output };
  for (const [path, m] of model.namedModules()) {
    const o = origin.get(m);
    if (!o) continue;
    names.modules[path] = o.nodes;
    for (const [key, onnx] of Object.entries(o.params)) names.params[path ? `${path}.${key}` : key] = onnx;
  }
  const last = plans.find((p) => p.output === g.output);
  const outputShape = last?.outShape ?? inputShape;
  return { model, inputShape, outputShape: [...outputShape], names, opset: g.opset, batch: g.input.dims?.[0] ?? null };
}
