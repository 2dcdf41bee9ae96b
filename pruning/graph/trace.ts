/**
 * Structural trace of a model: walks Sequential / Residual / Concat containers in
 * forward order and records, for every leaf, which channel slots it reads and
 * which it produces (see slots.ts). Per-sample shapes are followed when the
 * input shape is known (needed by FLOP accounting, checked against the layers).
 *
 * Supported modules: Sequential, Residual, Concat, Conv2d, Linear, BatchNorm1d,
 * BatchNorm2d, ReLU, Tanh, Sigmoid, Identity, Dropout, MaxPool2d, AvgPool2d,
 * Flatten (startDim 1), Softmax — each with its own class's forward (a subclass that
 * overrides forward is not understood). Anything else, or a module used twice,
 * throws an UnsupportedLayerError naming the layer. The trace never changes the model.
 *
 * Without an input shape the model input is *opaque*: its channel count and
 * spatial size are unknown, which is fine because the input is never pruned; a
 * Flatten's features per channel are then read off the Linear that consumes it
 * (inFeatures / channels).
 */
import {
  AvgPool2d, BatchNorm1d, BatchNorm2d, Concat, Conv2d, Dropout, Flatten, Identity, Linear, MaxPool2d, type Module, ReLU, Residual,
  Sequential, Sigmoid, Softmax, Tanh,
} from '../../nn/index.js';
import { SlotTable } from './slots.js';

export class UnsupportedLayerError extends Error {
  constructor(readonly layer: string, readonly layerType: string, readonly detail: string) {
    super(`unsupported layer '${layer || '(model)'}' (${layerType}): ${detail}`);
    this.name = 'UnsupportedLayerError';
  }
}

/**
 * The `inputShape` given does not fit the model, which traces without it: the shape is wrong,
 * not the layer. `expected` is a shape the model takes (null when it cannot be worked out).
 */
export class InputShapeError extends Error {
  constructor(
    readonly given: number[],
    readonly expected: number[] | null,
    /** The first layer that could not take what the given shape became, and why. */
    readonly layer: string,
    readonly layerType: string,
    readonly detail: string,
  ) {
    super(`inputShape ${fmt(given)} does not fit the model, which takes ${expected ? fmt(expected) : 'another shape'}; at layer '${layer || '(model)'}' (${layerType}): ${detail}`);
    this.name = 'InputShapeError';
  }
}

/** A traced tensor. */
interface Value {
  /** One slot per channel (rank 4) or per group of `repeat` features (rank 2); null: the opaque model input. */
  slots: Int32Array | null;
  /** Rank with the batch axis; null while unknown (opaque input). */
  rank: 2 | 4 | null;
  /** Per-sample shape, when known. */
  shape: number[] | null;
  /** Rank 2: consecutive features owned by each slot (1, or H·W after a Flatten); null: not yet known. */
  repeat: number | null;
}

interface OpBase {
  /** Dotted module name ('' for the model itself). */
  name: string;
  module: Module;
  /** Per-sample input and output shapes, when known. */
  inShape: number[] | null;
  outShape: number[] | null;
}

/** Conv2d / Linear: output slot o is row o of the weight; input slot i owns columns [i·inRepeat, (i+1)·inRepeat) of dim 1. */
export interface WeightOp extends OpBase {
  kind: 'conv' | 'linear';
  module: Conv2d | Linear;
  input: Int32Array | null;
  inRepeat: number;
  output: Int32Array;
}

/** BatchNorm: channel-wise, input and output slots coupled; slot c owns features [c·repeat, (c+1)·repeat). */
export interface NormOp extends OpBase {
  kind: 'norm';
  module: BatchNorm1d | BatchNorm2d;
  input: Int32Array | null;
  output: Int32Array | null;
  repeat: number;
}

/** Parameter-free, channel-preserving ops (activations, pools, dropout, identity, flatten). */
export interface MapOp extends OpBase {
  kind: 'map';
  input: Int32Array | null;
  output: Int32Array | null;
  /** f(0) = 0 channel-wise (ReLU, Tanh, pools, dropout, identity, flatten; not Sigmoid). */
  keepsZero: boolean;
}

