/**
 * toOnnx: an nn model as an ONNX model file (inference graph, operator set 13 or later).
 *
 *   const bytes = await nn.toOnnx(model, { inputShape: [1, 28, 28] });        // batch axis 'N'
 *   const small = await nn.toOnnx(await pruning.compact(masked, { inputShape }), { inputShape });
 *
 * Dense, masked and compacted models alike: every parameter is written with its effective
 * value (`getParam`, i.e. weight_orig × weight_mask for a pruned layer), so a masked model's
 * pruning becomes permanent in the file and a compacted model is as small as it is. The graph
 * is the eval-mode forward pass: BatchNorm uses its running statistics, Dropout is inactive.
 *
 * Names map back to the model: initializers are named by state-dict key without the pruning
 * suffixes ('features.0.weight', 'features.1.running_mean'), nodes by module key ('features.0';
 * a fused ReLU or max pooling adds ':relu' / ':maxpool', a Residual's Add and a Concat take
 * the container's key), values by the node that produces them ('features.0:out').
 *
 * Exported: Sequential, Residual (Add), Concat (on channels), Conv2d (with its fused ReLU and
 * max pooling), Linear (Gemm, with its fused ReLU), BatchNorm1d/2d, ReLU, Tanh, Sigmoid,
 * Softmax, Identity, Dropout, MaxPool2d, AvgPool2d, Flatten (startDim 1). Anything else — the
 * CSR/BSR layers of toSparse, a BatchNorm without running statistics — is refused with one
 * OnnxError listing every such module.
 */
import { noGrad, type Tensor } from '../../engine/internal.js';
import { Identity, ReLU, Sigmoid, Softmax, Tanh } from '../layers/activation.js';
import { BatchNorm1d, BatchNorm2d } from '../layers/batchnorm.js';
import { Conv2d } from '../layers/conv.js';
import { Dropout } from '../layers/dropout.js';
import { Flatten } from '../layers/flatten.js';
import { Linear } from '../layers/linear.js';
import { AvgPool2d, MaxPool2d } from '../layers/pooling.js';
import { Concat, Residual } from '../layers/residual.js';
import { Sequential } from '../layers/sequential.js';
import type { Module } from '../module.js';
import { type OnnxProblem, problemsError } from './errors.js';
import { MAX_OPSET } from './graph.js';
import { AttrType, type AttributeProto, DataType, encodeModelProto, floatTensorProto, type NodeProto, type TensorProto, type ValueInfoProto } from './proto.js';
import { fmtShape, numel, type Shape, windowOut } from './shapes.js';

export interface ToOnnxOptions {
  /** One sample's input shape without the batch axis, e.g. [1, 28, 28]. */
  inputShape: readonly number[];
  /** Default operator set version: 13 (the default) to 22. */
  opset?: number;
  /** A fixed batch size; by default the batch axis is symbolic ('N'). */
  batch?: number;
  /** Graph input and output names (default 'input', 'output'). */
  inputName?: string;
  outputName?: string;
}

export const MIN_EXPORT_OPSET = 13;

