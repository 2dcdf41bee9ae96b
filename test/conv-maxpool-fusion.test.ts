/**
 * Max pooling fused into the convolution (engine conv2d's `maxPool`, Conv2d's `maxPool`,
 * fuseForInference folding Conv2d → (BN) → (ReLU) → MaxPool2d):
 *  - the window GEMM's pooled stores (kernels/matmul/texture-gemm.ts `pool`) against the float64
 *    CPU conv → ReLU → max pool, on every block shape, partial row blocks and channel blocks,
 *    chunks of one image, with and without bias and ReLU, and NaN inputs;
 *  - the op on both backends: the fused kernel where it applies, the pooling kernel after the
 *    conv everywhere else (other pool shapes, odd output heights, few channels), equal to
 *    maxPool2d(conv2d(x)); gradients through the two-op composition; errors;
 *  - the module and what refuses it (toSparse, the pruning tracer).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conv2d, getBackend, maxPool2d, setBackend, tensor, zeros } from '../engine/index.js';
import type { Conv2dGeometry, Pool2dGeometry } from '../engine/backend.js';
import * as cpuConv from '../engine/cpu/conv.js';
import * as cpuPool from '../engine/cpu/pool.js';
import type { WebGpuBackend } from '../engine/webgpu/backend.js';
import type { GpuStorage } from '../gpu/runtime.js';
import { windowConvFits, windowConvForward, windowPoolFits } from '../kernels/conv2d/window-conv.js';
import { planConv } from '../kernels/conv2d/plan.js';
import { BatchNorm2d, Conv2d, fuseForInference, MaxPool2d, ReLU, Sequential, toSparse } from '../nn/index.js';
import { traceModel } from '../pruning/index.js';
import { expectClose, expectParity, initBoth, shutdown } from './helpers/backends.js';
import { outputs, randomInput, expectSameOutputs } from './helpers/compact.js';
import { Data } from './helpers/gradcheck.js';

beforeAll(initBoth);
afterAll(shutdown);

type Spec = { n: number; c: number; h: number; w: number; oc: number; kh: number; kw?: number; ph?: number };
const geometry = (s: Spec): Conv2dGeometry => {
  const kw = s.kw ?? s.kh, ph = s.ph ?? 0, pw = ph;
  return { ...s, kw, sh: 1, sw: 1, ph, pw, dh: 1, dw: 1, oh: s.h + 2 * ph - s.kh + 1, ow: s.w + 2 * pw - kw + 1 };
};
const pool2 = (g: Conv2dGeometry): Pool2dGeometry => ({ n: g.n, c: g.oc, h: g.oh, w: g.ow, kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0, oh: Math.floor(g.oh / 2), ow: Math.floor(g.ow / 2) });

/** The float64 reference: conv (+ bias), ReLU when asked, then 2×2 stride-2 max pooling. */
function reference(x: Float32Array, w: Float32Array, b: Float32Array | null, g: Conv2dGeometry, relu: boolean): Float64Array {
  const y = cpuConv.conv2d(Float64Array.from(x), Float64Array.from(w), b ? Float64Array.from(b) : null, g, relu);
  return cpuPool.maxPool2d(y, pool2(g)).out;
}

const rt = () => (getBackend('webgpu') as WebGpuBackend).rt;

