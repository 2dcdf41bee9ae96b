/**
 * Property tests (fast-check) of conv2d against the CPU reference, forward and backward, on
 * random geometries (batch, channels, input size, kernel, stride, padding, dilation, bias, fused
 * ReLU) drawn per forward path: the window GEMM reading x in place, the shifted copies, the
 * im2col texture, the 1×1 → matmul path and implicit GEMM; plus shapes whose weight gradient
 * splits its long reduction (split-K), and the inference-only conv + ReLU + max pooling (pooled
 * in the window GEMM's stores where it fits, else by the pooling kernel).
 *
 * Each case checks that the forward pass takes the path its generator aims at (the planner's
 * decision, kernels/conv2d/plan.ts, with the device's settings), so a change of thresholds that
 * leaves a path untested fails here. Seeds, replay and FC_RUNS: test/helpers/property.ts.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe } from 'vitest';
import { conv2d, Generator, getBackend } from '../index.js';
import type { Conv2dGeometry } from '../engine/backend.js';
import type { WebGpuBackend } from '../engine/webgpu/backend.js';
import type { GpuRuntime } from '../gpu/runtime.js';
import { planConv } from '../kernels/conv2d/plan.js';
import { initBoth, type InputSpec, shutdown } from './helpers/backends.js';
import { itProperty, parity, seedArb } from './helpers/property.js';

let rt: GpuRuntime;
beforeAll(async () => {
  await initBoth();
  rt = (getBackend('webgpu') as WebGpuBackend).rt;
});
afterAll(shutdown);

const dim = (min: number, max: number) => fc.integer({ min, max });
const outSize = (size: number, k: number, s: number, p: number, d: number) => Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;

interface Case {
  n: number; c: number; h: number; w: number; oc: number; kh: number; kw: number;
  sh: number; sw: number; ph: number; pw: number; dh: number; dw: number;
  bias: boolean; relu: boolean; seed: number;
}

function geometry(k: Case): Conv2dGeometry {
  return { ...k, oh: outSize(k.h, k.kh, k.sh, k.ph, k.dh), ow: outSize(k.w, k.kw, k.sw, k.pw, k.dw) };
}

type Path = 'window' | 'shifted' | 'texture' | 'pointwise' | 'implicit';

/** The forward path conv2dForward takes (the planner's variant: window, shifted copies, im2col texture, 1×1 matmul, implicit GEMM). */
function pathOf(g: Conv2dGeometry, bias: boolean): Path {
  const { plan } = planConv('fwd', g, { bias }, rt.settings);
  if (plan.path === 'im2col-texture') return 'texture';
  if (plan.path === 'empty') throw new Error(`an empty convolution among the cases: ${JSON.stringify(g)}`);
  return plan.path;
}

/** Whether the weight gradient splits its reduction (split-K). */
const splitsGradWeight = (g: Conv2dGeometry) => {
  const { plan } = planConv('gradWeight', g, {}, rt.settings);
  return plan.path === 'implicit' && plan.gemm.splits > 1;
};

/** Any geometry with the given ranges (the output at least 1×1). */
function caseArb(r: { n: [number, number]; c: [number, number]; h: [number, number]; w: [number, number]; oc: [number, number]; k: number[]; s: number[]; p: [number, number]; d: number[] }): fc.Arbitrary<Case> {
  return fc.record({
    n: dim(...r.n), c: dim(...r.c), h: dim(...r.h), w: dim(...r.w), oc: dim(...r.oc),
    kh: fc.constantFrom(...r.k), kw: fc.constantFrom(...r.k), sh: fc.constantFrom(...r.s), sw: fc.constantFrom(...r.s),
    ph: dim(...r.p), pw: dim(...r.p), dh: fc.constantFrom(...r.d), dw: fc.constantFrom(...r.d),
    bias: fc.boolean(), relu: fc.boolean(), seed: seedArb,
  }).filter((k) => outSize(k.h, k.kh, k.sh, k.ph, k.dh) >= 1 && outSize(k.w, k.kw, k.sw, k.pw, k.dw) >= 1);
}

/** Generators aimed at each path; the filter keeps the cases that take it. */
function arbFor(path: Path): fc.Arbitrary<Case> {
  switch (path) {
    case 'window':
      // Stride 1, rows a multiple of 4 wide in and out (the padding is chosen from the kernel width to keep them so), ≥ 3 channels.
      return fc.record({ base: caseArb({ n: [1, 2], c: [3, 5], h: [6, 14], w: [2, 4], oc: [8, 16], k: [1, 3, 5], s: [1], p: [0, 2], d: [1] }), pick: fc.nat() })
        .map(({ base, pick }) => {
          const w = 4 * base.w;
          const pads = base.kw === 1 ? [0] : base.kw === 3 ? [1] : [0, 2, 4];
          return { ...base, w, pw: pads[pick % pads.length]! };
        })
        .filter((k) => pathOf(geometry(k), k.bias) === 'window');
    case 'shifted':
      // Output rows a multiple of 4 wide; strided, dilated or few channels (so not the window path).
      return caseArb({ n: [1, 2], c: [1, 4], h: [6, 16], w: [5, 24], oc: [8, 16], k: [1, 2, 3, 5], s: [1, 2], p: [0, 2], d: [1, 2] })
        .filter((k) => pathOf(geometry(k), k.bias) === 'shifted');
    case 'texture':
      return caseArb({ n: [1, 3], c: [1, 5], h: [6, 16], w: [5, 18], oc: [8, 16], k: [1, 2, 3, 4], s: [1, 2, 3], p: [0, 2], d: [1, 2] })
        .filter((k) => pathOf(geometry(k), k.bias) === 'texture');
    case 'pointwise':
      return caseArb({ n: [1, 3], c: [1, 9], h: [1, 9], w: [1, 9], oc: [1, 7], k: [1], s: [1], p: [0, 0], d: [1] }).map((k) => ({ ...k, bias: false }));
    case 'implicit':
      return caseArb({ n: [1, 3], c: [1, 6], h: [3, 11], w: [3, 11], oc: [1, 9], k: [1, 2, 3, 4], s: [1, 2, 3], p: [0, 2], d: [1, 2] })
        .filter((k) => pathOf(geometry(k), k.bias) === 'implicit');
  }
}

