/**
 * nn.toOnnx → ONNX Runtime (onnxruntime-node, CPU) and back through nn.fromOnnx: every module the
 * exporter writes, LeNet-5, mnist-cnn2, Conv-4 and a residual CNN — dense, masked (pruning made
 * permanent) and compacted — give ONNX Runtime the model's own outputs within 1e-5 (relative);
 * the PyTorch ResNet-style fixture imports, prunes by filters, compacts and exports; names in
 * the file are the model's keys; what cannot be exported is refused in one message. CPU backend.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Generator, init, noGrad, setBackend, shutdown, tensor } from '../engine/index.js';
import { runOnOrt } from '../measure/ort.js';
import {
  AvgPool2d, BatchNorm1d, BatchNorm2d, Concat, Conv2d, countParameters, createModel, Dropout, Flatten, fromOnnx, fuseForInference, Identity, Linear,
  MaxPool2d, type Module, OnnxError, ReLU, Residual, Sequential, Sigmoid, Softmax, Tanh, toOnnx, toSparse,
} from '../nn/index.js';
import { decodeModelProto } from '../nn/onnx/proto.js';
import { compact, l1Unstructured, prune } from '../pruning/index.js';
import { randomizeBatchNorms } from './helpers/compact.js';
import { fixtureBytes, relError } from './helpers/onnx.js';

beforeAll(async () => {
  await init({ backend: 'cpu' });
  setBackend('cpu');
});
afterAll(shutdown);

function randomInput(shape: number[], seed = 11): Float32Array {
  const g = new Generator(seed);
  return Float32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => g.normal());
}

async function forward(model: Module, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const y = noGrad(() => model.forward(tensor(x, shape)));
  const v = await y.toArray();
  y.dispose();
  return v;
}

interface RoundTripOptions {
  batch?: number;
  opset?: number;
  /** Also import the file back and run it (default true; Conv-4 on the CPU reference backend takes seconds per forward). */
  reimport?: boolean;
}

/**
 * Exports `model`, runs the file on ONNX Runtime and imports it back: both must give the model's
 * outputs (1e-5 relative). Returns the bytes.
 */
async function roundTrip(model: Module, inputShape: number[], { batch = 2, opset, reimport = true }: RoundTripOptions = {}): Promise<Uint8Array> {
  model.eval();
  const bytes = await toOnnx(model, { inputShape, opset });
  const shape = [batch, ...inputShape];
  const x = randomInput(shape);
  const ours = await forward(model, x, shape);
  const ort = await runOnOrt(bytes, x, shape);
  expect(relError(ort.data, ours), 'ONNX Runtime vs the model').toBeLessThanOrEqual(1e-5);
  if (reimport) {
    const back = fromOnnx(bytes);
    expect(relError(await forward(back.model, x, shape), ours), 'fromOnnx(toOnnx(model)) vs the model').toBeLessThanOrEqual(1e-6);
    back.model.dispose();
  }
  return bytes;
}

const conv = (i: number, o: number, k: number, g: Generator, o2: { stride?: number; bias?: boolean } = {}) =>
  new Conv2d(i, o, k, { padding: (k - 1) / 2, stride: o2.stride ?? 1, bias: o2.bias ?? false, generator: g });

/** A small ResNet: stem, an identity-shortcut block, a projection-shortcut block, global pool, head. Input [3, 8, 8]. */
function resnet(seed = 1): Sequential {
  const g = new Generator(seed);
  const m = new Sequential(
    ['stem', new Sequential(conv(3, 8, 3, g), new BatchNorm2d(8), new ReLU())],
    ['block1', new Residual(new Sequential(conv(8, 8, 3, g), new BatchNorm2d(8), new ReLU(), conv(8, 8, 3, g), new BatchNorm2d(8)))],
    ['relu1', new ReLU()],
    ['block2', new Residual(
      new Sequential(conv(8, 16, 3, g, { stride: 2 }), new BatchNorm2d(16), new ReLU(), conv(16, 16, 3, g), new BatchNorm2d(16)),
      new Sequential(conv(8, 16, 1, g, { stride: 2 }), new BatchNorm2d(16)),
    )],
    ['relu2', new ReLU()],
    ['pool', new AvgPool2d(4)],
    ['flatten', new Flatten()],
    ['fc', new Linear(16, 10, { generator: g })],
  );
  randomizeBatchNorms(m);
  return m;
}

