/**
 * nn.fromOnnx: the PyTorch-exported fixtures (test/fixtures/onnx, written by
 * scripts/gen_onnx_fixtures.py) match PyTorch's outputs; hand-made graphs covering every
 * supported operator and attribute match ONNX Runtime; bad files are refused with clear
 * messages (not ONNX, truncated, unsupported operators all listed, unresolvable shapes) and
 * nothing is left allocated. CPU reference backend, one fixture on WebGPU.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Generator, init, memoryStats, noGrad, setBackend, shutdown, tensor } from '../engine/index.js';
import { runOnOrt } from '../measure/ort.js';
import { AvgPool2d, BatchNorm2d, Concat, Conv2d, fromOnnx, Identity, Linear, type Module, OnnxError, Residual, Sequential, Softmax } from '../nn/index.js';
import { a, fixtureBytes, floats, int64s, makeModel, node, onnxFixtures, relError } from './helpers/onnx.js';

beforeAll(async () => {
  await init({ backend: 'cpu' });
  setBackend('cpu');
});
afterAll(shutdown);

async function forward(model: Module, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const y = noGrad(() => model.forward(tensor(x, shape)));
  const v = await y.toArray();
  y.dispose();
  return v;
}

function randomInput(shape: number[], seed = 5): Float32Array {
  const g = new Generator(seed);
  return Float32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => g.normal());
}

/** The error `fn` throws (fails when it returns). */
function caught(fn: () => unknown): OnnxError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(OnnxError);
    return e as OnnxError;
  }
  return expect.fail('expected an OnnxError');
}

const fixtures = onnxFixtures();

describe('PyTorch fixtures', () => {
  it.each(Object.keys(fixtures))('%s matches PyTorch within 1e-5 (relative)', async (name) => {
    const f = fixtures[name]!;
    const imp = fromOnnx(fixtureBytes(name));
    expect(imp.opset).toBe(f.opset);
    expect(imp.inputShape).toEqual(f.input.shape.slice(1));
    expect(imp.outputShape).toEqual(f.output.shape.slice(1));
    expect(imp.batch).toBe('N');
    expect(imp.model.training).toBe(false);
    const y = await forward(imp.model, Float32Array.from(f.input.data), f.input.shape);
    expect(relError(y, f.output.data)).toBeLessThanOrEqual(1e-5);
    // Every parameter and buffer that came from the file names its initializer.
    const keys = [...imp.model.stateDict().keys()].filter((k) => !k.endsWith('num_batches_tracked'));
    expect(Object.keys(imp.names.params).sort()).toEqual(keys.sort());
    imp.model.dispose();
  });

  it('ONNX Runtime agrees with PyTorch on the fixtures (the files are what the tests think they are)', async () => {
    for (const [name, f] of Object.entries(fixtures)) {
      const out = await runOnOrt(fixtureBytes(name), Float32Array.from(f.input.data), f.input.shape);
      expect(relError(out.data, f.output.data), name).toBeLessThanOrEqual(1e-5);
    }
  });

  it('maps module keys back to the ONNX names (LeNet-5, MatMul + bias Add)', () => {
    const lenet = fromOnnx(fixtureBytes('lenet5'));
    expect(lenet.names.params).toMatchObject({ '0.weight': 'features.0.weight', '0.bias': 'features.0.bias', '7.weight': 'classifier.0.weight', '11.bias': 'classifier.6.bias' });
    expect(lenet.names.modules['0']).toEqual(['/features/features.0/Conv']);
    expect(lenet.names).toMatchObject({ input: 'input', output: 'output' });
    lenet.model.dispose();
    const cat = fromOnnx(fixtureBytes('concat'));
    const head = cat.model.at(-1) as Linear;
    expect(head).toBeInstanceOf(Linear);
    expect([head.inFeatures, head.outFeatures]).toEqual([10, 5]);
    expect(cat.names.modules[String(cat.model.length - 1)]).toEqual(['/MatMul', '/Add']);
    expect(cat.names.params[`${cat.model.length - 1}.bias`]).toBe('bias');
    expect(cat.model.at(0)).toBeInstanceOf(Concat);
    cat.model.dispose();
  });

  it('builds residual blocks: an identity shortcut and a 1x1 conv + BN projection (ResNet-style fixture)', () => {
    const { model, names } = fromOnnx(fixtureBytes('resnet'));
    const blocks = [...model].filter((m): m is Residual => m instanceof Residual);
    expect(blocks).toHaveLength(2);
    expect(blocks[0]!.shortcut).toBeNull();
    const proj = blocks[1]!.shortcut as Sequential;
    expect([...proj].map((m) => m.typeName())).toEqual(['Conv2d', 'BatchNorm2d']);
    expect((proj.at(0) as Conv2d).stride).toEqual([2, 2]);
    expect(names.params['5.shortcut.1.running_var']).toBe('layer2.shortcut.1.running_var');
    expect(names.modules['5']).toEqual(['/layer2/Add']);
    // GlobalAveragePool → a pooling over the whole 8x8 map; BN momentum in torch's convention.
    const gap = [...model].find((m) => m instanceof AvgPool2d) as AvgPool2d;
    expect(gap.kernelSize).toEqual([8, 8]);
    const bn = model.at(1) as BatchNorm2d;
    expect([bn.eps, bn.momentum]).toEqual([1e-5, 0.1]);
    model.dispose();
  });

  it('cifar-bn: Pad that pads nothing, BatchNorm in inference form, Softmax over classes', () => {
    const { model } = fromOnnx(fixtureBytes('cifar-bn'));
    const types = [...model].map((m) => m.typeName());
    expect(types.filter((t) => t === 'BatchNorm2d')).toHaveLength(3);
    expect(types).toContain('Identity');
    expect(model.at(-1)).toBeInstanceOf(Softmax);
    expect((model.at(-1) as Softmax).dim).toBe(1);
    model.dispose();
  });

  it('imports on WebGPU too (ResNet-style fixture within 1e-5 of PyTorch)', async () => {
    await init({ backend: 'webgpu' });
    try {
      const f = fixtures.resnet!;
      const { model } = fromOnnx(fixtureBytes('resnet'), { backend: 'webgpu' });
      setBackend('webgpu');
      const y = await forward(model, Float32Array.from(f.input.data), f.input.shape);
      expect(relError(y, f.output.data)).toBeLessThanOrEqual(1e-5);
      model.dispose();
    } finally {
      setBackend('cpu');
    }
  });
});

