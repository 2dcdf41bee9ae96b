/**
 * Convolution through implicit GEMM (kernels/conv2d/implicit-gemm.ts) and the 1×1 →
 * matmul path, forward, grad-input and grad-weight, against the float64 CPU reference
 * (engine/cpu/conv.ts) on geometries with stride, padding, dilation, non-square
 * kernels and inputs, 1×1 kernels, and channel counts that are not multiples of 4;
 * every tile of the conv ladder and the split-K grad-weight path are forced explicitly.
 * Finite differences and the PyTorch fixtures cover conv backward through the engine
 * (test/gradcheck.test.ts, test/torch-fixtures.test.ts).
 */
import { describe, it, expect } from 'vitest';
import type { Conv2dGeometry } from '../engine/backend.js';
import * as cpuConv from '../engine/cpu/conv.js';
import { expectClose, f64, geometry, randn, rt, track, useGpuRuntime, type ConvSpec } from './helpers/conv.js';
import type { GpuRuntime, GpuStorage } from '../gpu/runtime.js';
import { conv2dForward, conv2dGradInput, conv2dGradWeight, convGemmWith } from '../kernels/conv2d.js';
import { convGemmProgram, type ConvGemmKind } from '../kernels/conv2d/implicit-gemm.js';
import { isPointwise, planConv, type ConvGemmPlan } from '../kernels/conv2d/plan.js';
import { settingsFor } from '../gpu/profile.js';
import { programSource } from '../gpu/program.js';
import { textureConvFits, textureConvForward } from '../kernels/conv2d/texture-conv.js';
import { shiftedConvFits, shiftedConvForward } from '../kernels/conv2d/shifted-conv.js';
import { windowConvFits, windowConvForward } from '../kernels/conv2d/window-conv.js';


useGpuRuntime(77);

/** Runs the three passes (automatic choice, or a forced plan per pass) and compares each with the CPU reference. */
async function checkAll(s: ConvSpec, force?: (kind: ConvGemmKind, g: Conv2dGeometry, bias: boolean) => ConvGemmPlan): Promise<void> {
  const g = geometry(s);
  const x = randn(g.n * g.c * g.h * g.w), w = randn(g.oc * g.c * g.kh * g.kw), bias = randn(g.oc), gy = randn(g.n * g.oc * g.oh * g.ow);
  const [gx, gw, gb, ggy] = [x, w, bias, gy].map((a) => track(rt.upload(a))) as [GpuStorage, GpuStorage, GpuStorage, GpuStorage];
  const label = JSON.stringify(s);
  for (const withBias of [false, true]) {
    const y = track(force ? convGemmWith(rt, force('fwd', g, withBias), gw, gx, withBias ? gb : null, g) : conv2dForward(rt, gx, gw, withBias ? gb : null, g));
    expectClose(await rt.read(y), cpuConv.conv2d(f64(x), f64(w), withBias ? f64(bias) : null, g), `${label} forward${withBias ? ' + bias' : ''}`);
  }
  const dx = track(force ? convGemmWith(rt, force('gradInput', g, false), gw, ggy, null, g) : conv2dGradInput(rt, ggy, gw, g));
  expectClose(await rt.read(dx), cpuConv.conv2dGradInput(f64(gy), f64(w), g), `${label} grad input`);
  const dw = track(force ? convGemmWith(rt, force('gradWeight', g, false), ggy, gx, null, g) : conv2dGradWeight(rt, gx, ggy, g));
  expectClose(await rt.read(dw), cpuConv.conv2dGradWeight(f64(x), f64(gy), g), `${label} grad weight`);
}

