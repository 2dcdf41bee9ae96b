/**
 * Inference fusion (nn/fuse.ts) and the fused ReLU it relies on:
 *  - conv2d + ReLU in one kernel on every WebGPU conv path (window, shifted copies, im2col texture,
 *    1×1 → matmul, implicit GEMM) against the float64 CPU reference, with and without bias;
 *  - autograd through the fused ReLU (finite differences on the CPU, WebGPU vs CPU parity,
 *    and equality with the unfused relu(conv(x)) / relu(linear(x)));
 *  - fuseForInference on conv4 (random BN statistics), LeNet-5, a Linear + BatchNorm1d + ReLU
 *    stack and convolutions with and without bias: fused vs unfused outputs in eval mode within
 *    1e-5 of the output's scale on both backends, the source model untouched, the keys, and
 *    the errors (training mode, mismatched batch norm, unknown modules).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conv2d, getBackend, linear, relu, setBackend, type Tensor, zeros } from '../engine/index.js';
import type { Conv2dGeometry } from '../engine/backend.js';
import * as cpuConv from '../engine/cpu/conv.js';
import type { WebGpuBackend } from '../engine/webgpu/backend.js';
import type { GpuStorage } from '../gpu/runtime.js';
import { conv2dForward, convGemmWith } from '../kernels/conv2d.js';
import { convCandidates, planConv } from '../kernels/conv2d/plan.js';
import { settingsFor } from '../gpu/profile.js';
import { shiftedConvForward } from '../kernels/conv2d/shifted-conv.js';
import { windowConvForward } from '../kernels/conv2d/window-conv.js';
import { textureConvForward } from '../kernels/conv2d/texture-conv.js';
import {
  BatchNorm1d, BatchNorm2d, Conv2d, createModel, Flatten, fuseForInference, Linear, MaxPool2d, Module, ReLU, Residual, Sequential,
} from '../nn/index.js';
import { expectClose, expectParity, initBoth, shutdown } from './helpers/backends.js';
import { outputs, randomInput, randomizeBatchNorms, shapes, snapshot, expectSameOutputs } from './helpers/compact.js';
import { Data, gradcheck } from './helpers/gradcheck.js';

beforeAll(initBoth);
afterAll(shutdown);

// ---- the fused ReLU on every WebGPU conv path -------------------------------------------------

const outSize = (size: number, k: number, s: number, p: number, d: number) => Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;
type Spec = { n: number; c: number; h: number; w: number; oc: number; kh: number; kw?: number; sh?: number; ph?: number; pw?: number; dh?: number };
function geometry(s: Spec): Conv2dGeometry {
  const kw = s.kw ?? s.kh, sh = s.sh ?? 1, ph = s.ph ?? 0, pw = s.pw ?? ph, dh = s.dh ?? 1;
  return { ...s, kw, sh, sw: sh, ph, pw, dh, dw: dh, oh: outSize(s.h, s.kh, sh, ph, dh), ow: outSize(s.w, kw, sh, pw, dh) };
}

type Path = 'window' | 'shifted' | 'texture' | 'pointwise' | 'implicit';
/** The path conv2dForward takes (the planner's variant, kernels/conv2d/plan.ts). */
function pathOf(g: Conv2dGeometry, bias: boolean): Path {
  const rt = (getBackend('webgpu') as WebGpuBackend).rt;
  const { plan } = planConv('fwd', g, { bias, relu: true }, rt.settings);
  if (plan.path === 'empty') throw new Error('not an empty convolution');
  return plan.path === 'im2col-texture' ? 'texture' : plan.path;
}

const PATHS: Array<[Path, Spec]> = [
  // The texture paths need enough output texels to fill their blocks (kernels/matmul/plan.ts's textureBlock).
  ['window', { n: 4, c: 16, h: 8, w: 8, oc: 16, kh: 3, ph: 1 }],
  ['window', { n: 4, c: 3, h: 16, w: 16, oc: 8, kh: 3, ph: 1 }], // 3 input channels
  ['shifted', { n: 4, c: 2, h: 16, w: 16, oc: 8, kh: 3, ph: 1 }], // fewer than 3 input channels
  ['shifted', { n: 4, c: 4, h: 23, w: 31, oc: 8, kh: 3, sh: 2, ph: 1 }], // stride 2
  ['texture', { n: 4, c: 6, h: 14, w: 14, oc: 16, kh: 5 }], // LeNet-5 conv2: rows 10 wide
  ['pointwise', { n: 2, c: 5, h: 3, w: 7, oc: 3, kh: 1 }],
  ['implicit', { n: 3, c: 1, h: 28, w: 28, oc: 6, kh: 5, ph: 2 }], // LeNet-5 conv1: 6 channels
  ['implicit', { n: 1, c: 6, h: 12, w: 7, oc: 7, kh: 2, kw: 3, dh: 2, sh: 2, ph: 1, pw: 2 }],
];