export interface AddOp extends OpBase {
  kind: 'add';
  module: Residual;
  inputs: Array<Int32Array | null>;
  output: Int32Array;
}

export interface ConcatOp extends OpBase {
  kind: 'concat';
  module: Concat;
  inputs: Int32Array[];
  output: Int32Array;
}

export type TraceOp = WeightOp | NormOp | MapOp | AddOp | ConcatOp;

export interface Trace {
  slots: SlotTable;
  /** Every op in forward order (containers' add/concat after their branches). */
  ops: TraceOp[];
  /** Slots of the model input (null when opaque) and output. */
  input: Int32Array | null;
  output: Int32Array | null;
  inputShape: number[] | null;
  outputShape: number[] | null;
}

export interface TraceOptions {
  /** One sample's shape without the batch axis, e.g. [1, 28, 28]; optional (see above). */
  inputShape?: readonly number[];
}

const fmt = (s: readonly number[] | null) => (s ? `[${s.join(', ')}]` : '[?]');

/** `m` is an instance of `C` that runs C's own forward. */
function is<T extends Module>(m: Module, C: abstract new (...args: never[]) => T): m is T {
  return m instanceof C && m.forward === (C.prototype as Module).forward;
}

function pairOf(v: number | readonly [number, number]): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

function outSize(input: number, k: number, s: number, p: number, d: number): number {
  return Math.floor((input + 2 * p - d * (k - 1) - 1) / s) + 1;
}

class Tracer {
  readonly slots = new SlotTable();
  readonly ops: TraceOp[] = [];
  private readonly seen = new Map<Module, string>();

  fail(name: string, m: Module, detail: string): never {
    throw new UnsupportedLayerError(name, m.typeName(), detail);
  }

  private child(prefix: string, name: string): string {
    return prefix ? `${prefix}.${name}` : name;
  }

  /** Fresh slots coupled one-to-one with `input` (channel-wise op). */
  private coupled(input: Int32Array | null): Int32Array | null {
    if (!input) return null;
    const out = this.slots.create(input.length);
    for (let i = 0; i < input.length; i++) this.slots.union(input[i]!, out[i]!);
    return out;
  }

  run(m: Module, name: string, x: Value): Value {
    const prev = this.seen.get(m);
    if (prev !== undefined) this.fail(name, m, `the same module instance is also used as '${prev || '(model)'}'; shared modules cannot be compacted`);
    this.seen.set(m, name);

    if (is(m, Sequential)) {
      let y = x;
      for (const [n, c] of m.namedChildren()) y = this.run(c, this.child(name, n), y);
      return y;
    }
    if (is(m, Residual)) return this.residual(m, name, x);
    if (is(m, Concat)) return this.concat(m, name, x);
    if (m.children().length > 0) this.fail(name, m, 'containers other than Sequential, Residual and Concat are not understood');
    if (is(m, Conv2d)) return this.conv(m, name, x);
    if (is(m, Linear)) return this.linear(m, name, x);
    if (is(m, BatchNorm2d) || is(m, BatchNorm1d)) return this.norm(m, name, x);
    if (is(m, Flatten)) return this.flatten(m, name, x);
    if (is(m, MaxPool2d) || is(m, AvgPool2d)) return this.pool(m, name, x);
    if (is(m, ReLU) || is(m, Tanh) || is(m, Dropout) || is(m, Identity) || is(m, Sigmoid)) {
      const output = this.coupled(x.slots);
      this.ops.push({ kind: 'map', name, module: m, input: x.slots, output, keepsZero: !is(m, Sigmoid), inShape: x.shape, outShape: x.shape });
      return { ...x, slots: output };
    }
    if (is(m, Softmax)) return this.softmax(m, name, x);
    return this.fail(name, m, 'no rule for this module type (supported: Sequential, Residual, Concat, Conv2d, Linear, BatchNorm1d/2d, ReLU, Tanh, Sigmoid, Identity, Dropout, MaxPool2d, AvgPool2d, Flatten, Softmax)');
  }