const GEOMETRIES: ConvSpec[] = [
  { n: 2, c: 3, h: 8, w: 8, oc: 4, kh: 3, ph: 1 },
  { n: 1, c: 5, h: 7, w: 9, oc: 6, kh: 3 }, // channels not multiples of 4, non-square input
  { n: 2, c: 4, h: 11, w: 10, oc: 8, kh: 3, sh: 2, ph: 1 }, // stride 2
  { n: 1, c: 2, h: 10, w: 13, oc: 3, kh: 3, kw: 2, sh: 3, sw: 1, ph: 1, pw: 0 }, // non-square kernel, mixed strides
  { n: 2, c: 3, h: 9, w: 9, oc: 5, kh: 3, dh: 2, ph: 2 }, // dilation
  { n: 1, c: 6, h: 12, w: 7, oc: 7, kh: 2, kw: 3, dh: 2, dw: 1, sh: 2, sw: 2, ph: 1, pw: 2 }, // everything at once
  { n: 3, c: 1, h: 28, w: 28, oc: 6, kh: 5, ph: 2 }, // LeNet-5 conv1
  { n: 2, c: 6, h: 14, w: 14, oc: 16, kh: 5 }, // LeNet-5 conv2
  { n: 2, c: 16, h: 8, w: 8, oc: 16, kh: 3, ph: 1 }, // multiples of 4 everywhere: vec4 weight rows and stores
  { n: 1, c: 3, h: 4, w: 4, oc: 2, kh: 4 }, // kernel == input
  { n: 2, c: 3, h: 6, w: 5, oc: 4, kh: 1, sh: 2 }, // 1×1 with stride: implicit GEMM
  { n: 1, c: 4, h: 5, w: 5, oc: 3, kh: 1, ph: 1 }, // 1×1 with padding: implicit GEMM
  { n: 2, c: 8, h: 6, w: 6, oc: 12, kh: 1 }, // 1×1 stride 1: matmul
  { n: 2, c: 5, h: 3, w: 7, oc: 3, kh: 1 }, // 1×1 stride 1, odd sizes: matmul
];

describe('implicit GEMM conv: automatic choice vs the CPU reference', () => {
  for (const s of GEOMETRIES) {
    it(`${JSON.stringify(s)}${isPointwise(geometry(s)) ? ' (1×1 → matmul)' : ''}`, async () => {
      await checkAll(s);
    });
  }
});

/** The implicit-GEMM plan the llvmpipe rule makes for a pass (its tile, vec4 modes and split-K). */
function ruleGemm(kind: ConvGemmKind, g: Conv2dGeometry, bias = false): ConvGemmPlan {
  // A 1×1 forward pass without bias would be planned as a matmul: plan it with bias, then drop it.
  const { plan } = planConv(kind, g, kind === 'fwd' ? { bias: true } : {}, settingsFor('llvmpipe'));
  if (plan.path !== 'implicit') throw new Error(`expected an implicit-GEMM plan, got ${plan.path}`);
  return { ...plan.gemm, config: { ...plan.gemm.config, bias: kind === 'fwd' && bias } };
}

