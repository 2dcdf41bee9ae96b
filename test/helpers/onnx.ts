/** Helpers for the ONNX tests: the committed PyTorch fixtures and a small graph builder for hand-made models. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AttrType, type AttributeProto, DataType, encodeModelProto, floatTensorProto, int64TensorProto, type NodeProto, type TensorProto } from '../../nn/onnx/proto.js';

export const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/onnx/', import.meta.url));

export interface OnnxFixture {
  file: string;
  opset: number;
  input: { shape: number[]; data: number[] };
  output: { shape: number[]; data: number[] };
}

export function onnxFixtures(): Record<string, OnnxFixture> {
  return JSON.parse(readFileSync(`${FIXTURE_DIR}outputs.json`, 'utf8'));
}

export function fixtureBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(`${FIXTURE_DIR}${name}.onnx`));
}

/** Attribute shorthands for hand-made nodes. */
export const a = {
  int: (name: string, i: number): AttributeProto => ({ name, type: AttrType.INT, i }),
  ints: (name: string, ints: number[]): AttributeProto => ({ name, type: AttrType.INTS, ints }),
  float: (name: string, f: number): AttributeProto => ({ name, type: AttrType.FLOAT, f }),
  string: (name: string, s: string): AttributeProto => ({ name, type: AttrType.STRING, s: new TextEncoder().encode(s) }),
};

export const node = (name: string, op: string, input: string[], output: string[], attribute: AttributeProto[] = []): NodeProto => ({ name, op_type: op, input, output, attribute });

export const floats = (name: string, dims: number[], f: (i: number) => number = (i) => Math.sin(i + 1) * 0.3): TensorProto =>
  floatTensorProto(name, dims, Float32Array.from({ length: dims.reduce((x, y) => x * y, 1) }, (_, i) => f(i)));

export const int64s = (name: string, values: number[]): TensorProto => int64TensorProto(name, [values.length], values);

/** A one-input, one-output model; `dims` of the input with the batch axis (numbers or symbolic names). */
export function makeModel(o: { nodes: NodeProto[]; initializers?: TensorProto[]; input?: string; output?: string; dims: Array<number | string>; opset?: number }): Uint8Array {
  const dim = (d: number | string) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d });
  return encodeModelProto({
    ir_version: 8,
    opset_import: [{ domain: '', version: o.opset ?? 13 }],
    producer_name: 'wgprune-test',
    graph: {
      name: 'test',
      node: o.nodes,
      initializer: o.initializers ?? [],
      input: [{ name: o.input ?? 'x', type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim: o.dims.map(dim) } } } }],
      output: [{ name: o.output ?? 'y', type: { tensor_type: { elem_type: DataType.FLOAT } } }],
    },
  });
}

/** max |a − b| / max |b|. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relError: lengths ${a.length} and ${b.length} differ`);
  let scale = 0, worst = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  }
  return scale > 0 ? worst / scale : worst;
}