  /** Over the channels (dim 1) every output reads every channel: they are all kept. Over H or W it is channel-wise. */
  private softmax(m: Softmax, name: string, x: Value): Value {
    const dim = x.rank !== null && m.dim < 0 ? m.dim + x.rank : m.dim;
    if (x.slots && (x.rank === null || dim === 1)) for (const s of x.slots) this.slots.pin(s, `read across channels by Softmax '${name || '(model)'}'`);
    const output = this.coupled(x.slots);
    this.ops.push({ kind: 'map', name, module: m, input: x.slots, output, keepsZero: false, inShape: x.shape, outShape: x.shape });
    return { ...x, slots: output };
  }

  private conv(m: Conv2d, name: string, x: Value): Value {
    if (x.rank === 2) this.fail(name, m, `expects a 4-D input, gets features ${fmt(x.shape)}`);
    if (x.slots && x.slots.length !== m.inChannels) this.fail(name, m, `expects ${m.inChannels} input channels, gets ${x.slots.length}`);
    // Its output shape and FLOPs would be the pooled ones: trace the model before fusion (pruning and accounting work on it).
    if (m.maxPool) this.fail(name, m, 'has a max pooling fused into it (from fuseForInference); trace, prune or compact the unfused model, then fuse');
    let outShape: number[] | null = null;
    if (x.shape) {
      const [, h, w] = x.shape as [number, number, number];
      const [kh, kw] = m.kernelSize, [sh, sw] = m.stride, [ph, pw] = m.padding, [dh, dw] = m.dilation;
      outShape = [m.outChannels, outSize(h, kh, sh, ph, dh), outSize(w, kw, sw, pw, dw)];
      if (outShape[1]! < 1 || outShape[2]! < 1) this.fail(name, m, `input ${fmt(x.shape)} is smaller than the kernel`);
    }
    const output = this.slots.create(m.outChannels);
    this.ops.push({ kind: 'conv', name, module: m, input: x.slots, inRepeat: 1, output, inShape: x.shape, outShape });
    return { slots: output, rank: 4, shape: outShape, repeat: null };
  }

  private linear(m: Linear, name: string, x: Value): Value {
    if (x.rank === 4) this.fail(name, m, `applied to a 4-D tensor ${fmt(x.shape)}: add a Flatten before it`);
    let repeat = x.repeat ?? 1;
    if (x.slots) {
      if (x.repeat === null) {
        if (m.inFeatures % x.slots.length !== 0) this.fail(name, m, `${m.inFeatures} input features cannot be split over ${x.slots.length} flattened channels`);
        repeat = m.inFeatures / x.slots.length;
      } else if (x.slots.length * x.repeat !== m.inFeatures) {
        this.fail(name, m, `expects ${m.inFeatures} input features, gets ${x.slots.length * x.repeat}`);
      }
    } else if (x.shape && x.shape[0] !== m.inFeatures) {
      this.fail(name, m, `expects ${m.inFeatures} input features, gets ${x.shape[0]}`);
    }
    const output = this.slots.create(m.outFeatures);
    const inShape = x.shape ?? (x.slots ? [m.inFeatures] : null);
    this.ops.push({ kind: 'linear', name, module: m, input: x.slots, inRepeat: repeat, output, inShape, outShape: [m.outFeatures] });
    return { slots: output, rank: 2, shape: [m.outFeatures], repeat: 1 };
  }

  private norm(m: BatchNorm1d | BatchNorm2d, name: string, x: Value): Value {
    const want = m instanceof BatchNorm2d ? 4 : 2;
    if (x.rank !== null && x.rank !== want) this.fail(name, m, `expects a rank-${want} input, gets rank ${x.rank}`);
    let repeat = 1;
    if (x.slots) {
      if (want === 2) {
        if (x.repeat === null) {
          if (m.numFeatures % x.slots.length !== 0) this.fail(name, m, `${m.numFeatures} features cannot be split over ${x.slots.length} flattened channels`);
          repeat = m.numFeatures / x.slots.length;
        } else repeat = x.repeat;
      }
      if (x.slots.length * repeat !== m.numFeatures) this.fail(name, m, `has ${m.numFeatures} features, gets ${x.slots.length * repeat}`);
    }
    const output = this.coupled(x.slots);
    this.ops.push({ kind: 'norm', name, module: m, input: x.slots, output, repeat, inShape: x.shape, outShape: x.shape });
    return { ...x, slots: output, repeat: want === 2 ? repeat : x.repeat };
  }

