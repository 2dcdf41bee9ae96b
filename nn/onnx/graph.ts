/**
 * Reads ONNX bytes into a checked graph: constants (initializers and Constant nodes) decoded,
 * the one real input and output found, nodes in topological order, producers and consumers.
 *
 * Malformed input — bytes that are not protobuf, a truncated file, a graph that reads a value
 * nothing produces, a cycle — throws OnnxError('malformed'). What is well-formed but not
 * supported (a second input, an external-data tensor, …) is returned as problems, so the
 * importer can list them together with the unsupported operators.
 */
import { OnnxError, type OnnxProblem } from './errors.js';
import { AttrType, type AttributeProto, DataType, decodeModelProto, type ModelProto, type NodeProto, type TensorProto } from './proto.js';

/** A decoded constant: float values (any numeric type converted) with their dims. */
export interface Constant {
  name: string;
  dims: number[];
  values: Float32Array;
  /** Exact integer values for integer tensors (shapes, axes), else null. */
  ints: number[] | null;
}

export interface Node {
  /** The node's name, or `<op_type>_<index>` when the file gives none. */
  name: string;
  opType: string;
  domain: string;
  /** Input value names ('' marks an omitted optional input). */
  inputs: string[];
  outputs: string[];
  attrs: Map<string, AttributeProto>;
  /** Position in the file. */
  index: number;
}

/** A dimension of the input: a size, a symbolic name, or null when neither is given. */
export type Dim = number | string | null;

export interface Graph {
  /** Version of the default ('ai.onnx') operator set. */
  opset: number;
  constants: Map<string, Constant>;
  input: { name: string; dims: Dim[] | null; elemType: number | null };
  output: string;
  /** Every non-Constant node, in topological order. */
  nodes: Node[];
  producer: Map<string, Node>;
  consumers: Map<string, Node[]>;
  /** Well-formed but unsupported content of the file. */
  problems: OnnxProblem[];
}

export const MIN_OPSET = 9;
export const MAX_OPSET = 22;

function malformed(detail: string): OnnxError {
  return new OnnxError('malformed', `not a valid ONNX model: ${detail}`);
}

const count = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** A tensor's values, or a problem when its type or storage is not supported. */
export function decodeTensor(t: TensorProto, what: string): Constant | string {
  const dims = (t.dims ?? []).map(Number);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw malformed(`${what} has invalid dims [${dims.join(', ')}]`);
  const n = count(dims);
  if (t.data_location === 1 || (t.external_data?.length ?? 0) > 0) return 'its values are stored in an external file (only self-contained models are read)';
  const raw = t.raw_data && t.raw_data.length > 0 ? t.raw_data : null;
  const type = t.data_type ?? 0;
  const name = t.name ?? '';
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : null;
  const need = (bytes: number, listed: number | undefined) => {
    const have = raw ? raw.length : listed ?? 0;
    const want = raw ? n * bytes : n;
    if (have !== want) throw malformed(`${what} holds ${raw ? `${have} bytes` : `${have} values`} but its dims [${dims.join(', ')}] need ${want}`);
  };
  if (type === DataType.FLOAT) {
    need(4, t.float_data?.length);
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = view ? view.getFloat32(i * 4, true) : t.float_data![i]!;
    return { name, dims, values, ints: null };
  }
  if (type === DataType.DOUBLE) {
    need(8, t.double_data?.length);
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = view ? view.getFloat64(i * 8, true) : t.double_data![i]!;
    return { name, dims, values, ints: null };
  }
  if (type === DataType.INT64 || type === DataType.INT32 || type === DataType.BOOL || type === DataType.INT8 || type === DataType.UINT8) {
    const bytes = type === DataType.INT64 ? 8 : type === DataType.INT32 ? 4 : 1;
    need(bytes, type === DataType.INT64 ? t.int64_data?.length : t.int32_data?.length);
    const ints: number[] = [];
    for (let i = 0; i < n; i++) {
      if (!view) ints.push(Number(type === DataType.INT64 ? t.int64_data![i] : t.int32_data![i]));
      else if (bytes === 8) ints.push(Number(view.getBigInt64(i * 8, true)));
      else if (bytes === 4) ints.push(view.getInt32(i * 4, true));
      else ints.push(type === DataType.INT8 ? view.getInt8(i) : view.getUint8(i));
    }
    return { name, dims, values: Float32Array.from(ints), ints };
  }
  return `its element type ${type} is not supported (float32, float64 and integer tensors are)`;
}