describe('conv2d + fused ReLU on WebGPU matches the CPU reference', () => {
  const data = new Data(11);
  const f32 = (n: number) => Float32Array.from(data.normal([n]).data);
  for (const [path, s] of PATHS) {
    it(`${path}: ${JSON.stringify(s)}`, async () => {
      const rt = (getBackend('webgpu') as WebGpuBackend).rt;
      const g = geometry(s);
      const x = f32(g.n * g.c * g.h * g.w), w = f32(g.oc * g.c * g.kh * g.kw), b = f32(g.oc);
      const [gx, gw, gb] = [x, w, b].map((a) => rt.upload(a)) as [GpuStorage, GpuStorage, GpuStorage];
      const live: GpuStorage[] = [gx, gw, gb];
      try {
        for (const withBias of [false, true]) {
          const bias = withBias ? gb : null;
          const want = cpuConv.conv2d(Float64Array.from(x), Float64Array.from(w), withBias ? Float64Array.from(b) : null, g, true);
          // The reference has both signs before the ReLU: the test would not notice a missing one otherwise.
          expect(want.some((v) => v === 0) && want.some((v) => v > 0)).toBe(true);
          const label = `${path}${withBias ? ' + bias' : ''}`;
          if (!(path === 'pointwise' && withBias)) expect(pathOf(g, withBias), label).toBe(path);
          const runs: Array<[string, GpuStorage]> = [['automatic', conv2dForward(rt, gx, gw, bias, g, true)]];
          if (path === 'window') runs.push(['window, chunks of 1', windowConvForward(rt, gx, gw, bias, g, 1, { relu: true })]);
          if (path === 'window' || path === 'shifted') runs.push(['shifted, chunks of 1', shiftedConvForward(rt, gx, gw, bias, g, 1, true)]);
          if (path !== 'pointwise' && path !== 'implicit') runs.push(['texture, chunks of 1', textureConvForward(rt, gx, gw, bias, g, 1, true)]);
          // Implicit GEMM, forced, with bounds checks and scalar weight rows.
          const implicit = convCandidates('fwd', g, { bias: withBias, relu: true }, rt.settings).find((c) => c.plan.path === 'implicit')!.plan;
          if (implicit.path !== 'implicit') throw new Error('no implicit-GEMM candidate');
          runs.push(['implicit GEMM (forced, checked)', convGemmWith(rt, { ...implicit.gemm, config: { ...implicit.gemm.config, checked: true, aVec: false } }, gw, gx, bias, g)]);
          for (const [how, y] of runs) {
            live.push(y);
            expectClose(await rt.read(y), want, { rtol: 1e-4, atol: 1e-4 }, `${label}, ${how}`);
          }
        }
      } finally {
        for (const t of live) rt.release(t);
      }
    });
  }

  it('refuses a fused ReLU on the backward passes', () => {
    const g = geometry({ n: 1, c: 2, h: 5, w: 5, oc: 3, kh: 3 });
    expect(() => planConv('gradInput', g, { relu: true }, settingsFor('llvmpipe'))).toThrow(/fused ReLU belongs to the forward pass/);
  });
});

// ---- autograd through the fused ReLU ------------------------------------------------------------