  private flatten(m: Flatten, name: string, x: Value): Value {
    if (m.startDim !== 1) this.fail(name, m, `only startDim 1 is supported, got ${m.startDim}`);
    const outShape = x.shape ? [x.shape.reduce((a, b) => a * b, 1)] : null;
    // The slots stay the same: after flattening, channel c owns H·W consecutive features.
    this.ops.push({ kind: 'map', name, module: m, input: x.slots, output: x.slots, keepsZero: true, inShape: x.shape, outShape });
    if (x.rank === 2) return x;
    const repeat = x.shape && x.rank === 4 ? x.shape[1]! * x.shape[2]! : null;
    return { slots: x.slots, rank: 2, shape: outShape, repeat };
  }

  private pool(m: MaxPool2d | AvgPool2d, name: string, x: Value): Value {
    if (x.rank === 2) this.fail(name, m, `expects a 4-D input, gets features ${fmt(x.shape)}`);
    let outShape: number[] | null = null;
    if (x.shape) {
      const [c, h, w] = x.shape as [number, number, number];
      const [kh, kw] = pairOf(m.kernelSize);
      const [sh, sw] = pairOf(m.options.stride ?? m.kernelSize);
      const [ph, pw] = pairOf(m.options.padding ?? 0);
      outShape = [c, outSize(h, kh, sh, ph, 1), outSize(w, kw, sw, pw, 1)];
    }
    const output = this.coupled(x.slots);
    this.ops.push({ kind: 'map', name, module: m, input: x.slots, output, keepsZero: true, inShape: x.shape, outShape });
    return { slots: output, rank: 4, shape: outShape, repeat: null };
  }

  private residual(m: Residual, name: string, x: Value): Value {
    const y = this.run(m.body, this.child(name, 'body'), x);
    const s = m.shortcut ? this.run(m.shortcut, this.child(name, 'shortcut'), x) : x;
    if (y.rank !== null && s.rank !== null && y.rank !== s.rank) this.fail(name, m, `body gives rank ${y.rank}, shortcut rank ${s.rank}`);
    if (y.shape && s.shape && fmt(y.shape) !== fmt(s.shape)) this.fail(name, m, `body gives ${fmt(y.shape)}, shortcut ${fmt(s.shape)}`);
    if (y.slots && s.slots && (y.slots.length !== s.slots.length || (y.repeat ?? 1) !== (s.repeat ?? 1))) {
      this.fail(name, m, `body gives ${y.slots.length} channels, shortcut ${s.slots.length}`);
    }
    const known = y.slots ?? s.slots;
    if (!known) this.fail(name, m, 'both operands are the opaque model input; pass inputShape');
    const output = this.slots.create(known.length);
    for (const part of [y.slots, s.slots]) {
      for (let i = 0; i < output.length; i++) {
        if (part) this.slots.union(part[i]!, output[i]!);
        else this.slots.pin(output[i]!, `added to the model input in '${name || '(model)'}'`);
      }
    }
    this.ops.push({ kind: 'add', name, module: m, inputs: [y.slots, s.slots], output, inShape: x.shape, outShape: y.shape ?? s.shape });
    return { slots: output, rank: y.rank ?? s.rank, shape: y.shape ?? s.shape, repeat: y.repeat ?? s.repeat };
  }