describe('implicit GEMM conv: forced variants', () => {
  const tiles = [
    { tm: 16, tn: 4, wgX: 16, wgY: 4 },
    { tm: 8, tn: 2, wgX: 8, wgY: 8 },
    { tm: 2, tn: 2, wgX: 16, wgY: 4 },
  ];
  for (const tile of tiles) {
    it(`tile ${tile.tm}x${4 * tile.tn} wg ${tile.wgX}x${tile.wgY}, checked, scalar and vec4 weight rows`, async () => {
      const force = (vec: boolean) => (kind: ConvGemmKind, g: Conv2dGeometry, bias: boolean): ConvGemmPlan => {
        const auto = ruleGemm(kind, g, bias);
        const c = { ...auto.config, ...tile, aVec: vec && auto.config.aVec, checked: true };
        return { ...auto, config: c };
      };
      await checkAll({ n: 2, c: 4, h: 9, w: 7, oc: 5, kh: 3, ph: 1, sh: 2 }, force(true));
      await checkAll({ n: 1, c: 3, h: 6, w: 6, oc: 4, kh: 2, dh: 2 }, force(false));
    });
  }
  it('grad weight with split-K over batch and space, with and without vec4 stores', async () => {
    for (const s of [{ n: 4, c: 2, h: 20, w: 20, oc: 4, kh: 2 }, { n: 3, c: 3, h: 17, w: 15, oc: 3, kh: 3, ph: 1 }] as ConvSpec[]) {
      const g = geometry(s);
      const auto = ruleGemm('gradWeight', g);
      const k = g.n * g.oh * g.ow;
      const plan: ConvGemmPlan = { config: { ...auto.config, split: true }, splits: Math.ceil(k / 64), kChunk: 64 };
      const x = randn(g.n * g.c * g.h * g.w), gy = randn(g.n * g.oc * g.oh * g.ow);
      const dw = track(convGemmWith(rt, plan, track(rt.upload(gy)), track(rt.upload(x)), null, g));
      expectClose(await rt.read(dw), cpuConv.conv2dGradWeight(f64(x), f64(gy), g), `${JSON.stringify(s)} split-K grad weight`);
    }
    // The automatic choice splits long reductions over few outputs.
    expect(ruleGemm('gradWeight', geometry({ n: 16, c: 1, h: 28, w: 28, oc: 6, kh: 5, ph: 2 })).splits).toBeGreaterThan(1);
  });
  it('every pass and store mode compiles (WGSL validation)', async () => {
    const failures: string[] = [];
    for (const kind of ['fwd', 'gradInput', 'gradWeight'] as const)
      for (const cVec of [true, false])
        for (const checked of [true, false])
          for (const extra of kind === 'fwd' ? [{ aVec: true, bias: true }, { aVec: false, bias: false }] : kind === 'gradWeight' ? [{ split: true }, {}] : [{}]) {
            const p = convGemmProgram({ kind, tm: 8, tn: 2, wgX: 8, wgY: 8, aVec: false, cVec, checked, split: false, bias: false, ...extra });
            rt.device.pushErrorScope('validation');
            const module = rt.device.createShaderModule({ code: programSource(p) });
            rt.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
            const e = await rt.device.popErrorScope();
            if (e) failures.push(`${p.key}: ${e.message}`);
          }
    expect(failures).toEqual([]);
  });
});

type ChunkedForward = (rt: GpuRuntime, x: GpuStorage, w: GpuStorage, bias: GpuStorage | null, g: Conv2dGeometry, chunkLimit?: number) => GpuStorage;

/** A chunked texture-conv forward against the reference, with and without bias, in one chunk and in chunks of 1 and 2 images. */
async function checkChunked(forward: ChunkedForward, specs: ConvSpec[]): Promise<void> {
  for (const s of specs) {
    const g = geometry(s);
    const x = randn(g.n * g.c * g.h * g.w), w = randn(g.oc * g.c * g.kh * g.kw), bias = randn(g.oc);
    const [gx, gw, gb] = [x, w, bias].map((a) => track(rt.upload(a))) as [GpuStorage, GpuStorage, GpuStorage];
    for (const chunk of [Infinity, 1, 2]) {
      for (const withBias of [false, true]) {
        const y = track(forward(rt, gx, gw, withBias ? gb : null, g, chunk));
        expectClose(await rt.read(y), cpuConv.conv2d(f64(x), f64(w), withBias ? f64(bias) : null, g), `${JSON.stringify(s)} chunk ${chunk}${withBias ? ' + bias' : ''}`);
      }
    }
  }
}

/** A texture-conv forward in chunks of 2 images leaves only x, w and y live: its textures are released. */
async function expectTexturesReleased(forward: ChunkedForward): Promise<void> {
  const before = rt.memoryStats().inUseBytes;
  const g = geometry({ n: 3, c: 4, h: 16, w: 16, oc: 8, kh: 3, ph: 1 });
  const y = track(forward(rt, track(rt.upload(randn(g.n * g.c * g.h * g.w))), track(rt.upload(randn(g.oc * g.c * 9))), null, g, 2));
  await rt.read(y);
  expect(rt.memoryStats().inUseBytes).toBe(before + (g.n * g.c * 256 + g.oc * g.c * 9 + g.n * g.oc * 256) * 4);
}