describe('every exported module runs on ONNX Runtime and imports back', () => {
  it('Conv2d (stride, padding, dilation, rectangular kernel, with and without bias), BatchNorm2d, pooling, activations', async () => {
    const g = new Generator(2);
    const m = new Sequential(
      new Conv2d(3, 6, 3, { stride: 2, padding: 1, generator: g }), new BatchNorm2d(6), new ReLU(),
      new Conv2d(6, 6, 3, { dilation: 2, padding: 2, bias: false, generator: g }), new Tanh(),
      new Conv2d(6, 4, [3, 1], { padding: [1, 0], generator: g }), new Sigmoid(),
      new MaxPool2d(3, { stride: 2, padding: 1 }),
      new AvgPool2d(2, { stride: 1, padding: 1 }),
      new AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }),
      new Identity(), new Dropout(0.3), new Flatten(),
    );
    randomizeBatchNorms(m);
    await roundTrip(m, [3, 13, 11]);
  });

  it('Linear, BatchNorm1d, Dropout, Softmax', async () => {
    const g = new Generator(3);
    const m = new Sequential(new Linear(12, 16, { generator: g }), new BatchNorm1d(16), new ReLU(), new Dropout(0.5), new Linear(16, 5, { bias: false, generator: g }), new Softmax(1));
    randomizeBatchNorms(m);
    await roundTrip(m, [12], { batch: 3 });
  });

  it('Residual (identity and projection shortcuts) and Concat (with an identity branch)', async () => {
    const g = new Generator(4);
    const m = new Sequential(
      new Residual(new Sequential(conv(4, 4, 3, g), new ReLU(), conv(4, 4, 3, g))),
      new Concat(new Sequential(conv(4, 6, 1, g, { bias: true }), new ReLU()), new Identity(), new MaxPool2d(3, { stride: 1, padding: 1 })),
      new Residual(new Sequential(conv(14, 8, 3, g)), new Sequential(conv(14, 8, 1, g))),
      new Flatten(), new Linear(8 * 36, 3, { generator: g }),
    );
    await roundTrip(m, [4, 6, 6]);
  });

  it('fused layers (fuseForInference: BN folded, ReLU and max pooling in the conv, ReLU in the linear)', async () => {
    const model = createModel('lenet5', { seed: 4 }).eval();
    const fused = fuseForInference(model);
    expect((fused.child('features')!.child('0') as Conv2d).maxPool).not.toBeNull();
    const bytes = await roundTrip(fused, [1, 28, 28]);
    const names = decodeModelProto(bytes).graph!.node!.map((n) => n.name);
    expect(names).toEqual(expect.arrayContaining(['features.0', 'features.0:relu', 'features.0:maxpool', 'classifier.0:relu']));
  });

  it('operator sets 13, 17 and 21', async () => {
    const m = resnet(5);
    for (const opset of [13, 17, 21]) {
      const bytes = await roundTrip(m, [3, 8, 8], { opset });
      expect(decodeModelProto(bytes).opset_import).toEqual([{ domain: '', version: opset }]);
    }
  });
});

describe('models: dense, masked and compacted', () => {
  // Conv-4 runs at batch 1 and is imported back only once compacted: seconds per forward on the CPU reference backend.
  const cases: Array<[string, () => Module, number[], RoundTripOptions]> = [
    ['lenet5', () => createModel('lenet5', { seed: 1, dropout: 0.5 }), [1, 28, 28], {}],
    ['mnist-cnn2', () => createModel('mnist-cnn2', { seed: 1 }), [1, 28, 28], {}],
    ['conv4', () => { const m = createModel('conv4', { seed: 1 }); randomizeBatchNorms(m); return m; }, [3, 32, 32], { batch: 1, reimport: false }],
    ['residual CNN', () => resnet(6), [3, 8, 8], {}],
  ];

  it.each(cases)('%s', async (_name, make, inputShape, o) => {
    const model = make();
    const dense = await roundTrip(model, inputShape, o);
    // The file's names are the model's keys (plus each Dropout's ratio); the batch axis is symbolic.
    const graph = decodeModelProto(dense).graph!;
    const params = graph.initializer!.map((t) => t.name!).filter((n) => !n.endsWith('.ratio'));
    expect(params.sort()).toEqual([...model.stateDict().keys()].filter((k) => !k.endsWith('num_batches_tracked')).sort());
    expect(graph.input![0]!.type!.tensor_type!.shape!.dim![0]).toEqual({ dim_param: 'N' });

    await prune(model, { granularity: 'filter', criterion: 'l1', sparsity: 0.5 });
    const masked = await roundTrip(model, inputShape, o);
    const maskedGraph = decodeModelProto(masked).graph!;
    // Pruning made permanent: the effective weights under the plain keys, no masks in the file.
    expect(maskedGraph.initializer!.map((t) => t.name).sort()).toEqual(graph.initializer!.map((t) => t.name).sort());
    expect(masked.length).toBe(dense.length);

    const small = await compact(model, { inputShape });
    const compacted = await roundTrip(small, inputShape, { ...o, reimport: true });
    expect(countParameters(small)).toBeLessThan(countParameters(model) * 0.75);
    expect(compacted.length).toBeLessThan(dense.length * 0.75);
    model.dispose();
    small.dispose();
  });
});

