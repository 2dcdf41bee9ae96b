/**
 * The conv2d and pool2d WGSL kernels against the CPU reference (engine/cpu), on the
 * same float32 inputs, over geometries chosen to hit the indexing edge cases:
 * odd sizes, size-1 dims, strides 2 and 3, padding, dilation, non-square kernels,
 * kernel == input, batch > 1, a single channel, strides larger than the kernel.
 */
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import type { Conv2dGeometry, Pool2dGeometry } from '../engine/backend.js';
import * as cpuConv from '../engine/cpu/conv.js';
import * as cpuPool from '../engine/cpu/pool.js';
import { Generator } from '../engine/random.js';
import { acquireDevice } from '../gpu/device.js';
import { GpuRuntime, type GpuStorage } from '../gpu/runtime.js';
import { conv2dForward, conv2dGradInput, conv2dGradWeight } from '../kernels/conv2d.js';
import { avgPool2d, avgPool2dGrad, maxPool2d, maxPool2dGrad } from '../kernels/pool2d.js';

/** PyTorch's output size: floor((in + 2·pad − dil·(k − 1) − 1) / stride) + 1. */
const outSize = (size: number, k: number, s: number, p: number, d: number) => Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;

type ConvSpec = { n: number; c: number; h: number; w: number; oc: number; kh: number; kw: number; sh?: number; sw?: number; ph?: number; pw?: number; dh?: number; dw?: number };

function convGeometry(s: ConvSpec): Conv2dGeometry {
  const sh = s.sh ?? 1, sw = s.sw ?? sh, ph = s.ph ?? 0, pw = s.pw ?? ph, dh = s.dh ?? 1, dw = s.dw ?? dh;
  return { ...s, sh, sw, ph, pw, dh, dw, oh: outSize(s.h, s.kh, sh, ph, dh), ow: outSize(s.w, s.kw, sw, pw, dw) };
}

type PoolSpec = { n: number; c: number; h: number; w: number; kh: number; kw: number; sh?: number; sw?: number; ph?: number; pw?: number };

function poolGeometry(s: PoolSpec): Pool2dGeometry {
  const sh = s.sh ?? s.kh, sw = s.sw ?? s.kw, ph = s.ph ?? 0, pw = s.pw ?? ph;
  return { ...s, sh, sw, ph, pw, oh: outSize(s.h, s.kh, sh, ph, 1), ow: outSize(s.w, s.kw, sw, pw, 1) };
}

const label = (g: object) => Object.entries(g).map(([k, v]) => `${k}${v}`).join(' ');

function randn(rng: Generator, size: number): Float32Array {
  const a = new Float32Array(size);
  for (let i = 0; i < size; i++) a[i] = rng.normal();
  return a;
}

/** Every element within float32 tolerance of the float64 reference; NaN must match NaN. */
function expectClose(actual: Float32Array, expected: Float64Array, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, b = expected[i]!;
    const ok = Number.isNaN(b) ? Number.isNaN(a) : a === b || Math.abs(a - b) <= 1e-4 + 1e-4 * Math.abs(b);
    if (!ok) expect.fail(`${what}: element ${i} is ${a}, expected ${b}`);
  }
}

let rt: GpuRuntime;
const live: GpuStorage[] = [];
/** Remembers a storage so that it is released after the test, pass or fail. */
const track = (s: GpuStorage) => (live.push(s), s);
const upload = (a: Float32Array) => track(rt.upload(a));

afterEach(() => {
  for (const s of live.splice(0)) rt.release(s);
});

beforeAll(async () => {
  rt = new GpuRuntime(await acquireDevice());
});

afterAll(() => {
  rt?.destroy();
});