const inputs = (k: Case, requiresGrad = true): InputSpec[] => [
  { shape: [k.n, k.c, k.h, k.w], requiresGrad }, { shape: [k.oc, k.c, k.kh, k.kw], requiresGrad }, ...(k.bias ? [{ shape: [k.oc], requiresGrad }] : []),
];
const options = (k: Case) => ({ stride: [k.sh, k.sw] as [number, number], padding: [k.ph, k.pw] as [number, number], dilation: [k.dh, k.dw] as [number, number], activation: k.relu ? 'relu' as const : null });

/** Labels for what else a case exercises: the backward passes' GEMM programs. */
function backwardLabels(g: Conv2dGeometry): string[] {
  const out: string[] = [];
  if (planConv('gradInput', g, {}, rt.settings).plan.path === 'pointwise') out.push('grad input as matmul');
  if (splitsGradWeight(g)) out.push('grad weight split-K');
  return out;
}

describe('conv2d forward and backward, per forward path', () => {
  for (const path of ['window', 'shifted', 'texture', 'pointwise', 'implicit'] as const) {
    itProperty(`conv2d, ${path} path`, 'random geometries, bias and fused ReLU; the forward pass takes that path', () => arbFor(path), async (k, note) => {
      const g = geometry(k);
      const taken = pathOf(g, k.bias);
      if (taken !== path) throw new Error(`a ${path} case took the ${taken} path: ${JSON.stringify(k)}`);
      for (const l of backwardLabels(g)) note(l);
      if (k.sh > 1 || k.sw > 1) note('strided');
      if (k.dh > 1 || k.dw > 1) note('dilated');
      if (k.ph > 0 || k.pw > 0) note('padded');
      if (k.relu) note('relu');
      if (k.bias) note('bias');
      await parity(([x, w, b]) => conv2d(x!, w!, b, options(k)), inputs(k), k.seed, {}, JSON.stringify(k));
    }, { numRuns: path === 'pointwise' ? 3 : 4 });
  }

  itProperty(
    'conv2d, grad weight split-K', 'the weight gradient splits its long reduction (batch × output pixels) over k-slices',
    () => caseArb({ n: [2, 4], c: [1, 3], h: [16, 24], w: [16, 24], oc: [1, 6], k: [1, 3], s: [1], p: [0, 1], d: [1] })
      .filter((k) => splitsGradWeight(geometry(k))),
    async (k, note) => {
      note(pathOf(geometry(k), k.bias));
      await parity(([x, w, b]) => conv2d(x!, w!, b, options(k)), inputs(k), k.seed, {}, JSON.stringify(k));
    },
    { numRuns: 3 },
  );
});

describe('conv2d + ReLU + max pooling for inference', () => {
  itProperty(
    'conv2d with fused max pooling', 'pooled in the window GEMM\'s stores (2×2, stride 2, even output rows) or by the pooling kernel after any path',
    () => fc.record({
      k: fc.oneof(arbFor('window'), arbFor('shifted'), arbFor('implicit')),
      pool: fc.oneof(fc.constant({ kernel: 2 }), fc.record({ kernel: dim(1, 3), stride: dim(1, 3), padding: dim(0, 1) })),
    }).filter(({ k, pool }) => {
      const g = geometry(k);
      const pk = pool.kernel, pp = 'padding' in pool ? pool.padding : 0;
      return 2 * pp <= pk && g.oh + 2 * pp >= pk && g.ow + 2 * pp >= pk;
    }),
    async ({ k, pool }, note) => {
      const g = geometry(k);
      const stride = 'stride' in pool ? pool.stride : pool.kernel, padding = 'padding' in pool ? pool.padding : 0;
      const pg = { n: g.n, c: g.oc, h: g.oh, w: g.ow, kh: pool.kernel, kw: pool.kernel, sh: stride, sw: stride, ph: padding, pw: padding, oh: 0, ow: 0 };
      const path = pathOf(g, k.bias);
      const pooled = planConv('fwd', g, { bias: k.bias, relu: k.relu, pool: pg }, rt.settings).plan.poolFused;
      note(pooled ? 'pooled in the window stores' : `${path} then the pooling kernel`);
      await parity(([x, w, b]) => conv2d(x!, w!, b, { ...options(k), maxPool: pool }), inputs(k, false), k.seed, {}, `${JSON.stringify(k)} pool ${JSON.stringify(pool)}`);
    },
    { numRuns: 8 },
  );
});
