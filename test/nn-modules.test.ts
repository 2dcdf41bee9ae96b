/**
 * nn modules: WebGPU vs the CPU reference (same seed → same initial weights on
 * both), state-dict naming and loading, train/eval behaviour, initialisation
 * statistics, the pruning hook point and the models' parameter counts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../index.js';
import * as nn from '../nn/index.js';
import { expectClose, initBoth, on, shutdown } from './helpers/backends.js';

beforeAll(initBoth);
afterAll(shutdown);

type Backend = 'cpu' | 'webgpu';

function randomData(n: number, seed: number): Float32Array {
  const g = new wg.Generator(seed);
  return Float32Array.from({ length: n }, () => g.normal());
}

interface ModuleRun {
  out: Float64Array;
  shape: readonly number[];
  inputGrad: Float64Array | null;
  paramGrads: Map<string, Float64Array>;
  state: Map<string, Float64Array>;
}

/**
 * Builds the module on `backend` (its constructor draws from a fresh generator
 * with `seed`), runs forward on a seeded input and backward with a seeded upstream
 * gradient, and reads the output, the gradients and the state dict after the step.
 */
async function runModule(backend: Backend, build: (g: wg.Generator) => nn.Module, inputShape: number[], options: { seed?: number; train?: boolean } = {}): Promise<ModuleRun> {
  const { seed = 1, train = true } = options;
  wg.setBackend(backend);
  const m = build(new wg.Generator(seed));
  m.train(train);
  const x = wg.tensor(randomData(inputShape.reduce((p, d) => p * d, 1), seed + 100), inputShape, { requiresGrad: true });
  const y = m.forward(x);
  const out = await y.toFloat64Array();
  const up = wg.tensor(randomData(y.size, seed + 200), y.shape);
  y.backward(up);
  const paramGrads = new Map<string, Float64Array>();
  for (const [name, p] of m.namedParameters()) if (p.grad) paramGrads.set(name, await p.grad.toFloat64Array());
  const state = new Map<string, Float64Array>();
  for (const [name, t] of m.stateDict()) state.set(name, await t.toFloat64Array());
  const result = { out, shape: y.shape, inputGrad: x.grad ? await x.grad.toFloat64Array() : null, paramGrads, state };
  y.dispose();
  up.dispose();
  x.dispose();
  m.dispose();
  return result;
}

async function expectModuleParity(build: (g: wg.Generator) => nn.Module, inputShape: number[], options: { seed?: number; train?: boolean; rtol?: number; atol?: number } = {}): Promise<ModuleRun> {
  const tol = { rtol: options.rtol ?? 1e-4, atol: options.atol ?? 1e-4 };
  const cpu = await runModule('cpu', build, inputShape, options);
  const gpu = await runModule('webgpu', build, inputShape, options);
  expect(gpu.shape).toEqual(cpu.shape);
  expectClose(gpu.out, cpu.out, tol, 'forward');
  expect(gpu.inputGrad === null).toBe(cpu.inputGrad === null);
  if (cpu.inputGrad) expectClose(gpu.inputGrad!, cpu.inputGrad, tol, 'input grad');
  expect([...gpu.paramGrads.keys()]).toEqual([...cpu.paramGrads.keys()]);
  for (const [k, g] of cpu.paramGrads) expectClose(gpu.paramGrads.get(k)!, g, tol, `grad of ${k}`);
  expect([...gpu.state.keys()]).toEqual([...cpu.state.keys()]);
  for (const [k, v] of cpu.state) expectClose(gpu.state.get(k)!, v, tol, `state ${k}`);
  return cpu;
}