describe('conv2d forward through the texture GEMM (im2col texture)', () => {
  it('matches the reference on every geometry, with and without bias, in one chunk and in chunks of 1 and 2 images', async () => {
    // The texture GEMM's blocks are 4 output channels wide.
    await checkChunked(textureConvForward, GEOMETRIES.filter((s) => s.oc >= 4));
  });
  it('is chosen for convolutions large enough to fill its blocks, and frees its textures', async () => {
    expect(textureConvFits(geometry({ n: 1, c: 64, h: 32, w: 32, oc: 64, kh: 3, ph: 1 }), rt.limits)).toBe(true);
    expect(textureConvFits(geometry({ n: 64, c: 6, h: 14, w: 14, oc: 16, kh: 5 }), rt.limits)).toBe(true);
    expect(textureConvFits(geometry({ n: 64, c: 1, h: 28, w: 28, oc: 6, kh: 5, ph: 2 }), rt.limits)).toBe(false);
    expect(textureConvFits(geometry({ n: 1, c: 3, h: 4, w: 4, oc: 2, kh: 4 }), rt.limits)).toBe(false);
    await expectTexturesReleased(textureConvForward);
  });
});

describe('conv2d forward through the texture GEMM over shifted copies of x', () => {
  // Output rows a multiple of 4 pixels wide (the path's condition), with everything else varied.
  const SHIFTED: ConvSpec[] = [
    { n: 2, c: 3, h: 8, w: 8, oc: 8, kh: 3, ph: 1 },
    { n: 2, c: 4, h: 11, w: 15, oc: 8, kh: 3, sh: 2, ph: 1 }, // stride 2
    { n: 1, c: 5, h: 9, w: 12, oc: 10, kh: 3, kw: 5, dh: 2, dw: 2, ph: 2, pw: 4 }, // dilation, non-square kernel, 10 channels
    { n: 3, c: 6, h: 12, w: 7, oc: 9, kh: 2, kw: 3, sh: 2, sw: 2, dh: 2, ph: 1, pw: 2 }, // everything at once
    { n: 2, c: 16, h: 8, w: 8, oc: 16, kh: 3, ph: 1 },
    { n: 2, c: 6, h: 12, w: 12, oc: 16, kh: 5 }, // LeNet-style 5×5, no padding
    { n: 1, c: 4, h: 8, w: 8, oc: 8, kh: 3, kw: 7, ph: 1, pw: 3 }, // a window of 3 vec4s
    { n: 2, c: 5, h: 4, w: 4, oc: 8, kh: 1 }, // 1×1: a window of one vec4
    { n: 2, c: 3, h: 6, w: 8, oc: 8, kh: 3, kw: 5, ph: 1, pw: 6 }, // padding wider than a vec4
  ];
  it('matches the reference with and without bias, in one chunk and in chunks of 1 and 2 images', async () => {
    await checkChunked(shiftedConvForward, SHIFTED);
  });
  it('is chosen only for rows a multiple of 4 wide and 8+ output channels, and frees its textures', async () => {
    expect(shiftedConvFits(geometry({ n: 256, c: 64, h: 32, w: 32, oc: 64, kh: 3, ph: 1 }), rt.limits)).toBe(true);
    expect(shiftedConvFits(geometry({ n: 64, c: 6, h: 14, w: 14, oc: 16, kh: 5 }), rt.limits)).toBe(false); // 10 wide
    expect(shiftedConvFits(geometry({ n: 2, c: 4, h: 8, w: 8, oc: 6, kh: 3, ph: 1 }), rt.limits)).toBe(false); // 6 channels
    await expectTexturesReleased(shiftedConvForward);
  });
});