/** The IR version that goes with an operator set (the oldest one that knows it). */
function irVersion(opset: number): number {
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

interface Value {
  name: string;
  shape: Shape | null;
}

const pair = (p: number | readonly [number, number]): [number, number] => (typeof p === 'number' ? [p, p] : [p[0], p[1]]);

const ints = (name: string, v: number[]): AttributeProto => ({ name, type: AttrType.INTS, ints: v });
const int = (name: string, v: number): AttributeProto => ({ name, type: AttrType.INT, i: v });
const float = (name: string, v: number): AttributeProto => ({ name, type: AttrType.FLOAT, f: v });

class Exporter {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  readonly problems: OnnxProblem[] = [];

  constructor(readonly inputName: string) {}

  private node(name: string, opType: string, inputs: string[], attribute: AttributeProto[] = []): string {
    const out = `${name}:out`;
    this.nodes.push({ name, op_type: opType, input: inputs, output: [out], attribute });
    return out;
  }

  private refuse(path: string, m: Module, message: string): Value {
    this.problems.push({ node: path || '(model)', opType: m.typeName(), message });
    return { name: `${path}:unsupported`, shape: null };
  }

  /** Writes the effective value of parameter `key` (masks applied) as initializer `${path}.${key}`. */
  private async param(m: Module, path: string, key: string, fallback?: () => Float32Array): Promise<string> {
    const name = path ? `${path}.${key}` : key;
    const t = noGrad(() => m.getParam(key));
    if (!t) {
      this.initializers.push(floatTensorProto(name, [fallback!().length], fallback!()));
      return name;
    }
    try {
      this.initializers.push(floatTensorProto(name, t.shape, await t.toArray()));
    } finally {
      if (m.hasParamOverride(key)) t.dispose();
    }
    return name;
  }

  private async buffer(m: Module, path: string, key: string): Promise<string> {
    const name = `${path}.${key}`;
    const t = m.buffer(key) as Tensor;
    this.initializers.push(floatTensorProto(name, t.shape, await t.toArray()));
    return name;
  }

  async emit(m: Module, path: string, x: Value): Promise<Value> {
    const name = path || 'model';
    const child = (n: string) => (path ? `${path}.${n}` : n);
    if (m instanceof Sequential) {
      let y = x;
      for (const [n, c] of m.namedChildren()) y = await this.emit(c, child(n), y);
      return y;
    }
    if (m instanceof Residual) {
      const body = await this.emit(m.body, child('body'), x);
      const short = m.shortcut ? await this.emit(m.shortcut, child('shortcut'), x) : x;
      if (body.shape && short.shape && fmtShape(body.shape) !== fmtShape(short.shape)) return this.refuse(path, m, `the body gives ${fmtShape(body.shape)}, the shortcut ${fmtShape(short.shape)}`);
      return { name: this.node(name, 'Add', [body.name, short.name]), shape: body.shape ?? short.shape };
    }
    if (m instanceof Concat) {
      const parts: Value[] = [];
      for (const [n, c] of m.namedChildren()) parts.push(await this.emit(c, child(n), x));
      const shape = parts.every((p) => p.shape) ? [parts.reduce((s, p) => s + p.shape![0]!, 0), ...parts[0]!.shape!.slice(1)] : null;
      return { name: this.node(name, 'Concat', parts.map((p) => p.name), [int('axis', 1)]), shape };
    }
    if (m instanceof Conv2d) return this.conv(m, path, x);
    if (m instanceof Linear) {
      if (x.shape && x.shape.length !== 1) return this.refuse(path, m, `applied to [N, ${x.shape.join(', ')}]; only [N, features] inputs are exported (flatten first)`);
      const inputs = [x.name, await this.param(m, path, 'weight')];
      if (m.bias) inputs.push(await this.param(m, path, 'bias'));
      let y = this.node(name, 'Gemm', inputs, [float('alpha', 1), float('beta', 1), int('transB', 1)]);
      if (m.activation === 'relu') y = this.node(`${name}:relu`, 'Relu', [y]);
      return { name: y, shape: [m.outFeatures] };
    }
    if (m instanceof BatchNorm1d || m instanceof BatchNorm2d) {
      if (!m.buffer('running_mean') || !m.buffer('running_var')) return this.refuse(path, m, 'it keeps no running statistics (trackRunningStats: false), so inference uses batch statistics, which ONNX\'s BatchNormalization cannot express');
      const c = m.numFeatures;
      const inputs = [
        x.name,
        await this.param(m, path, 'weight', () => new Float32Array(c).fill(1)),
        await this.param(m, path, 'bias', () => new Float32Array(c)),
        await this.buffer(m, path, 'running_mean'),
        await this.buffer(m, path, 'running_var'),
      ];
      return { name: this.node(name, 'BatchNormalization', inputs, [float('epsilon', m.eps), float('momentum', 1 - m.momentum)]), shape: x.shape };
    }
    if (m instanceof MaxPool2d || m instanceof AvgPool2d) {
      const k = pair(m.kernelSize), s = pair(m.options.stride ?? m.kernelSize), p = pair(m.options.padding ?? 0);
      const attrs = [ints('kernel_shape', k), ints('strides', s), ints('pads', [p[0], p[1], p[0], p[1]])];
      if (m instanceof AvgPool2d) attrs.push(int('count_include_pad', (m.options.countIncludePad ?? true) ? 1 : 0));
      const shape = x.shape?.length === 3 ? [x.shape[0]!, windowOut(x.shape[1]!, k[0], s[0], p[0], p[0]), windowOut(x.shape[2]!, k[1], s[1], p[1], p[1])] : null;
      return { name: this.node(name, m instanceof MaxPool2d ? 'MaxPool' : 'AveragePool', [x.name], attrs), shape };
    }
    if (m instanceof Flatten) {
      if (m.startDim !== 1) return this.refuse(path, m, `startDim ${m.startDim}: only Flatten(1) is exported`);
      return { name: this.node(name, 'Flatten', [x.name], [int('axis', 1)]), shape: x.shape ? [numel(x.shape)] : null };
    }
    if (m instanceof Dropout) {
      const ratio = `${name}.ratio`;
      this.initializers.push(floatTensorProto(ratio, [], Float32Array.of(m.p)));
      return { name: this.node(name, 'Dropout', [x.name, ratio]), shape: x.shape };
    }
    if (m instanceof Softmax) return { name: this.node(name, 'Softmax', [x.name], [int('axis', m.dim)]), shape: x.shape };
    for (const [C, op] of [[ReLU, 'Relu'], [Tanh, 'Tanh'], [Sigmoid, 'Sigmoid'], [Identity, 'Identity']] as const) {
      if (m instanceof C) return { name: this.node(name, op, [x.name]), shape: x.shape };
    }
    const sparse = /^Sparse/.test(m.typeName()) ? ': export the dense (masked) or compacted model instead of the toSparse one' : '';
    return this.refuse(path, m, `this module type cannot be exported${sparse}`);
  }

  private async conv(m: Conv2d, path: string, x: Value): Promise<Value> {
    const name = path || 'model';
    if (x.shape && (x.shape.length !== 3 || x.shape[0] !== m.inChannels)) return this.refuse(path, m, `expects [N, ${m.inChannels}, H, W], gets [N, ${x.shape.join(', ')}]`);
    const inputs = [x.name, await this.param(m, path, 'weight')];
    if (m.bias) inputs.push(await this.param(m, path, 'bias'));
    const [kh, kw] = m.kernelSize, [sh, sw] = m.stride, [ph, pw] = m.padding, [dh, dw] = m.dilation;
    let y = this.node(name, 'Conv', inputs, [
      ints('kernel_shape', [kh, kw]), ints('strides', [sh, sw]), ints('pads', [ph, pw, ph, pw]), ints('dilations', [dh, dw]), int('group', 1),
    ]);
    let shape = x.shape ? [m.outChannels, windowOut(x.shape[1]!, kh, sh, ph, ph, dh), windowOut(x.shape[2]!, kw, sw, pw, pw, dw)] : null;
    if (m.activation === 'relu') y = this.node(`${name}:relu`, 'Relu', [y]);
    if (m.maxPool) {
      const k = pair(m.maxPool.kernel), s = pair(m.maxPool.stride ?? m.maxPool.kernel), p = pair(m.maxPool.padding ?? 0);
      y = this.node(`${name}:maxpool`, 'MaxPool', [y], [ints('kernel_shape', k), ints('strides', s), ints('pads', [p[0], p[1], p[0], p[1]])]);
      shape = shape ? [shape[0]!, windowOut(shape[1]!, k[0], s[0], p[0], p[0]), windowOut(shape[2]!, k[1], s[1], p[1], p[1])] : null;
    }
    return { name: y, shape };
  }
}

function valueInfo(name: string, batch: number | undefined, shape: Shape | null): ValueInfoProto {
  const dim = [batch ? { dim_value: batch } : { dim_param: 'N' }, ...(shape ?? []).map((d) => ({ dim_value: d }))];
  return { name, type: { tensor_type: { elem_type: DataType.FLOAT, ...(shape ? { shape: { dim } } : {}) } } };
}

/** The model as ONNX bytes; see the file comment. */
export async function toOnnx(model: Module, options: ToOnnxOptions): Promise<Uint8Array> {
  const { opset = MIN_EXPORT_OPSET, batch, inputName = 'input', outputName = 'output' } = options;
  const inputShape = options.inputShape ? [...options.inputShape] : null;
  if (!inputShape || inputShape.length === 0 || !inputShape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new Error(`toOnnx: inputShape must be one sample's shape (positive integers, no batch axis), got ${JSON.stringify(options.inputShape)}`);
  }
  if (!Number.isInteger(opset) || opset < MIN_EXPORT_OPSET || opset > MAX_OPSET) throw new Error(`toOnnx: opset must be an integer from ${MIN_EXPORT_OPSET} to ${MAX_OPSET}, got ${opset}`);
  if (batch !== undefined && !(Number.isInteger(batch) && batch >= 1)) throw new Error(`toOnnx: batch must be a positive integer, got ${batch}`);
  if (!inputName || !outputName || inputName === outputName) throw new Error('toOnnx: inputName and outputName must be two different non-empty names');

  const ex = new Exporter(inputName);
  const y = await ex.emit(model, '', { name: inputName, shape: inputShape });
  if (ex.problems.length) throw problemsError('unsupported', `toOnnx: ${ex.problems.length} module(s) cannot be exported`, ex.problems);
  // The graph output gets its public name: rename the last node's output, or pass the input through.
  if (y.name === inputName) ex.nodes.push({ name: 'output', op_type: 'Identity', input: [inputName], output: [outputName] });
  else {
    for (const n of ex.nodes) {
      n.output = n.output!.map((o) => (o === y.name ? outputName : o));
      n.input = n.input!.map((i) => (i === y.name ? outputName : i));
    }
  }
  return encodeModelProto({
    ir_version: irVersion(opset),
    opset_import: [{ domain: '', version: opset }],
    producer_name: 'wgprune',
    producer_version: '0.1.0',
    graph: {
      name: 'wgprune',
      node: ex.nodes,
      initializer: ex.initializers,
      input: [valueInfo(inputName, batch, inputShape)],
      output: [valueInfo(outputName, batch, y.shape)],
    },
  });
}