describe('layers on WebGPU match the CPU reference (forward and backward)', () => {
  it('Linear, with and without bias', async () => {
    const r = await expectModuleParity((g) => new nn.Linear(7, 5, { generator: g }), [4, 7]);
    expect([...r.paramGrads.keys()]).toEqual(['weight', 'bias']);
    const r2 = await expectModuleParity((g) => new nn.Linear(7, 5, { bias: false, generator: g }), [2, 3, 7]);
    expect(r2.shape).toEqual([2, 3, 5]);
    expect([...r2.paramGrads.keys()]).toEqual(['weight']);
  });

  it('Conv2d with stride, padding and dilation', async () => {
    const r = await expectModuleParity((g) => new nn.Conv2d(3, 4, 3, { stride: 2, padding: 1, generator: g }), [2, 3, 9, 9]);
    expect(r.shape).toEqual([2, 4, 5, 5]);
    await expectModuleParity((g) => new nn.Conv2d(2, 3, [3, 2], { dilation: [2, 1], bias: false, generator: g }), [1, 2, 8, 7]);
  });

  it('BatchNorm2d and BatchNorm1d in training mode (running statistics updated alike)', async () => {
    const r = await expectModuleParity(() => new nn.BatchNorm2d(3), [4, 3, 5, 5], { rtol: 1e-3, atol: 1e-4 });
    expect([...r.state.keys()]).toEqual(['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
    expect(r.state.get('num_batches_tracked')![0]).toBe(1);
    await expectModuleParity(() => new nn.BatchNorm1d(6), [8, 6], { rtol: 1e-3, atol: 1e-4 });
  });

  it('BatchNorm2d in eval mode uses the running statistics', async () => {
    await expectModuleParity(() => new nn.BatchNorm2d(3, { momentum: 0.3 }), [2, 3, 4, 4], { train: false });
  });

  it('pooling, activations, Flatten and Dropout', async () => {
    expect((await expectModuleParity(() => new nn.MaxPool2d(2), [2, 3, 6, 6])).shape).toEqual([2, 3, 3, 3]);
    expect((await expectModuleParity(() => new nn.AvgPool2d(3, { stride: 2, padding: 1 }), [1, 2, 7, 7])).shape).toEqual([1, 2, 4, 4]);
    await expectModuleParity(() => new nn.ReLU(), [3, 5]);
    await expectModuleParity(() => new nn.Tanh(), [3, 5]);
    await expectModuleParity(() => new nn.Sigmoid(), [3, 5]);
    expect((await expectModuleParity(() => new nn.Flatten(), [2, 3, 4, 5])).shape).toEqual([2, 60]);
    // Same generator seed → same mask on both backends.
    const d = await expectModuleParity((g) => new nn.Dropout(0.5, { generator: g }), [10, 20]);
    const zeros = d.out.filter((v) => v === 0).length;
    expect(zeros).toBeGreaterThan(60);
    expect(zeros).toBeLessThan(140);
  });

  it('Sequential of mixed layers', async () => {
    const r = await expectModuleParity(
      (g) => new nn.Sequential(new nn.Conv2d(1, 4, 3, { padding: 1, generator: g }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(64, 3, { generator: g })),
      [3, 1, 8, 8],
      { rtol: 1e-3, atol: 1e-4 },
    );
    expect(r.shape).toEqual([3, 3]);
    expect([...r.paramGrads.keys()]).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '5.weight', '5.bias']);
  });

  it.each(['lenet300', 'lenet5', 'mnist-cnn2'])('model %s', async (name) => {
    const r = await expectModuleParity(() => nn.createModel(name, { seed: 7 }), [4, 1, 28, 28], { rtol: 1e-3, atol: 1e-4 });
    expect(r.shape).toEqual([4, 10]);
  });

  it('model conv4 (CIFAR-shaped input, batch norm): forward in eval mode', async () => {
    // Full backward of this 2.4M-parameter model takes seconds on llvmpipe; its layers' backward is covered above.
    const forward = async (backend: Backend) => {
      const m = nn.createModel('conv4', { seed: 7, backend }).eval();
      const x = wg.tensor(randomData(3 * 32 * 32, 5), [1, 3, 32, 32], { backend });
      const y = m.forward(x);
      const out = await y.toFloat64Array();
      expect(y.shape).toEqual([1, 10]);
      m.dispose();
      return out;
    };
    expectClose(await forward('webgpu'), await forward('cpu'), { rtol: 1e-3, atol: 1e-4 }, 'conv4 logits');
  });
});

describe('initialisation', () => {
  it('the same seed gives the same initial weights on both backends; another seed differs', async () => {
    const read = async (backend: Backend, seed: number) => {
      const m = nn.createModel('lenet5', { seed, backend });
      const out = new Map<string, Float32Array>();
      for (const [k, t] of m.stateDict()) out.set(k, await t.toArray());
      m.dispose();
      return out;
    };
    const [cpu, gpu, other] = [await read('cpu', 3), await read('webgpu', 3), await read('cpu', 4)];
    for (const [k, v] of cpu) expect(gpu.get(k), k).toEqual(v);
    expect(other.get('features.0.weight')).not.toEqual(cpu.get('features.0.weight'));
  });

  it('Linear and Conv2d follow PyTorch: U(±1/√fan_in) for weight and bias', async () => {
    on('cpu', () => undefined);
    const lin = new nn.Linear(400, 300, { generator: new wg.Generator(1) });
    const w = await lin.parameter('weight')!.toArray();
    const b = await lin.parameter('bias')!.toArray();
    const bound = 1 / Math.sqrt(400);
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.99 * bound);
    expect(Math.max(...b.map(Math.abs))).toBeLessThanOrEqual(bound);
    const mean = w.reduce((s, v) => s + v, 0) / w.length;
    const variance = w.reduce((s, v) => s + (v - mean) ** 2, 0) / w.length;
    expect(Math.abs(mean)).toBeLessThan(0.01 * bound * 3);
    expect(variance).toBeCloseTo(bound ** 2 / 3, 5);
    lin.dispose();
    const conv = new nn.Conv2d(16, 8, 5, { generator: new wg.Generator(2) });
    const cw = await conv.parameter('weight')!.toArray();
    const cb = 1 / Math.sqrt(16 * 25);
    expect(Math.max(...cw.map(Math.abs))).toBeLessThanOrEqual(cb);
    expect(Math.max(...cw.map(Math.abs))).toBeGreaterThan(0.98 * cb);
    conv.dispose();
  });

  it('kaimingNormal, kaimingUniform(relu), xavierUniform, constants; fan computation', async () => {
    on('cpu', () => undefined);
    expect(nn.init.fans([8, 4, 3, 3])).toEqual({ fanIn: 36, fanOut: 72 });
    expect(nn.init.calculateGain('leaky_relu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 12);
    const t = wg.zeros([200, 500]);
    nn.init.kaimingNormal(t, { nonlinearity: 'relu', generator: new wg.Generator(5) });
    const v = await t.toArray();
    const std = Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
    expect(std).toBeCloseTo(Math.sqrt(2 / 500), 3);
    nn.init.kaimingUniform(t, { nonlinearity: 'relu', mode: 'fanOut', generator: new wg.Generator(5) });
    expect(Math.max(...(await t.toArray()).map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(2) * Math.sqrt(3 / 200));
    nn.init.xavierUniform(t, 1, { generator: new wg.Generator(6) });
    const xb = Math.sqrt(6 / 700);
    const xv = await t.toArray();
    expect(Math.max(...xv.map(Math.abs))).toBeLessThanOrEqual(xb);
    expect(Math.max(...xv.map(Math.abs))).toBeGreaterThan(0.99 * xb);
    nn.init.ones(t);
    expect((await t.toArray()).every((x) => x === 1)).toBe(true);
    t.dispose();
  });

  it('BatchNorm starts at weight 1, bias 0, running mean 0, running var 1', async () => {
    on('cpu', () => undefined);
    const bn = new nn.BatchNorm2d(3);
    const s = bn.stateDict();
    expect([...(await s.get('weight')!.toArray())]).toEqual([1, 1, 1]);
    expect([...(await s.get('bias')!.toArray())]).toEqual([0, 0, 0]);
    expect([...(await s.get('running_mean')!.toArray())]).toEqual([0, 0, 0]);
    expect([...(await s.get('running_var')!.toArray())]).toEqual([1, 1, 1]);
    expect(s.get('num_batches_tracked')!.shape).toEqual([]);
    const plain = new nn.BatchNorm2d(3, { affine: false, trackRunningStats: false });
    expect([...plain.stateDict().keys()]).toEqual([]);
    bn.dispose();
  });
});

describe('state dict', () => {
  const keys = (m: nn.Module) => [...m.stateDict()].map(([k, t]) => `${k} [${t.shape.join(',')}]`);

  it('names and orders keys as PyTorch does, for every model', () => {
    on('cpu', () => undefined);
    const lenet300 = nn.createModel('lenet300');
    expect(keys(lenet300)).toEqual([
      'classifier.0.weight [300,784]', 'classifier.0.bias [300]', 'classifier.2.weight [100,300]', 'classifier.2.bias [100]',
      'classifier.4.weight [10,100]', 'classifier.4.bias [10]',
    ]);
    const lenet5 = nn.createModel('lenet5', { dropout: 0.5 });
    expect(keys(lenet5)).toEqual([
      'features.0.weight [6,1,5,5]', 'features.0.bias [6]', 'features.3.weight [16,6,5,5]', 'features.3.bias [16]',
      'classifier.0.weight [120,400]', 'classifier.0.bias [120]', 'classifier.3.weight [84,120]', 'classifier.3.bias [84]',
      'classifier.6.weight [10,84]', 'classifier.6.bias [10]',
    ]);
    expect(keys(nn.createModel('lenet5'))).toEqual(keys(lenet5));
    expect(keys(nn.createModel('mnist-cnn2'))).toEqual(['features.0.weight [8,1,3,3]', 'features.2.weight [4,8,3,3]', 'classifier.0.weight [10,576]', 'classifier.0.bias [10]']);
    const conv4 = keys(nn.createModel('conv4'));
    expect(conv4.slice(0, 6)).toEqual([
      'features.0.weight [64,3,3,3]', 'features.1.weight [64]', 'features.1.bias [64]', 'features.1.running_mean [64]',
      'features.1.running_var [64]', 'features.1.num_batches_tracked []',
    ]);
    expect(conv4.filter((k) => k.includes('weight [')).map((k) => k.split(' ')[0])).toEqual([
      'features.0.weight', 'features.1.weight', 'features.3.weight', 'features.4.weight', 'features.7.weight', 'features.8.weight',
      'features.10.weight', 'features.11.weight', 'classifier.0.weight', 'classifier.2.weight', 'classifier.4.weight',
    ]);
    expect(keys(nn.createModel('conv4', { batchNorm: false })).map((k) => k.split(' ')[0])).toEqual([
      'features.0.weight', 'features.0.bias', 'features.2.weight', 'features.2.bias', 'features.5.weight', 'features.5.bias',
      'features.7.weight', 'features.7.bias', 'classifier.0.weight', 'classifier.0.bias', 'classifier.2.weight', 'classifier.2.bias',
      'classifier.4.weight', 'classifier.4.bias',
    ]);
    // Parameters exclude buffers; named modules are dotted paths, depth-first.
    const c4 = nn.createModel('conv4');
    expect([...c4.namedParameters()].map(([k]) => k)).not.toContain('features.1.running_mean');
    expect([...c4.namedBuffers()].map(([k]) => k)).toContain('features.1.running_mean');
    expect([...lenet5.namedModules()].map(([k]) => k).slice(0, 4)).toEqual(['', 'features', 'features.0', 'features.1']);
    expect(lenet5.children().length).toBe(3);
  });

  it('loads values by copying them: the source is not aliased and parameters keep their identity', async () => {
    on('webgpu', () => undefined);
    const a = nn.createModel('mnist-cnn2', { seed: 1 });
    const b = nn.createModel('mnist-cnn2', { seed: 2 });
    const w = [...b.namedParameters()][0]![1];
    const result = b.loadStateDict(a.stateDict());
    expect(result).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect([...b.namedParameters()][0]![1]).toBe(w);
    for (const [k, t] of b.stateDict()) expect(await t.toArray(), k).toEqual(await a.stateDict().get(k)!.toArray());
    // Changing the source afterwards leaves the loaded model alone.
    const src = a.stateDict().get('classifier.0.bias')!;
    const before = await b.stateDict().get('classifier.0.bias')!.toArray();
    nn.init.constant(src, 5);
    expect(await b.stateDict().get('classifier.0.bias')!.toArray()).toEqual(before);
    // A plain object works too.
    b.loadStateDict(Object.fromEntries(a.stateDict({ clone: true })));
    expect([...(await b.stateDict().get('classifier.0.bias')!.toArray())]).toEqual(new Array(10).fill(5));
    a.dispose();
    b.dispose();
  });

  it('rejects missing, unexpected and mis-shaped entries, naming them, before changing anything', async () => {
    on('cpu', () => undefined);
    const m = nn.createModel('lenet5', { seed: 1 });
    const snapshot = async () => Promise.all([...m.stateDict().values()].map((t) => t.toArray()));
    const before = await snapshot();
    const other = nn.createModel('lenet5', { seed: 9 }).stateDict();
    const missing = new Map(other);
    missing.delete('classifier.6.bias');
    missing.set('classifier.7.weight', wg.zeros([1]));
    expect(() => m.loadStateDict(missing)).toThrow(/nothing was loaded; missing keys: classifier\.6\.bias; unexpected keys: classifier\.7\.weight/);
    const misShaped = new Map(other);
    misShaped.set('features.3.weight', wg.zeros([16, 6, 3, 3]));
    expect(() => m.loadStateDict(misShaped)).toThrow(/size mismatch for 'features\.3\.weight': checkpoint has \[16, 6, 3, 3\], the module has \[16, 6, 5, 5\]/);
    // Shape mismatches are errors even when not strict.
    expect(() => m.loadStateDict(misShaped, { strict: false })).toThrow(/size mismatch/);
    const gpuTensor = on('webgpu', () => wg.zeros([6]));
    wg.setBackend('cpu');
    const foreign = new Map(other);
    foreign.set('features.0.bias', gpuTensor);
    expect(() => m.loadStateDict(foreign)).toThrow(/'features\.0\.bias' lives on the webgpu backend but the module is on cpu/);
    expect(await snapshot()).toEqual(before);
    // Non-strict loads what matches and reports the rest.
    const res = m.loadStateDict(missing, { strict: false });
    expect(res).toEqual({ missingKeys: ['classifier.6.bias'], unexpectedKeys: ['classifier.7.weight'] });
    expect(await m.stateDict().get('features.0.weight')!.toArray()).toEqual(await other.get('features.0.weight')!.toArray());
    expect(await m.stateDict().get('classifier.6.bias')!.toArray()).toEqual(before[9]);
  });
});

describe('train and eval', () => {
  it('Dropout drops and rescales only in training; eval returns the input', async () => {
    on('webgpu', () => undefined);
    const model = new nn.Sequential(new nn.Dropout(0.25, { generator: new wg.Generator(1) }));
    const x = wg.ones([1000]);
    const y = await model.forward(x).toArray();
    const kept = y.filter((v) => v !== 0);
    expect(kept.every((v) => Math.abs(v - 4 / 3) < 1e-6)).toBe(true);
    expect(kept.length).toBeGreaterThan(700);
    expect(kept.length).toBeLessThan(800);
    model.eval();
    expect(model.training).toBe(false);
    expect(model.at(0).training).toBe(false);
    expect(model.forward(x)).toBe(x);
    model.train();
    expect(model.at(0).training).toBe(true);
  });

  it('BatchNorm updates running statistics (unbiased variance) in training and uses them in eval', async () => {
    on('webgpu', () => undefined);
    const bn = new nn.BatchNorm1d(2, { momentum: 0.5 });
    // Channel 0: 1, 3 (mean 2, biased var 1, unbiased 2); channel 1: 0, 4 (mean 2, var 4, unbiased 8).
    const x = wg.tensor([[1, 0], [3, 4]]);
    const y = await bn.forward(x).toArray();
    const a = 1 / Math.sqrt(1 + 1e-5), b = 2 / Math.sqrt(4 + 1e-5);
    expectClose(y, [-a, -b, a, b], { rtol: 1e-5, atol: 1e-6 });
    const s = bn.stateDict();
    expectClose(await s.get('running_mean')!.toArray(), [1, 1]);
    expectClose(await s.get('running_var')!.toArray(), [0.5 + 0.5 * 2, 0.5 + 0.5 * 8]);
    expect(await s.get('num_batches_tracked')!.item()).toBe(1);
    bn.eval();
    const z = await bn.forward(wg.tensor([[1, 1]])).toArray();
    expectClose(z, [0, 0], { atol: 1e-6 });
    expect(await s.get('num_batches_tracked')!.item()).toBe(1);
    bn.dispose();
  });
});

describe('Module API', () => {
  it('re-parametrisation through getParam overrides: weight = weight_orig × weight_mask, gradients reach weight_orig', async () => {
    on('webgpu', () => undefined);
    const lin = new nn.Linear(3, 2, { generator: new wg.Generator(1) });
    const orig = lin.deleteParameter('weight')!;
    lin.registerParameter('weight_orig', orig);
    lin.registerBuffer('weight_mask', wg.tensor([[1, 0, 1], [0, 1, 0]]));
    lin.setParamOverride('weight', (m) => wg.mul(m.parameter('weight_orig')!, m.buffer('weight_mask')!));
    expect([...lin.stateDict().keys()]).toEqual(['bias', 'weight_orig', 'weight_mask']);
    expect([...lin.namedParameters()].map(([k]) => k)).toEqual(['bias', 'weight_orig']);
    const x = wg.tensor([[1, 2, 3]]);
    const y = lin.forward(x);
    const w = await orig.toArray();
    const b = await lin.parameter('bias')!.toArray();
    expectClose(await y.toArray(), [w[0]! * 1 + w[2]! * 3 + b[0]!, w[4]! * 2 + b[1]!]);
    y.sum().backward();
    expectClose(await orig.grad!.toArray(), [1, 0, 3, 0, 2, 0]);
    lin.zeroGrad();
    expect(orig.grad).toBeNull();
    // replaceParameter keeps the registration order.
    const old = lin.replaceParameter('bias', wg.zeros([2]));
    expect([...lin.stateDict().keys()]).toEqual(['bias', 'weight_orig', 'weight_mask']);
    old?.dispose();
    lin.setParamOverride('weight', null);
    expect(() => lin.getParam('weight')).toThrow(/no parameter 'weight'/);
    lin.dispose();
  });

  it('rejects duplicate and dotted names; prints a PyTorch-like tree', () => {
    on('cpu', () => undefined);
    const lin = new nn.Linear(2, 2);
    expect(() => lin.registerBuffer('weight', wg.zeros([1]))).toThrow(/'weight' is already registered/);
    expect(() => lin.registerParameter('a.b', wg.zeros([1]))).toThrow(/contain no '\.'/);
    const s = new nn.Sequential(['fc', lin], ['act', new nn.ReLU()]);
    expect(s.at('fc')).toBe(lin);
    expect(s.at(-1)).toBeInstanceOf(nn.ReLU);
    expect(String(s)).toBe('Sequential(\n  (fc): Linear(in=2, out=2, bias=true)\n  (act): ReLU()\n)');
    expect(() => s.at(5)).toThrow(/no child 5/);
  });

  it('counts parameters of each model (the two-conv CNN has the seed notes\' 6,130)', () => {
    on('cpu', () => undefined);
    expect(nn.countParameters(nn.createModel('lenet300'))).toBe(266_610);
    expect(nn.countParameters(nn.createModel('lenet5'))).toBe(61_706);
    expect(nn.countParameters(nn.createModel('mnist-cnn2'))).toBe(6_130);
    expect(nn.countParameters(nn.createModel('conv4'))).toBe(2_426_314);
    expect(nn.countParameters(nn.createModel('conv4', { batchNorm: false }))).toBe(2_425_930);
    // Pruned to 6 and 2 filters, the notes report 3,052.
    const pruned = new nn.Sequential(new nn.Conv2d(1, 6, 3, { bias: false }), new nn.Conv2d(6, 2, 3, { bias: false }), new nn.Linear(2 * 12 * 12, 10));
    expect(nn.countParameters(pruned)).toBe(3_052);
    expect(() => nn.createModel('resnet50')).toThrow(/unknown model 'resnet50' \(known: lenet300, lenet5, mnist-cnn2, conv4\)/);
  });

  it('dispose frees every parameter and buffer', () => {
    on('webgpu', () => undefined);
    const before = wg.memoryStats().storages;
    const m = nn.createModel('conv4', { seed: 1 });
    expect(wg.memoryStats().storages).toBeGreaterThan(before);
    m.dispose();
    expect(m.parameters().every((p) => p.isDisposed)).toBe(true);
    expect(wg.memoryStats().storages).toBe(before);
  });
});