describe('window conv with pooled stores matches conv → ReLU → max pool (float64 CPU)', () => {
  const data = new Data(21);
  const f32 = (n: number) => Float32Array.from(data.normal([n]).data);
  const SPECS: Spec[] = [
    { n: 4, c: 8, h: 8, w: 16, oc: 16, kh: 3, ph: 1 }, // whole row blocks
    { n: 4, c: 12, h: 6, w: 24, oc: 10, kh: 3, ph: 1 }, // 6 rows: a partial block of 4; 10 channels: a partial channel texel
    { n: 4, c: 8, h: 10, w: 16, oc: 12, kh: 5, kw: 3, ph: 1 }, // 8 output rows, a 5×3 kernel
  ];
  for (const s of SPECS) {
    it(JSON.stringify(s), async () => {
      const g = geometry(s);
      expect(windowConvFits(g, rt().limits) && windowPoolFits(g, pool2(g))).toBe(true);
      const x = f32(g.n * g.c * g.h * g.w), w = f32(g.oc * g.c * g.kh * g.kw), b = f32(g.oc);
      const [gx, gw, gb] = [x, w, b].map((a) => rt().upload(a)) as [GpuStorage, GpuStorage, GpuStorage];
      const live: GpuStorage[] = [gx, gw, gb];
      try {
        for (const [withBias, relu] of [[true, true], [false, true], [true, false]] as const) {
          const want = reference(x, w, withBias ? b : null, g, relu);
          for (const block of [undefined, { r: 1, t: 2 }, { r: 2, t: 4 }, { r: 4, t: 2 }, { r: 1, t: 1 }]) {
            for (const chunk of [Infinity, 1]) {
              const y = windowConvForward(rt(), gx, gw, withBias ? gb : null, g, chunk, { relu, pool: true }, block);
              live.push(y);
              expect(y.size).toBe(want.length);
              expectClose(await rt().read(y), want, { rtol: 1e-4, atol: 1e-4 }, `bias ${withBias} relu ${relu} block ${JSON.stringify(block)} chunk ${chunk}`);
            }
          }
        }
      } finally {
        for (const t of live) rt().release(t);
      }
    });
  }

  it('NaN propagates as through the pooling kernel', async () => {
    const g = geometry({ n: 1, c: 8, h: 8, w: 8, oc: 8, kh: 3, ph: 1 });
    const x = f32(g.n * g.c * g.h * g.w), w = f32(g.oc * g.c * 9);
    x[3 * 8 + 5] = NaN; // channel 0, row 3, column 5: every output within one pixel of it is NaN
    const [gx, gw] = [x, w].map((a) => rt().upload(a)) as [GpuStorage, GpuStorage];
    const y = windowConvForward(rt(), gx, gw, null, g, Infinity, { pool: true });
    const got = await rt().read(y);
    const want = reference(x, w, null, g, false);
    const nan = (a: ArrayLike<number>) => Array.from(a, (v) => Number.isNaN(v));
    expect(nan(want).filter(Boolean).length).toBeGreaterThan(0);
    expect(nan(got)).toEqual(nan(want));
    expectClose(Array.from(got, (v) => (Number.isNaN(v) ? 0 : v)), Array.from(want, (v) => (Number.isNaN(v) ? 0 : v)), { rtol: 1e-4, atol: 1e-4 });
    for (const t of [gx, gw, y]) rt().release(t);
  });
});

describe('conv2d(…, { maxPool }) equals maxPool2d(conv2d(…)) on both backends', () => {
  // With inputs that require gradients (expectParity's runs) the op is the two ops; the no-gradient
  // forward (the fused kernel where it applies) is the first check of each case.
  const CASES: Array<[string, number[], number[], { padding?: number; maxPool: { kernel: number; stride?: number; padding?: number } }]> = [
    ['2×2 on a window-path shape', [4, 8, 8, 16], [8, 8, 3, 3], { padding: 1, maxPool: { kernel: 2 } }],
    ['3×3 stride 2 padding 1: conv, then the pooling kernel', [2, 8, 8, 8], [8, 8, 3, 3], { padding: 1, maxPool: { kernel: 3, stride: 2, padding: 1 } }],
    ['odd output height: conv, then the pooling kernel (the last row is dropped, as torch does)', [2, 8, 7, 8], [8, 8, 3, 3], { padding: 1, maxPool: { kernel: 2 } }],
    ['3 input channels (shifted copies), then the pooling kernel', [2, 3, 8, 8], [8, 3, 3, 3], { padding: 1, maxPool: { kernel: 2 } }],
  ];
  for (const [name, xs, ws, o] of CASES) {
    it(name, async () => {
      const forward = await expectParity(([x, w, b]) => conv2d(x!, w!, b, { ...o, activation: 'relu' }), [{ shape: xs, requiresGrad: false }, { shape: ws, requiresGrad: false }, { shape: [ws[0]!], requiresGrad: false }], {}, 7);
      const fused = await expectParity(([x, w, b]) => conv2d(x!, w!, b, { ...o, activation: 'relu' }), [{ shape: xs }, { shape: ws }, { shape: [ws[0]!] }], {}, 7);
      const plain = await expectParity(([x, w, b]) => maxPool2d(conv2d(x!, w!, b, { padding: o.padding, activation: 'relu' }), o.maxPool.kernel, o.maxPool), [{ shape: xs }, { shape: ws }, { shape: [ws[0]!] }], {}, 7);
      expect(fused.shape).toEqual(plain.shape);
      expectClose(forward.out, plain.out, {}, 'no-gradient forward vs two ops');
      expectClose(fused.out, plain.out, {}, 'forward with gradients vs two ops');
      // Gradients flow through the two-op composition.
      fused.grads.forEach((gr, i) => expectClose(gr!, plain.grads[i]!, {}, `grad ${i}`));
    });
  }

  it('inputs without gradients take the fused kernel: pooled shape, no graph', async () => {
    setBackend('webgpu');
    const g = geometry({ n: 4, c: 8, h: 8, w: 16, oc: 8, kh: 3, ph: 1 });
    expect(planConv('fwd', g, { pool: pool2(g) }, rt().settings).variant).toBe('window+pool');
    const x = tensor(randomInput([4, 8, 8, 16]), [4, 8, 8, 16]), w = tensor(randomInput([8, 8, 3, 3], 4), [8, 8, 3, 3]);
    const y = conv2d(x, w, null, { padding: 1, maxPool: { kernel: 2 } });
    expect(y.shape).toEqual([4, 8, 4, 8]);
    expect(y.requiresGrad).toBe(false);
    const want = maxPool2d(conv2d(x, w, null, { padding: 1 }), 2);
    expectClose(await y.toArray(), await want.toArray());
    for (const t of [x, w, y, want]) t.dispose();
  });

  it('names a pooling that does not fit the conv output', () => {
    setBackend('cpu');
    expect(() => conv2d(zeros([1, 1, 4, 4]), zeros([2, 1, 3, 3]), null, { maxPool: { kernel: 3 } })).toThrow(/conv2d maxPool: kernel 3x3 is larger than the padded input of \[1, 2, 2, 2\]/);
    expect(() => conv2d(zeros([1, 1, 4, 4]), zeros([2, 1, 3, 3]), null, { padding: 1, maxPool: { kernel: 2, padding: 2 } })).toThrow(/conv2d maxPool: padding 2x2 must be at most half the kernel/);
  });
});