describe('hand-made graphs match ONNX Runtime', () => {
  const x4 = (c: number, h: number, w: number) => ({ dims: [2, c, h, w], shape: [2, c, h, w] });

  async function agree(bytes: Uint8Array, shape: number[], check?: (m: Sequential) => void): Promise<void> {
    const imp = fromOnnx(bytes);
    check?.(imp.model);
    const x = randomInput(shape);
    const ours = await forward(imp.model, x, shape);
    const ort = await runOnOrt(bytes, x, shape);
    expect([shape[0], ...imp.outputShape]).toEqual(ort.shape);
    expect(relError(ours, ort.data)).toBeLessThanOrEqual(1e-5);
    imp.model.dispose();
  }

  it('Conv: strides, pads, dilations, no bias, auto_pad SAME_UPPER / VALID', async () => {
    const { dims, shape } = x4(3, 11, 9);
    await agree(makeModel({
      dims,
      nodes: [
        node('c1', 'Conv', ['x', 'w1', 'b1'], ['h1'], [a.ints('strides', [2, 1]), a.ints('pads', [1, 2, 1, 2]), a.ints('dilations', [1, 2]), a.ints('kernel_shape', [3, 3]), a.int('group', 1)]),
        node('c2', 'Conv', ['h1', 'w2'], ['h2'], [a.string('auto_pad', 'SAME_UPPER')]),
        node('c3', 'Conv', ['h2', 'w3'], ['y'], [a.string('auto_pad', 'VALID')]),
      ],
      initializers: [floats('w1', [4, 3, 3, 3]), floats('b1', [4]), floats('w2', [5, 4, 3, 3]), floats('w3', [2, 5, 2, 2])],
    }), shape);
  });

  it('BatchNormalization (2-D and on features), Relu, Tanh, Sigmoid, Identity', async () => {
    const { dims, shape } = x4(3, 5, 5);
    const bn = (p: string, c: number) => [floats(`${p}s`, [c], (i) => 0.5 + 0.1 * i), floats(`${p}b`, [c]), floats(`${p}m`, [c]), floats(`${p}v`, [c], (i) => 0.5 + 0.2 * i)];
    await agree(makeModel({
      dims,
      nodes: [
        node('bn', 'BatchNormalization', ['x', 'as', 'ab', 'am', 'av'], ['h1'], [a.float('epsilon', 1e-3), a.float('momentum', 0.8)]),
        node('t', 'Tanh', ['h1'], ['h2']), node('i', 'Identity', ['h2'], ['h3']), node('f', 'Flatten', ['h3'], ['h4']),
        node('bn1', 'BatchNormalization', ['h4', 'bs', 'bb', 'bm', 'bv'], ['h5']),
        node('s', 'Sigmoid', ['h5'], ['h6']), node('r', 'Relu', ['h6'], ['y']),
      ],
      initializers: [...bn('a', 3), ...bn('b', 75)],
    }), shape, (m) => expect([...m].map((l) => l.typeName())).toEqual(['BatchNorm2d', 'Tanh', 'Identity', 'Flatten', 'BatchNorm1d', 'Sigmoid', 'ReLU']));
  });

  it('MaxPool and AveragePool (padding, strides, count_include_pad both ways), GlobalAveragePool', async () => {
    const { dims, shape } = x4(2, 9, 8);
    await agree(makeModel({
      dims,
      nodes: [
        node('mp', 'MaxPool', ['x'], ['h1'], [a.ints('kernel_shape', [3, 3]), a.ints('strides', [2, 2]), a.ints('pads', [1, 1, 1, 1])]),
        node('ap', 'AveragePool', ['h1'], ['h2'], [a.ints('kernel_shape', [3, 2]), a.ints('pads', [1, 1, 1, 1]), a.int('count_include_pad', 1)]),
        node('ap0', 'AveragePool', ['h2'], ['h3'], [a.ints('kernel_shape', [2, 2]), a.ints('pads', [1, 1, 1, 1])]),
        node('gap', 'GlobalAveragePool', ['h3'], ['y']),
      ],
    }), shape);
  });

  it('Gemm (transB 0, alpha, beta, broadcast bias), MatMul with a bias Add on either side, Dropout, Softmax', async () => {
    await agree(makeModel({
      dims: ['N', 6],
      nodes: [
        node('g', 'Gemm', ['x', 'w', 'c'], ['h1'], [a.float('alpha', 0.5), a.float('beta', 2)]),
        node('d', 'Dropout', ['h1', 'ratio'], ['h2']),
        node('mm', 'MatMul', ['h2', 'w2'], ['h3']), node('add', 'Add', ['b2', 'h3'], ['h4']),
        node('g2', 'Gemm', ['h4', 'w3', 'c3'], ['h5'], [a.int('transB', 1)]),
        node('sm', 'Softmax', ['h5'], ['y']),
      ],
      initializers: [floats('w', [6, 5]), floats('c', [1]), floats('ratio', [], () => 0.3), floats('w2', [5, 4]), floats('b2', [4]), floats('w3', [3, 4]), floats('c3', [1, 3])],
    }), [2, 6], (m) => expect([...m].map((l) => l.typeName())).toEqual(['Linear', 'Dropout', 'Linear', 'Linear', 'Softmax']));
  });

  it('Reshape to [N, -1] and [0, features], a Pad that pads nothing, channel Concat with an identity branch, Add', async () => {
    const { dims, shape } = x4(2, 4, 4);
    await agree(makeModel({
      dims,
      nodes: [
        node('pad', 'Pad', ['x', 'pads'], ['p']),
        node('c', 'Conv', ['p', 'w'], ['h1'], [a.ints('pads', [1, 1, 1, 1])]),
        node('cat', 'Concat', ['h1', 'p'], ['h2'], [a.int('axis', -3)]),
        node('c2', 'Conv', ['h2', 'w2'], ['h3'], [a.ints('pads', [1, 1, 1, 1])]),
        node('r', 'Relu', ['h2'], ['h4']),
        node('c3', 'Conv', ['h4', 'w2'], ['h5'], [a.ints('pads', [1, 1, 1, 1])]),
        node('add', 'Add', ['h3', 'h5'], ['h6']),
        node('rs', 'Reshape', ['h6', 'shape1'], ['h7']),
        node('rs2', 'Reshape', ['h7', 'shape2'], ['y']),
      ],
      initializers: [int64s('pads', [0, 0, 0, 0, 0, 0, 0, 0]), floats('w', [3, 2, 3, 3]), floats('w2', [2, 5, 3, 3]), int64s('shape1', [-1, 32]), int64s('shape2', [0, -1])],
    }), shape, (m) => {
      expect([...m].map((l) => l.typeName())).toEqual(['Identity', 'Concat', 'Residual', 'Flatten', 'Flatten']);
      const cat = m.at(1) as Concat;
      expect([...cat.namedChildren()][1]![1]).toBeInstanceOf(Identity);
    });
  });

  it('opset 11 (Softmax over the last axis, Dropout ratio attribute) and nested residual blocks', async () => {
    await agree(makeModel({
      opset: 11,
      dims: [2, 4],
      nodes: [
        node('g', 'Gemm', ['x', 'w', 'b'], ['h1'], [a.int('transB', 1)]),
        node('r1', 'Relu', ['h1'], ['h2']),
        node('g2', 'Gemm', ['h2', 'w', 'b'], ['h3'], [a.int('transB', 1)]),
        node('inner', 'Add', ['h3', 'h2'], ['h4']),
        node('outer', 'Add', ['h4', 'h1'], ['h5']),
        node('d', 'Dropout', ['h5'], ['h6'], [a.float('ratio', 0.2)]),
        node('sm', 'Softmax', ['h6'], ['y'], [a.int('axis', 1)]),
      ],
      initializers: [floats('w', [4, 4]), floats('b', [4])],
    }), [2, 4], (m) => {
      const outer = m.at(1) as Residual;
      expect(outer).toBeInstanceOf(Residual);
      expect((outer.body as Sequential).at(1)).toBeInstanceOf(Residual);
    });
  });
});