it('the PyTorch ResNet-style fixture: import, prune filters, compact, export; ONNX Runtime gives the compacted model\'s outputs', async () => {
  const { model, inputShape } = fromOnnx(fixtureBytes('resnet'));
  await prune(model, { granularity: 'filter', criterion: 'l1', sparsity: 0.5 });
  const small = await compact(model, { inputShape });
  expect(countParameters(small)).toBeLessThan(countParameters(model));
  const shape = [3, ...inputShape];
  const x = randomInput(shape, 21);
  const masked = await forward(model, x, shape);
  const ours = await forward(small, x, shape);
  expect(relError(ours, masked)).toBeLessThanOrEqual(1e-5);
  const bytes = await toOnnx(small, { inputShape });
  const ort = await runOnOrt(bytes, x, shape);
  expect(relError(ort.data, ours)).toBeLessThanOrEqual(1e-5);
  model.dispose();
  small.dispose();
});

it('the PyTorch CIFAR fixture (BatchNorm, Softmax head) compacts: the Softmax keeps the classes it normalises over', async () => {
  const { model, inputShape } = fromOnnx(fixtureBytes('cifar-bn'));
  await prune(model, { granularity: 'filter', criterion: 'l1', sparsity: 0.5 });
  const small = await compact(model, { inputShape });
  expect(countParameters(small)).toBeLessThan(countParameters(model));
  const bytes = await roundTrip(small, inputShape);
  expect(fromOnnx(bytes).outputShape).toEqual([10]);
  model.dispose();
  small.dispose();
});

describe('export options and refusals', () => {
  it('a fixed batch size, custom input/output names', async () => {
    const m = createModel('mnist-cnn2', { seed: 2 });
    const bytes = await toOnnx(m, { inputShape: [1, 28, 28], batch: 3, inputName: 'images', outputName: 'logits' });
    const g = decodeModelProto(bytes).graph!;
    expect(g.input![0]!.name).toBe('images');
    expect(g.output![0]!.name).toBe('logits');
    expect(g.input![0]!.type!.tensor_type!.shape!.dim!.map((d) => d.dim_value)).toEqual([3, 1, 28, 28]);
    expect(g.output![0]!.type!.tensor_type!.shape!.dim!.map((d) => d.dim_value)).toEqual([3, 10]);
    const x = randomInput([3, 1, 28, 28]);
    expect(relError((await runOnOrt(bytes, x, [3, 1, 28, 28])).data, await forward(m, x, [3, 1, 28, 28]))).toBeLessThanOrEqual(1e-5);
  });

  it('refuses bad options', async () => {
    const m = createModel('lenet300', { seed: 0 });
    await expect(toOnnx(m, { inputShape: [] })).rejects.toThrow(/inputShape must be one sample's shape/);
    await expect(toOnnx(m, { inputShape: [784], opset: 12 })).rejects.toThrow(/opset must be an integer from 13 to 22/);
    await expect(toOnnx(m, { inputShape: [784], batch: 0 })).rejects.toThrow(/batch must be a positive integer/);
  });

  it('modules it cannot write are all listed in one OnnxError', async () => {
    const g = new Generator(1);
    const dense = new Sequential(new Flatten(), new Linear(16, 4, { generator: g }));
    await l1Unstructured(dense.at(1), 'weight', 0.5);
    const sparse = await toSparse(dense, { format: 'csr' });
    const m = new Sequential(
      ['bn', new BatchNorm2d(1, { trackRunningStats: false })],
      ['flat', new Flatten(2)],
      ['head', sparse],
    );
    const e = await toOnnx(m, { inputShape: [1, 4, 4] }).then(() => null, (err: unknown) => err);
    expect(e).toBeInstanceOf(OnnxError);
    const err = e as OnnxError;
    expect(err.kind).toBe('unsupported');
    expect(err.problems.map((p) => p.node)).toEqual(['bn', 'flat', 'head.1']);
    expect(err.message).toContain("'bn' (BatchNorm2d): it keeps no running statistics");
    expect(err.message).toContain("'flat' (Flatten): startDim 2");
    expect(err.message).toMatch(/'head\.1' \(SparseLinear\): .*export the dense \(masked\) or compacted model/);
  });
});