describe('fusing MaxPool2d into Conv2d', () => {
  for (const backend of ['cpu', 'webgpu'] as const) {
    it(`${backend}: conv → BN → ReLU → pool, conv → pool, and a pooled conv that takes nothing more`, async () => {
      setBackend(backend);
      const model = new Sequential(
        new Conv2d(3, 8, 3, { padding: 1 }), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),
        new Conv2d(8, 8, 3, { padding: 1 }), new MaxPool2d(3, { stride: 2, padding: 1 }),
        new Conv2d(8, 8, 3, { padding: 1, maxPool: { kernel: 2 } }), new BatchNorm2d(8), new ReLU(),
      ).eval();
      const fused = fuseForInference(model);
      expect([...(fused as Sequential)].map((m) => m.toString())).toEqual([
        'Conv2d(3, 8, kernel=3x3, padding=1x1, bias=true, activation=relu, maxPool=kernel 2 stride 2)',
        'Conv2d(8, 8, kernel=3x3, padding=1x1, bias=true, maxPool=kernel 3 stride 2 padding 1)',
        'Conv2d(8, 8, kernel=3x3, padding=1x1, bias=true, maxPool=kernel 2 stride 2)',
        'BatchNorm2d(8, eps=0.00001, momentum=0.1, affine=true, trackRunningStats=true)',
        'ReLU()',
      ]);
      const x = randomInput([2, 3, 16, 16]);
      expectSameOutputs(await outputs(fused, x, [2, 3, 16, 16]), await outputs(model, x, [2, 3, 16, 16]), 1e-5, `${backend} fused vs unfused`);
      model.dispose();
      fused.dispose();
    });
  }

  it('toSparse and the pruning tracer refuse a conv with a fused pooling, naming it', async () => {
    setBackend('cpu');
    const model = new Sequential(['body', new Sequential(new Conv2d(3, 4, 3, { maxPool: { kernel: 2 } }))]).eval();
    await expect(toSparse(model, { format: 'csr' })).rejects.toThrow(/toSparse: model\.body\.0 has a fused max pooling \(from fuseForInference\)/);
    expect(() => traceModel(model, { inputShape: [3, 8, 8] })).toThrow(/body\.0.*max pooling fused into it \(from fuseForInference\); trace, prune or compact the unfused model/);
    model.dispose();
  });
});