/** The value of a Constant node (attribute value, value_float(s) or value_int(s)). */
function constantNodeValue(node: NodeProto, name: string): Constant | string {
  const attrs = node.attribute ?? [];
  if (attrs.length !== 1) return `a Constant needs exactly one value attribute, it has ${attrs.length}`;
  const a = attrs[0]!;
  switch (a.name) {
    case 'value':
      if (!a.t) throw malformed(`Constant '${name}' has no tensor in its value attribute`);
      return decodeTensor(a.t, `Constant '${name}'`);
    case 'value_float':
      return { name, dims: [], values: Float32Array.of(a.f ?? 0), ints: null };
    case 'value_floats':
      return { name, dims: [a.floats?.length ?? 0], values: Float32Array.from(a.floats ?? []), ints: null };
    case 'value_int':
      return { name, dims: [], values: Float32Array.of(a.i ?? 0), ints: [a.i ?? 0] };
    case 'value_ints':
      return { name, dims: [a.ints?.length ?? 0], values: Float32Array.from(a.ints ?? []), ints: [...(a.ints ?? [])] };
    default:
      return `Constant attribute '${a.name}' is not supported`;
  }
}

export function decodeModel(bytes: Uint8Array): ModelProto {
  if (!(bytes instanceof Uint8Array)) throw new OnnxError('malformed', `expected the model's bytes as a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`);
  if (bytes.length === 0) throw malformed('the file is empty');
  try {
    return decodeModelProto(bytes);
  } catch (e) {
    throw malformed(`the protobuf data cannot be read (${(e as Error).message}); the file is truncated or not an ONNX model (${bytes.length} bytes)`);
  }
}