describe('autograd through the fused ReLU', () => {
  const d = new Data(5);
  it('conv2d(…, { activation: relu }): finite differences (CPU, float64), with and without bias', async () => {
    const x = d.normal([2, 2, 5, 5]), w = d.normal([3, 2, 3, 3], 0.5), b = d.normal([3], 0.3);
    await gradcheck(([xx, ww, bb]) => conv2d(xx!, ww!, bb, { padding: 1, activation: 'relu' }), [x, w, b]);
    await gradcheck(([xx, ww]) => conv2d(xx!, ww!, null, { stride: 2, activation: 'relu' }), [x, w]);
  });

  it('linear(…, { activation: relu }): finite differences (CPU, float64)', async () => {
    await gradcheck(([xx, ww, bb]) => linear(xx!, ww!, bb, { activation: 'relu' }), [d.normal([4, 5]), d.normal([3, 5]), d.normal([3], 0.3)]);
  });

  it('WebGPU forward and gradients match the CPU, and equal the unfused relu(conv(x)) / relu(linear(x))', async () => {
    const convFused = ([x, w, b]: Tensor[]) => conv2d(x!, w!, b, { padding: 1, activation: 'relu' });
    const convPlain = ([x, w, b]: Tensor[]) => relu(conv2d(x!, w!, b, { padding: 1 }));
    // Shapes on the shifted-copies path (rows 8 wide, 8 channels) and on implicit GEMM (3 channels).
    for (const shape of [[[2, 4, 8, 8], [8, 4, 3, 3], [8]], [[2, 2, 5, 5], [3, 2, 3, 3], [3]]]) {
      const inputs = shape.map((s) => ({ shape: s }));
      const fused = await expectParity(convFused, inputs);
      const plain = await expectParity(convPlain, inputs);
      expectClose(fused.out, plain.out, {}, 'conv forward fused vs unfused');
      fused.grads.forEach((gr, i) => expectClose(gr!, plain.grads[i]!, {}, `conv grad ${i} fused vs unfused`));
    }
    const linFused = ([x, w, b]: Tensor[]) => linear(x!, w!, b, { activation: 'relu' });
    const linPlain = ([x, w, b]: Tensor[]) => relu(linear(x!, w!, b));
    const inputs = [{ shape: [6, 20] }, { shape: [12, 20] }, { shape: [12] }];
    const fused = await expectParity(linFused, inputs);
    const plain = await expectParity(linPlain, inputs);
    expectClose(fused.out, plain.out, {}, 'linear forward fused vs unfused');
    fused.grads.forEach((gr, i) => expectClose(gr!, plain.grads[i]!, {}, `linear grad ${i} fused vs unfused`));
  });

  it('Conv2d / Linear modules take activation: relu (and refuse others)', () => {
    setBackend('cpu');
    expect(new Conv2d(2, 3, 3, { activation: 'relu' }).toString()).toContain('activation=relu');
    expect(new Linear(2, 3, { activation: 'relu' }).activation).toBe('relu');
    expect(() => new Linear(2, 3, { activation: 'gelu' as 'relu' })).toThrow(/Linear: unknown activation "gelu"/);
    expect(() => conv2d(zeros([1, 1, 3, 3]), zeros([1, 1, 3, 3]), null, { activation: 'tanh' as 'relu' })).toThrow(/conv2d: unknown activation "tanh"/);
  });
});

// ---- fuseForInference ----------------------------------------------------------------------------

/** Fused vs unfused in eval mode on `backend`, on a batch of `batch` inputs of `sample` shape. */
async function checkFused(backend: 'cpu' | 'webgpu', build: () => Module, sample: number[], batch = 2): Promise<{ model: Module; fused: Module }> {
  setBackend(backend);
  const model = build();
  randomizeBatchNorms(model);
  model.eval();
  const before = await snapshot(model);
  const fused = fuseForInference(model);
  const x = randomInput([batch, ...sample]);
  expectSameOutputs(await outputs(fused, x, [batch, ...sample]), await outputs(model, x, [batch, ...sample]), 1e-5, `${backend} fused vs unfused`);
  // The source model is untouched and shares no tensor with the fused one.
  expect(await snapshot(model)).toEqual(before);
  const own = new Set(model.stateDict().values());
  expect([...fused.stateDict().values()].some((t) => own.has(t))).toBe(false);
  expect(fused.modules().every((m) => !m.training)).toBe(true);
  return { model, fused };
}

const convBias = (bias: boolean) => () => new Sequential(
  new Conv2d(3, 8, 3, { padding: 1, bias }), new BatchNorm2d(8), new ReLU(),
  new Conv2d(8, 5, 3, { bias }), new BatchNorm2d(5),
);
const mlpBn = () => new Sequential(new Flatten(), new Linear(12, 16), new BatchNorm1d(16), new ReLU(), new Linear(16, 7), new BatchNorm1d(7, { affine: false }), new ReLU(), new Linear(7, 3));