describe('refused input', () => {
  it('bytes that are not ONNX', () => {
    const inputs: Array<[string, Uint8Array]> = [
      ['empty', new Uint8Array(0)],
      ['text', new TextEncoder().encode('hello, this is not a model\n')],
      ['JSON', new TextEncoder().encode('{"__metadata__": {"model": "lenet5"}}')],
      ['random bytes', Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24)],
      ['PNG header', Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13)],
    ];
    for (const [what, bytes] of inputs) {
      const e = caught(() => fromOnnx(bytes));
      expect(e.kind, what).toBe('malformed');
      expect(e.message, what).toMatch(/^not a valid ONNX model: /);
      expect(e.exitCode).toBe(2);
    }
  });

  it('a truncated file, cut anywhere', () => {
    const full = fixtureBytes('lenet5');
    for (const n of [1, 2, 17, 100, 1000, 60_000, full.length >> 1, full.length - 200, full.length - 1]) {
      const e = caught(() => fromOnnx(full.subarray(0, n)));
      expect(e.kind, `${n} bytes`).toBe('malformed');
      expect(e.message, `${n} bytes`).toMatch(/not a valid ONNX model: .*(truncated|no graph|no IR version|no operator set|reads|produced by nothing|holds)/s);
    }
  });

  it('unsupported operators and attributes: one message lists every node', () => {
    const bytes = makeModel({
      dims: [1, 4, 8, 8],
      nodes: [
        node('grouped', 'Conv', ['x', 'w'], ['h1'], [a.int('group', 2)]),
        node('norm', 'LRN', ['h1'], ['h2'], [a.int('size', 3)]),
        node('leaky', 'Relu', ['h2'], ['h3'], [a.float('alpha', 0.1)]),
        node('ceil', 'MaxPool', ['h3'], ['h4'], [a.ints('kernel_shape', [2, 2]), a.ints('strides', [2, 2]), a.int('ceil_mode', 1), a.ints('pads', [0, 0, 1, 1])]),
        node('shape', 'Shape', ['h4'], ['s']),
        node('reshape', 'Reshape', ['h4', 's'], ['h5']),
        node('sub', 'Sub', ['h5', 'c'], ['y']),
      ],
      initializers: [floats('w', [4, 2, 3, 3]), floats('c', [1])],
    });
    const before = memoryStats('cpu');
    const e = caught(() => fromOnnx(bytes));
    expect(memoryStats('cpu')).toEqual(before);
    expect(e.kind).toBe('unsupported');
    const nodes = new Set(e.problems.map((p) => p.node));
    expect(nodes).toEqual(new Set(['grouped', 'norm', 'leaky', 'ceil', 'shape', 'reshape', 'sub']));
    for (const line of ["'grouped' (Conv): grouped convolution (group 2)", "'norm' (LRN): operator not supported", "'leaky' (Relu): attribute alpha is not supported",
      "'ceil' (MaxPool): asymmetric pads", "'shape' (Shape): operator not supported", "'reshape' (Reshape): its target shape ('s') is computed at run time", "'sub' (Sub): operator not supported"]) {
      expect(e.message).toContain(line);
    }
    expect(e.message.split('\n')[0]).toBe(`cannot import the ONNX model: ${e.problems.length} problem(s) in 7 node(s):`);
  });

  it('shapes the layers cannot take: broadcasting Add, Concat on a spatial axis, a Reshape that fixes the batch, Flatten axis 2', () => {
    const e = caught(() => fromOnnx(makeModel({
      dims: ['N', 2, 4, 4],
      nodes: [
        node('c', 'Conv', ['x', 'w'], ['h1']), node('c2', 'Conv', ['x', 'w1'], ['h2']),
        node('bcast', 'Add', ['h1', 'h2'], ['h3']),
        node('cat', 'Concat', ['h3', 'h3'], ['h4'], [a.int('axis', 2)]),
        node('fl', 'Flatten', ['h4'], ['h5'], [a.int('axis', 2)]),
        node('rs', 'Reshape', ['h1', 'shape'], ['y']),
      ],
      initializers: [floats('w', [2, 2, 1, 1]), floats('w1', [1, 2, 1, 1]), int64s('shape', [8, -1])],
    })));
    expect(e.kind).toBe('unsupported');
    expect(e.message).toContain("'bcast' (Add): its operands have shapes [N, 2, 4, 4] and [N, 1, 4, 4]; broadcasting is not supported");
    expect(e.message).toContain("'fl' (Flatten): axis 2 is not supported");
    expect(e.message).toContain("'rs' (Reshape)");
    expect(e.message).toContain('fixes the batch size to 8');
  });

  it('a dynamic shape nothing resolves; inputShape resolves it', () => {
    const bytes = makeModel({ dims: ['N', 3, 'height', 'width'], nodes: [node('c', 'Conv', ['x', 'w'], ['h']), node('g', 'GlobalAveragePool', ['h'], ['y'])], initializers: [floats('w', [2, 3, 3, 3])] });
    const e = caught(() => fromOnnx(bytes));
    expect(e.kind).toBe('dynamic-shape');
    expect(e.message).toContain("the input [N, 3, height, width] has dynamic dimensions (axis 2 is 'height', axis 3 is 'width')");
    expect(e.message).toContain('pass inputShape');
    const ok = fromOnnx(bytes, { inputShape: [3, 10, 12] });
    expect(ok.outputShape).toEqual([2, 1, 1]);
    ok.model.dispose();
    expect(caught(() => fromOnnx(bytes, { inputShape: [4, 10, 12] })).message).toContain('does not match the file\'s input [N, 3, height, width]');
  });

  it('a topology that is not nested blocks (a dead branch; branches crossing) is refused whole', () => {
    const dead = caught(() => fromOnnx(makeModel({ dims: [1, 4], nodes: [node('r1', 'Relu', ['x'], ['y']), node('r2', 'Relu', ['x'], ['z'])] })));
    expect(dead.kind).toBe('unsupported');
    expect(dead.message).toMatch(/never meet again/);
    const cross = caught(() => fromOnnx(makeModel({
      dims: [1, 4],
      nodes: [node('r1', 'Relu', ['x'], ['a']), node('r2', 'Tanh', ['x'], ['b']), node('add1', 'Add', ['a', 'b'], ['c']), node('add2', 'Add', ['c', 'a'], ['y'])],
    })));
    expect(cross.message).toMatch(/'add\d'/);
  });

  it('the model file generator for the schema is in sync with the shipped onnx.proto', () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const r = spawnSync(process.execPath, ['scripts/gen_onnx_schema.mjs', '--check'], { cwd: root, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