describe('conv2d forward through the texture GEMM reading x in place (window)', () => {
  // Stride 1, undilated, input and output rows a multiple of 4 wide; heights that leave a
  // partial block of 4 output rows, padding 0–3, kernels 1–7 wide.
  const WINDOW: ConvSpec[] = [
    { n: 2, c: 3, h: 8, w: 8, oc: 8, kh: 3, ph: 1 },
    { n: 2, c: 16, h: 7, w: 8, oc: 16, kh: 3, ph: 1 }, // 7 rows: a partial row block
    { n: 2, c: 6, h: 14, w: 28, oc: 16, kh: 5, kw: 5, ph: 2 }, // LeNet-5 conv1-like, wide rows
    { n: 2, c: 6, h: 12, w: 12, oc: 16, kh: 5 }, // 5×5, no padding: a shift of a whole texel
    { n: 1, c: 4, h: 9, w: 8, oc: 12, kh: 3, kw: 7, ph: 2, pw: 3 }, // 7 wide, padding 3
    { n: 2, c: 5, h: 4, w: 4, oc: 8, kh: 1 }, // 1×1
    { n: 3, c: 2, h: 5, w: 16, oc: 9, kh: 2, kw: 1, ph: 1, pw: 0 }, // 9 channels, kh > kw, 6 output rows
    { n: 1, c: 3, h: 13, w: 16, oc: 9, kh: 1, kw: 5, pw: 4 }, // output rows wider than the input's (20 vs 16): the last texels are all padding
  ];
  it('matches the reference with and without bias, in one chunk and in chunks of 1 and 2 images', async () => {
    // Every shape is eligible (at a batch large enough to fill the GEMM's blocks).
    for (const s of WINDOW) expect(windowConvFits(geometry({ ...s, n: 256 }), rt.limits), JSON.stringify(s)).toBe(true);
    await checkChunked(windowConvForward, WINDOW);
  });
  it('applies a fused ReLU, with every block shape', async () => {
    const g = geometry({ n: 2, c: 5, h: 7, w: 12, oc: 12, kh: 3, ph: 1 });
    const x = randn(g.n * g.c * g.h * g.w), w = randn(g.oc * g.c * 9), bias = randn(g.oc);
    const want = cpuConv.conv2d(f64(x), f64(w), f64(bias), g).map((v) => Math.max(v, 0));
    const [gx, gw, gb] = [x, w, bias].map((a) => track(rt.upload(a))) as [GpuStorage, GpuStorage, GpuStorage];
    for (const block of [{ r: 4, t: 4 }, { r: 4, t: 2 }, { r: 2, t: 2 }, { r: 1, t: 3 }]) {
      expectClose(await rt.read(track(windowConvForward(rt, gx, gw, gb, g, Infinity, { relu: true }, block))), want, `block ${block.r}x${block.t}`);
    }
  });
  it('is chosen only for stride-1 undilated convolutions over 4-multiple rows, and frees its textures', async () => {
    expect(windowConvFits(geometry({ n: 256, c: 64, h: 32, w: 32, oc: 64, kh: 3, ph: 1 }), rt.limits)).toBe(true);
    expect(windowConvFits(geometry({ n: 2, c: 4, h: 11, w: 15, oc: 8, kh: 3, sh: 2, ph: 1 }), rt.limits)).toBe(false); // stride 2
    expect(windowConvFits(geometry({ n: 1, c: 5, h: 9, w: 12, oc: 10, kh: 3, dh: 2, dw: 2, ph: 2 }), rt.limits)).toBe(false); // dilated
    expect(windowConvFits(geometry({ n: 64, c: 6, h: 14, w: 14, oc: 16, kh: 5 }), rt.limits)).toBe(false); // 10 wide
    expect(windowConvFits(geometry({ n: 2, c: 3, h: 6, w: 8, oc: 8, kh: 3, kw: 5, ph: 1, pw: 6 }), rt.limits)).toBe(false); // padding past a texel
    expect(windowConvFits(geometry({ n: 2, c: 4, h: 8, w: 8, oc: 6, kh: 3, ph: 1 }), rt.limits)).toBe(false); // 6 channels
    await expectTexturesReleased(windowConvForward);
  });
});