describe.each(['cpu', 'webgpu'] as const)('fuseForInference on %s', (backend) => {
  it('conv4 with random BN statistics: same outputs; BN and ReLU folded away; keys', async () => {
    const { model, fused } = await checkFused(backend, () => createModel('conv4', { seed: 3 }), [3, 32, 32], backend === 'cpu' ? 1 : 2);
    expect(Object.keys(shapes(fused))).toEqual([
      'features.0.weight', 'features.0.bias', 'features.3.weight', 'features.3.bias', 'features.7.weight', 'features.7.bias', 'features.10.weight', 'features.10.bias',
      'classifier.0.weight', 'classifier.0.bias', 'classifier.2.weight', 'classifier.2.bias', 'classifier.4.weight', 'classifier.4.bias',
    ]);
    const features = (fused as Sequential).at('features') as Sequential;
    // The max poolings went into the second and fourth convs.
    expect([...features].map((m) => m.typeName())).toEqual(['Conv2d', 'Conv2d', 'Conv2d', 'Conv2d']);
    expect([...features].every((m) => (m as Conv2d).activation === 'relu')).toBe(true);
    expect([...features].map((m) => JSON.stringify((m as Conv2d).maxPool))).toEqual(['null', '{"kernel":2}', 'null', '{"kernel":2}']);
    const head = (fused as Sequential).at('classifier') as Sequential;
    expect([...head].map((m) => (m as Linear).activation)).toEqual(['relu', 'relu', null]);
    expect(((model as Sequential).at('features') as Sequential).length).toBe(14);
    model.dispose();
    fused.dispose();
  });

  it('LeNet-5 (conv bias, ReLU without batch norm): same outputs', async () => {
    const { model, fused } = await checkFused(backend, () => createModel('lenet5', { seed: 1 }), [1, 28, 28], 4);
    expect(Object.keys(shapes(fused))).toEqual(Object.keys(shapes(model)));
    model.dispose();
    fused.dispose();
  });

  it('Linear + BatchNorm1d + ReLU stacks, affine and not', async () => {
    const { model, fused } = await checkFused(backend, mlpBn, [3, 4], 5);
    expect(Object.keys(shapes(fused))).toEqual(['1.weight', '1.bias', '4.weight', '4.bias', '7.weight', '7.bias']);
    model.dispose();
    fused.dispose();
  });

  for (const bias of [true, false]) {
    it(`convolutions ${bias ? 'with' : 'without'} bias, a trailing batch norm without ReLU`, async () => {
      const { model, fused } = await checkFused(backend, convBias(bias), [3, 8, 8], 2);
      expect([...(fused as Sequential)].map((m) => `${m.typeName()}:${(m as Conv2d).activation}`)).toEqual(['Conv2d:relu', 'Conv2d:null']);
      model.dispose();
      fused.dispose();
    });
  }
});

describe('fuseForInference: what it leaves and what it refuses', () => {
  it('nested containers are fused; a ReLU before a batch norm, a BN without running statistics, and a lone BN stay', async () => {
    const { model, fused } = await checkFused('cpu', () => new Sequential(
      new BatchNorm2d(3),
      ['res', new Residual(new Sequential(new Conv2d(3, 3, 3, { padding: 1 }), new BatchNorm2d(3), new ReLU()))],
      new Conv2d(3, 4, 1), new ReLU(), new BatchNorm2d(4),
      new Conv2d(4, 4, 1), new BatchNorm2d(4, { trackRunningStats: false }), new ReLU(),
      new MaxPool2d(2),
    ), [3, 6, 6]);
    expect([...(fused as Sequential).namedChildren()].map(([n, m]) => `${n}:${m.typeName()}`)).toEqual(
      ['0:BatchNorm2d', 'res:Residual', '2:Conv2d', '4:BatchNorm2d', '5:Conv2d', '6:BatchNorm2d', '7:ReLU', '8:MaxPool2d'],
    );
    expect([...((fused as Sequential).at('res') as Residual).body.children()].map((m) => m.typeName())).toEqual(['Conv2d']);
    model.dispose();
    fused.dispose();
  });

  it('refuses a model in training mode, like torch\'s fuse_conv_bn_eval', () => {
    setBackend('cpu');
    const model = createModel('conv4', { seed: 1 });
    expect(() => fuseForInference(model)).toThrow(/fuseForInference: the model \(Sequential\) is in training mode; call model\.eval\(\) first/);
    model.eval();
    ((model as Sequential).at('features') as Sequential).at(1).train();
    expect(() => fuseForInference(model)).toThrow(/BatchNorm2d 'features\.1' is in training mode/);
    model.dispose();
  });

  it('names the layers of a batch norm whose channel count does not match', () => {
    setBackend('cpu');
    const model = new Sequential(['body', new Sequential(new Conv2d(3, 8, 3), new BatchNorm2d(6))]).eval();
    expect(() => fuseForInference(model)).toThrow(/BatchNorm2d 'body\.1' has 6 channels but the Conv2d 'body\.0' before it has 8 outputs/);
    const mlp = new Sequential(new Linear(4, 5), new BatchNorm1d(3)).eval();
    expect(() => fuseForInference(mlp)).toThrow(/BatchNorm1d '1' has 3 channels but the Linear '0' before it has 5 outputs/);
    model.dispose();
    mlp.dispose();
  });

  it('refuses modules it cannot copy, naming them', () => {
    setBackend('cpu');
    class Custom extends Module {
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    const model = new Sequential(['head', new Sequential(new Linear(2, 2), new Custom())]).eval();
    expect(() => fuseForInference(model)).toThrow(/fuseForInference: cannot copy Custom 'head\.1'/);
    model.dispose();
  });
});
