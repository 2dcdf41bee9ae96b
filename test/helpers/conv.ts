/**
 * Shared by the convolution kernel tests: geometry from a short spec, a GPU runtime opened for the
 * file (storages tracked and released after each test), seeded random inputs, and the comparison
 * against the float64 CPU reference.
 */
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { Conv2dGeometry } from '../../gpu/types.js';
import { Generator } from '../../engine/random.js';
import { acquireDevice } from '../../gpu/device.js';
import { GpuRuntime, type GpuStorage } from '../../gpu/runtime.js';

export const outSize = (size: number, k: number, s: number, p: number, d: number) => Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;

/** A convolution by its sizes; kw defaults to kh, stride/padding/dilation along w to those along h. */
export type ConvSpec = { n: number; c: number; h: number; w: number; oc: number; kh: number; kw?: number; sh?: number; sw?: number; ph?: number; pw?: number; dh?: number; dw?: number };

export function geometry(s: ConvSpec): Conv2dGeometry {
  const kw = s.kw ?? s.kh, sh = s.sh ?? 1, sw = s.sw ?? sh, ph = s.ph ?? 0, pw = s.pw ?? ph, dh = s.dh ?? 1, dw = s.dw ?? dh;
  return { ...s, kw, sh, sw, ph, pw, dh, dw, oh: outSize(s.h, s.kh, sh, ph, dh), ow: outSize(s.w, kw, sw, pw, dw) };
}

/** The file's runtime (set by useGpuRuntime's beforeAll). */
export let rt: GpuRuntime;
const live: GpuStorage[] = [];
let rng = new Generator(0);

/** Opens a runtime for the test file, releases tracked storages after each test, destroys it at the end. */
export function useGpuRuntime(seed: number): void {
  rng = new Generator(seed);
  beforeAll(async () => {
    rt = new GpuRuntime(await acquireDevice());
  });
  afterEach(() => {
    for (const s of live.splice(0)) rt.release(s);
  });
  afterAll(() => rt?.destroy());
}

/** Releases `s` after the current test. */
export const track = (s: GpuStorage) => (live.push(s), s);
export const randn = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
export const f64 = (a: Float32Array) => Float64Array.from(a);

/** Element-wise within 1e-4 relative (plus 1e-5 of the largest magnitude), naming the first element off. */
export function expectClose(got: Float32Array, want: Float64Array, what: string): void {
  expect(got.length, what).toBe(want.length);
  let scale = 0;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= 1e-4 * (1 + Math.abs(want[i]!)) + 1e-5 * scale)) expect.fail(`${what}: element ${i} is ${got[i]}, expected ${want[i]}`);
  }
}