  private concat(m: Concat, name: string, x: Value): Value {
    const parts = [...m.namedChildren()].map(([n, c]) => this.run(c, this.child(name, n), x));
    const first = parts[0]!;
    const inputs: Int32Array[] = [];
    for (const p of parts) {
      if (!p.slots) this.fail(name, m, 'a branch passes the opaque model input through; pass inputShape');
      if (p.rank !== first.rank) this.fail(name, m, 'branches give tensors of different ranks');
      if (p.rank === 2 && (p.repeat ?? 1) !== 1) this.fail(name, m, 'concatenating flattened feature maps is not supported');
      if (p.rank === 4 && p.shape && first.shape && (p.shape[1] !== first.shape[1] || p.shape[2] !== first.shape[2])) {
        this.fail(name, m, `branches give different spatial sizes ${fmt(first.shape)} and ${fmt(p.shape)}`);
      }
      inputs.push(p.slots);
    }
    const total = inputs.reduce((a, s) => a + s.length, 0);
    const output = this.slots.create(total);
    let at = 0;
    for (const s of inputs) for (let i = 0; i < s.length; i++) this.slots.union(s[i]!, output[at++]!);
    const shape = first.shape ? (first.rank === 4 ? [total, first.shape[1]!, first.shape[2]!] : [total]) : null;
    this.ops.push({ kind: 'concat', name, module: m, inputs, output, inShape: x.shape, outShape: shape });
    return { slots: output, rank: first.rank, shape, repeat: first.rank === 2 ? 1 : null };
  }
}

/**
 * Traces `model` (see the file comment). Throws UnsupportedLayerError without touching the model,
 * or an InputShapeError when the model traces without `inputShape` but not with it.
 */
export function traceModel(model: Module, options: TraceOptions = {}): Trace {
  try {
    return traceAs(model, options.inputShape);
  } catch (e) {
    if (e instanceof UnsupportedLayerError && options.inputShape) throw inputShapeError(model, [...options.inputShape], e);
    throw e;
  }
}

function traceAs(model: Module, inputShape: readonly number[] | undefined): Trace {
  const t = new Tracer();
  let x: Value = { slots: null, rank: null, shape: null, repeat: null };
  let input: Int32Array | null = null;
  if (inputShape) {
    const shape = [...inputShape];
    if (!(shape.length === 3 || shape.length === 1) || !shape.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new Error(`traceModel: inputShape must be one sample's shape [C, H, W] or [F] without the batch axis, got ${fmt(shape)}`);
    }
    input = t.slots.create(shape[0]!, 'model input');
    x = { slots: input, rank: shape.length === 3 ? 4 : 2, shape, repeat: shape.length === 3 ? null : 1 };
  }
  const y = t.run(model, '', x);
  if (y.slots) for (const s of y.slots) t.slots.pin(s, 'model output');
  return { slots: t.slots, ops: t.ops, input, output: y.slots, inputShape: x.shape, outputShape: y.shape };
}

/** `failure` (tracing with `given`) as an InputShapeError when the model itself traces; otherwise `failure` as it is. */
function inputShapeError(model: Module, given: number[], failure: UnsupportedLayerError): Error {
  let opaque: Trace;
  try {
    opaque = traceAs(model, undefined);
  } catch {
    return failure;
  }
  return new InputShapeError(given, expectedInputShape(model, opaque, given), failure.layer, failure.layerType, failure.detail);
}

/** A shape the model takes: the first layer's channels or features, and for images a size that traces (the given one if it does). */
function expectedInputShape(model: Module, opaque: Trace, given: number[]): number[] | null {
  const first = opaque.ops.find((op): op is WeightOp | NormOp => op.kind === 'conv' || op.kind === 'linear' || op.kind === 'norm');
  if (!first || first.input !== null) return null;
  const m = first.module;
  const fits = (shape: number[]) => {
    try {
      traceAs(model, shape);
      return true;
    } catch {
      return false;
    }
  };
  if (m instanceof Linear || m instanceof BatchNorm1d) {
    const features = m instanceof Linear ? m.inFeatures : m.numFeatures;
    return fits([features]) ? [features] : null;
  }
  const image = m instanceof Conv2d ? m.inChannels : m.numFeatures;
  if (given.length === 3 && fits([image, given[1]!, given[2]!])) return [image, given[1]!, given[2]!];
  for (let size = 1; size <= 1024; size++) if (fits([image, size, size])) return [image, size, size];
  return null;
}
