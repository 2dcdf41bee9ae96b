/**
 * ONNX protobuf messages: decoding a model file and encoding one, through protobufjs and the
 * schema compiled from ONNX's own onnx.proto (onnx-schema.ts). Field names are the proto's
 * (snake_case); 64-bit integers come back as JS numbers.
 *
 * Only the parts wgprune reads or writes are typed here: a model, its graph, nodes with their
 * attributes, tensors (initializers and Constant values) and value infos with tensor shapes.
 */
import protobuf from 'protobufjs/light.js';
import { ONNX_SCHEMA } from './onnx-schema.js';

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11 } as const;

/** AttributeProto.AttributeType values. */
export const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

export interface TensorProto {
  dims?: number[];
  data_type?: number;
  name?: string;
  raw_data?: Uint8Array;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: number[];
  double_data?: number[];
  /** 1: EXTERNAL (values in another file). */
  data_location?: number;
  external_data?: Array<{ key?: string; value?: string }>;
}

export interface AttributeProto {
  name?: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProto;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
  /** Set when the attribute refers to a function's attribute (not a value). */
  ref_attr_name?: string;
  g?: unknown;
  graphs?: unknown[];
}

export interface NodeProto {
  input?: string[];
  output?: string[];
  name?: string;
  op_type?: string;
  domain?: string;
  attribute?: AttributeProto[];
}

export interface DimProto {
  dim_value?: number;
  dim_param?: string;
}

export interface TypeProto {
  tensor_type?: { elem_type?: number; shape?: { dim?: DimProto[] } };
}

export interface ValueInfoProto {
  name?: string;
  type?: TypeProto;
}

export interface GraphProto {
  node?: NodeProto[];
  name?: string;
  initializer?: TensorProto[];
  sparse_initializer?: unknown[];
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
  value_info?: ValueInfoProto[];
}

export interface OperatorSetIdProto {
  domain?: string;
  version?: number;
}

export interface ModelProto {
  ir_version?: number;
  opset_import?: OperatorSetIdProto[];
  producer_name?: string;
  producer_version?: string;
  domain?: string;
  model_version?: number;
  doc_string?: string;
  graph?: GraphProto;
  functions?: unknown[];
}

let modelType: protobuf.Type | null = null;

function ModelType(): protobuf.Type {
  if (!modelType) modelType = protobuf.Root.fromJSON(ONNX_SCHEMA as protobuf.INamespace).lookupType('onnx.ModelProto');
  return modelType;
}

/** Decodes ONNX model bytes; throws protobufjs's error for malformed or truncated data. */
export function decodeModelProto(bytes: Uint8Array): ModelProto {
  const T = ModelType();
  const msg = T.decode(bytes);
  return T.toObject(msg, { longs: Number, enums: Number, bytes: Uint8Array, defaults: false, arrays: true }) as ModelProto;
}

/** Encodes a model message (checked against the schema first). */
export function encodeModelProto(model: ModelProto): Uint8Array {
  const T = ModelType();
  const problem = T.verify(model);
  if (problem) throw new Error(`ONNX export: the model message is invalid (${problem})`);
  return T.encode(T.fromObject(model)).finish();
}

/** Little-endian bytes of float32 values (TensorProto.raw_data). */
export function float32Bytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return out;
}

/** A float32 initializer with its values in raw_data. */
export function floatTensorProto(name: string, dims: readonly number[], values: Float32Array): TensorProto {
  return { name, dims: [...dims], data_type: DataType.FLOAT, raw_data: float32Bytes(values) };
}

/** An int64 initializer (shapes, axes). */
export function int64TensorProto(name: string, dims: readonly number[], values: readonly number[]): TensorProto {
  return { name, dims: [...dims], data_type: DataType.INT64, int64_data: [...values] };
}