const convCases: ConvSpec[] = [
  { n: 1, c: 3, h: 8, w: 8, oc: 4, kh: 3, kw: 3, ph: 1 },
  { n: 2, c: 5, h: 7, w: 9, oc: 6, kh: 3, kw: 3 },
  { n: 2, c: 3, h: 11, w: 10, oc: 5, kh: 3, kw: 3, sh: 2, ph: 1 },
  { n: 1, c: 2, h: 10, w: 13, oc: 3, kh: 3, kw: 2, sh: 3, ph: 1, pw: 0 },
  { n: 1, c: 3, h: 9, w: 9, oc: 2, kh: 3, kw: 3, ph: 2, dh: 2 },
  { n: 2, c: 2, h: 12, w: 11, oc: 3, kh: 3, kw: 3, sh: 2, ph: 2, dh: 2 },
  { n: 1, c: 2, h: 9, w: 10, oc: 3, kh: 3, kw: 2, sh: 2, sw: 1, ph: 1, pw: 2, dh: 1, dw: 2 },
  { n: 2, c: 3, h: 6, w: 7, oc: 2, kh: 1, kw: 5, pw: 2 },
  { n: 2, c: 3, h: 5, w: 5, oc: 4, kh: 5, kw: 5 }, // kernel == input: 1×1 output
  { n: 1, c: 1, h: 1, w: 1, oc: 1, kh: 1, kw: 1 },
  { n: 3, c: 1, h: 1, w: 7, oc: 2, kh: 1, kw: 3, pw: 1 },
  { n: 1, c: 1, h: 9, w: 6, oc: 1, kh: 1, kw: 1, sh: 2 },
  { n: 2, c: 2, h: 10, w: 9, oc: 3, kh: 2, kw: 2, sh: 3 }, // stride > kernel: some inputs are never read
  { n: 1, c: 2, h: 4, w: 3, oc: 2, kh: 1, kw: 1, ph: 2, pw: 1 }, // padding wider than the kernel
  { n: 1, c: 3, h: 15, w: 13, oc: 4, kh: 7, kw: 3, sh: 2, ph: 3, pw: 1 },
  { n: 2, c: 8, h: 12, w: 12, oc: 16, kh: 3, kw: 3, ph: 1 },
];

describe('conv2d kernels match the CPU reference', () => {
  convCases.forEach((spec, k) => {
    const g = convGeometry(spec);
    it(`#${k} ${label(spec)} → ${g.oh}×${g.ow}`, async () => {
      const rng = new Generator(1000 + k);
      const x = randn(rng, g.n * g.c * g.h * g.w);
      const w = randn(rng, g.oc * g.c * g.kh * g.kw);
      const bias = randn(rng, g.oc);
      const gy = randn(rng, g.n * g.oc * g.oh * g.ow);
      const [x64, w64, b64, gy64] = [x, w, bias, gy].map((a) => Float64Array.from(a)) as [Float64Array, Float64Array, Float64Array, Float64Array];
      const [xs, ws, bs, gys] = [x, w, bias, gy].map(upload) as [GpuStorage, GpuStorage, GpuStorage, GpuStorage];

      expectClose(await rt.read(track(conv2dForward(rt, xs, ws, bs, g))), cpuConv.conv2d(x64, w64, b64, g), 'forward (bias)');
      expectClose(await rt.read(track(conv2dForward(rt, xs, ws, null, g))), cpuConv.conv2d(x64, w64, null, g), 'forward (no bias)');
      expectClose(await rt.read(track(conv2dGradInput(rt, gys, ws, g))), cpuConv.conv2dGradInput(gy64, w64, g), 'grad input');
      expectClose(await rt.read(track(conv2dGradWeight(rt, xs, gys, g))), cpuConv.conv2dGradWeight(x64, gy64, g), 'grad weight');
    });
  });
});

const poolCases: PoolSpec[] = [
  { n: 2, c: 3, h: 8, w: 8, kh: 2, kw: 2 },
  { n: 1, c: 2, h: 7, w: 9, kh: 3, kw: 3, sh: 2, ph: 1 }, // overlapping windows
  { n: 1, c: 2, h: 5, w: 6, kh: 3, kw: 3, sh: 1, ph: 1 },
  { n: 2, c: 2, h: 5, w: 7, kh: 5, kw: 7 }, // kernel == input: 1×1 output
  { n: 1, c: 3, h: 6, w: 11, kh: 2, kw: 3, sh: 1, sw: 3, ph: 1, pw: 1 },
  { n: 1, c: 2, h: 10, w: 11, kh: 3, kw: 2, sh: 3, sw: 3, ph: 1, pw: 1 },
  { n: 1, c: 1, h: 1, w: 1, kh: 1, kw: 1 },
  { n: 2, c: 1, h: 1, w: 6, kh: 1, kw: 3, sh: 1, sw: 2, ph: 0, pw: 1 },
  { n: 4, c: 1, h: 9, w: 10, kh: 2, kw: 2, sh: 3, sw: 3 }, // stride > kernel: some inputs are in no window
  { n: 2, c: 4, h: 13, w: 12, kh: 3, kw: 3, sh: 2, ph: 1 },
  { n: 3, c: 2, h: 6, w: 16, kh: 2, kw: 2 }, // without indices: the vec4 2×2 kernel (as case 0)
];