export function readGraph(bytes: Uint8Array): Graph {
  const model = decodeModel(bytes);
  const g = model.graph;
  // Random bytes can parse as protobuf: insist on what every ONNX model has.
  if (!g || !(model.ir_version! > 0) || !(model.opset_import?.length)) {
    const missing = [!g && 'graph', !(model.ir_version! > 0) && 'IR version', !model.opset_import?.length && 'operator set'].filter(Boolean);
    throw malformed(`it has no ${missing.join(', no ')} (${bytes.length} bytes)`);
  }
  const problems: OnnxProblem[] = [];
  const defaultSet = model.opset_import.find((o) => !o.domain || o.domain === 'ai.onnx');
  const opset = defaultSet?.version ?? 0;
  if (!defaultSet) problems.push({ message: `the model imports no default (ai.onnx) operator set (imports: ${model.opset_import.map((o) => `${o.domain}:${o.version}`).join(', ')})` });
  else if (opset < MIN_OPSET || opset > MAX_OPSET) problems.push({ message: `operator set ${opset} is not supported (${MIN_OPSET} to ${MAX_OPSET} are)` });
  if ((g.sparse_initializer?.length ?? 0) > 0) problems.push({ message: 'sparse initializers are not supported' });

  const constants = new Map<string, Constant>();
  for (const [i, t] of (g.initializer ?? []).entries()) {
    const name = t.name ?? '';
    if (!name) throw malformed(`initializer ${i} has no name`);
    const c = decodeTensor(t, `initializer '${name}'`);
    if (typeof c === 'string') problems.push({ node: name, opType: 'initializer', message: c });
    else constants.set(name, c);
  }

  // Inputs listing an initializer (older exporters do that) are not model inputs.
  const realInputs = (g.input ?? []).filter((v) => !constants.has(v.name ?? ''));
  const outputs = g.output ?? [];
  if (realInputs.length === 0) throw malformed('the graph has no input');
  if (outputs.length === 0) throw malformed('the graph has no output');
  if (realInputs.length > 1) problems.push({ message: `the model has ${realInputs.length} inputs (${realInputs.map((v) => `'${v.name}'`).join(', ')}); only models with one input are supported` });
  if (outputs.length > 1) problems.push({ message: `the model has ${outputs.length} outputs (${outputs.map((v) => `'${v.name}'`).join(', ')}); only models with one output are supported` });
  const inputProto = realInputs[0]!;
  const inputName = inputProto.name ?? '';
  if (!inputName) throw malformed('the graph input has no name');
  const tt = inputProto.type?.tensor_type;
  const dims: Dim[] | null = tt?.shape?.dim ? tt.shape.dim.map((d) => (d.dim_value !== undefined && d.dim_value > 0 ? Number(d.dim_value) : d.dim_param ? d.dim_param : null)) : null;
  const elemType = tt?.elem_type ?? null;
  if (!tt) problems.push({ node: inputName, opType: 'input', message: 'the input is not a tensor' });
  else if (elemType !== DataType.FLOAT) problems.push({ node: inputName, opType: 'input', message: `the input's element type is ${elemType}; only float32 (1) inputs are supported` });

  // Nodes: Constant nodes become constants; names made unique for messages.
  const nodes: Node[] = [];
  const producer = new Map<string, Node>();
  const seenNames = new Set<string>();
  for (const [index, n] of (g.node ?? []).entries()) {
    const opType = n.op_type ?? '';
    if (!opType) throw malformed(`node ${index}${n.name ? ` '${n.name}'` : ''} has no operator type`);
    let name = n.name || `${opType}_${index}`;
    if (seenNames.has(name)) name = `${name}#${index}`;
    seenNames.add(name);
    const outputsOf = (n.output ?? []).filter((o) => o !== '');
    if (outputsOf.length === 0) throw malformed(`node '${name}' (${opType}) has no output`);
    const domain = n.domain ?? '';
    if (opType === 'Constant' && (domain === '' || domain === 'ai.onnx')) {
      const c = constantNodeValue(n, name);
      if (typeof c === 'string') problems.push({ node: name, opType, message: c });
      else constants.set(outputsOf[0]!, { ...c, name: outputsOf[0]! });
      continue;
    }
    const attrs = new Map<string, AttributeProto>();
    for (const a of n.attribute ?? []) {
      if (!a.name) throw malformed(`node '${name}' (${opType}) has an attribute without a name`);
      attrs.set(a.name, a);
    }
    const node: Node = { name, opType, domain, inputs: [...(n.input ?? [])], outputs: [...(n.output ?? [])], attrs, index };
    for (const o of outputsOf) {
      if (producer.has(o) || constants.has(o) || o === inputName) throw malformed(`value '${o}' is produced twice (again by node '${name}')`);
      producer.set(o, node);
    }
    nodes.push(node);
  }

  // Every read value must exist; order the nodes topologically (detects cycles).
  const known = (v: string) => v === '' || v === inputName || constants.has(v) || producer.has(v);
  for (const n of nodes) {
    for (const v of n.inputs) if (!known(v)) throw malformed(`node '${n.name}' (${n.opType}) reads '${v}', which no node, initializer or input provides`);
  }
  const output = outputs[0]!.name ?? '';
  if (!known(output) || output === '') throw malformed(`the graph output '${output}' is produced by nothing`);
  const ordered: Node[] = [];
  const state = new Map<Node, 1 | 2>();
  const visit = (n: Node) => {
    const s = state.get(n);
    if (s === 2) return;
    if (s === 1) throw malformed(`the graph has a cycle through node '${n.name}'`);
    state.set(n, 1);
    for (const v of n.inputs) {
      const p = producer.get(v);
      if (p) visit(p);
    }
    state.set(n, 2);
    ordered.push(n);
  };
  for (const n of nodes) visit(n);

  const consumers = new Map<string, Node[]>();
  for (const n of ordered) {
    for (const v of n.inputs) {
      if (v === '' || constants.has(v)) continue;
      let list = consumers.get(v);
      if (!list) consumers.set(v, (list = []));
      list.push(n);
    }
  }
  return { opset, constants, input: { name: inputName, dims, elemType }, output, nodes: ordered, producer, consumers, problems };
}

/** Attribute readers: the value, or the default when absent; a wrong type is a problem string. */
export const attr = {
  int(n: Node, name: string, dflt: number): number | string {
    const a = n.attrs.get(name);
    if (!a) return dflt;
    if (a.type !== undefined && a.type !== AttrType.INT) return `attribute ${name} should be an int`;
    return Number(a.i ?? 0);
  },
  float(n: Node, name: string, dflt: number): number | string {
    const a = n.attrs.get(name);
    if (!a) return dflt;
    if (a.type !== undefined && a.type !== AttrType.FLOAT) return `attribute ${name} should be a float`;
    return a.f ?? 0;
  },
  ints(n: Node, name: string): number[] | null | string {
    const a = n.attrs.get(name);
    if (!a) return null;
    if (a.type !== undefined && a.type !== AttrType.INTS) return `attribute ${name} should be a list of ints`;
    return (a.ints ?? []).map(Number);
  },
  string(n: Node, name: string, dflt: string): string {
    const a = n.attrs.get(name);
    return a?.s ? new TextDecoder().decode(a.s) : dflt;
  },
};