/** Small integers make ties common (first maximum must win); an all-negative plane checks that padding is −inf, not 0. */
function poolInput(rng: Generator, g: Pool2dGeometry, flavour: 'normal' | 'ties' | 'negative'): Float32Array {
  const a = randn(rng, g.n * g.c * g.h * g.w);
  if (flavour === 'ties') for (let i = 0; i < a.length; i++) a[i] = Math.floor(a[i]! * 1.5);
  if (flavour === 'negative') for (let i = 0; i < a.length; i++) a[i] = -1 - Math.abs(a[i]!);
  return a;
}

describe('pool2d kernels match the CPU reference', () => {
  poolCases.forEach((spec, k) => {
    const g = poolGeometry(spec);
    for (const flavour of ['normal', 'ties', 'negative'] as const) {
      it(`#${k} ${flavour} ${label(spec)} → ${g.oh}×${g.ow}`, async () => {
        const rng = new Generator(2000 + 10 * k + flavour.length);
        const x = poolInput(rng, g, flavour);
        const gy = randn(rng, g.n * g.c * g.oh * g.ow);
        const [x64, gy64] = [Float64Array.from(x), Float64Array.from(gy)];
        const [xs, gys] = [upload(x), upload(gy)];

        const want = cpuPool.maxPool2d(x64, g);
        const got = maxPool2d(rt, xs, g);
        track(got.out);
        const argmax = track(got.argmax!);
        expectClose(await rt.read(got.out), want.out, 'max forward');
        expect(Array.from(await rt.read(argmax)), 'argmax').toEqual(Array.from(want.argmax));
        // Backward from the kernel's own argmax (shown equal to the reference's above).
        expectClose(await rt.read(track(maxPool2dGrad(rt, gys, argmax, g))), cpuPool.maxPool2dGrad(gy64, want.argmax, g), 'max grad');
        // The inference variant (no indices) gives the same outputs.
        const plain = maxPool2d(rt, xs, g, false);
        expect(plain.argmax).toBeNull();
        expectClose(await rt.read(track(plain.out)), want.out, 'max forward without indices');

        for (const includePad of [true, false]) {
          const tag = includePad ? 'count_include_pad' : 'exclude pad';
          expectClose(await rt.read(track(avgPool2d(rt, xs, g, includePad))), cpuPool.avgPool2d(x64, g, includePad), `avg forward (${tag})`);
          expectClose(await rt.read(track(avgPool2dGrad(rt, gys, g, includePad))), cpuPool.avgPool2dGrad(gy64, g, includePad), `avg grad (${tag})`);
        }
        });
    }
  });

  it('max pooling propagates NaN and points argmax at the first NaN', async () => {
    const g = poolGeometry({ n: 1, c: 1, h: 4, w: 6, kh: 2, kw: 3, sh: 2, sw: 3 });
    const x = randn(new Generator(7), g.h * g.w);
    x[1] = NaN; // window 0: after a finite value
    x[4] = NaN; // window 1: the first of two NaNs, in different rows
    x[11] = NaN;
    x[13] = x[14] = NaN; // window 2: two NaNs in one row
    const want = cpuPool.maxPool2d(Float64Array.from(x), g);
    const got = maxPool2d(rt, upload(x), g);
    track(got.out);
    track(got.argmax!);
    expectClose(await rt.read(got.out), want.out, 'max forward');
    // The kernel takes the first NaN in row-major order. The CPU reference's \`break\`
    // only leaves the inner (column) loop, so for window 1 it reports the NaN of the
    // last row that has one (11); compare the other windows with it and this one by hand.
    const argmax = Array.from(await rt.read(got.argmax!));
    expect(argmax[1]).toBe(4);
    expect([argmax[0], argmax[2], argmax[3]]).toEqual([want.argmax[0], want.argmax[2], want.argmax[3]]);
    expect(argmax[2]).toBe(13);
  });

  it('the vec4 2x2 inference kernel propagates NaN like the general one', async () => {
    const g = poolGeometry({ n: 1, c: 2, h: 4, w: 8, kh: 2, kw: 2 });
    const x = randn(new Generator(8), g.c * g.h * g.w);
    for (const k of [0, 3, 9, 12, 13, 21, 22, 30, 50]) x[k] = NaN; // first, later, second-row and several per window
    x[40] = -Infinity;
    const want = cpuPool.maxPool2d(Float64Array.from(x), g);
    const got = Array.from(await rt.read(track(maxPool2d(rt, upload(x), g, false).out)));
    expect(got.map((v) => Number.isNaN(v))).toEqual(Array.from(want.out, (v) => Number.isNaN(v)));
    expect(got.filter((v) => !Number.isNaN(v))).toEqual(Array.from(want.out).filter((v) => !Number.isNaN(v)));
  });

  it('releases every storage it made', () => {
    expect(rt.memoryStats().storages).toBe(0);
  });
});
