/** Strided addressing of the per-element kernels: launch simplification and the float division. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../index.js';
import type { WebGpuBackend } from '../engine/webgpu/backend.js';
import { programFamily } from '../gpu/program.js';
import { simplifyStrided, stridedLaunch, udivWgsl } from '../kernels/strided-index.js';
import { expectParity, initBoth, on, shutdown } from './helpers/backends.js';

beforeAll(initBoth);
afterAll(shutdown);

describe('launch simplification (host side)', () => {
  it('merges a per-channel broadcast over [N, C, H, W] into [N, C, H·W] and drops size-1 dims', () => {
    const x = { offset: 0, strides: [64 * 36, 36, 6, 1] };
    const scale = { offset: 3, strides: [0, 1, 0, 0] };
    expect(simplifyStrided([8, 64, 6, 6], [x, scale])).toEqual({ shape: [8, 64, 36], strides: [[64 * 36, 36, 1], [0, 1, 0]] });
    const launch = stridedLaunch([8, 64, 6, 6], [x, scale]);
    expect(launch.rank).toBe(3);
    expect(launch.flat).toEqual([true, false]);
    expect(launch.params).toEqual({ n: 8 * 64 * 36, d0: 8, d1: 64, d2: 36, o0: 0, s0_0: 64 * 36, s0_1: 36, s0_2: 1, o1: 3, s1_0: 0, s1_1: 1, s1_2: 0 });
    expect(simplifyStrided([1, 5, 1], [{ offset: 0, strides: [5, 1, 1] }])).toEqual({ shape: [5], strides: [[1]] });
  });

  it('merges contiguous views into one flat dimension, and keeps a transpose two-dimensional', () => {
    expect(stridedLaunch([4, 5, 6], [{ offset: 0, strides: [30, 6, 1] }, { offset: 7, strides: [30, 6, 1] }])).toMatchObject({ rank: 1, flat: [true, true] });
    const t = stridedLaunch([5, 4], [{ offset: 0, strides: [1, 5] }]);
    expect(t).toMatchObject({ rank: 2, flat: [false] });
    expect(stridedLaunch([], [{ offset: 2, strides: [] }])).toMatchObject({ rank: 0, flat: [true], size: 1 });
  });

  it('falls back to integer division for dimensions of 2^23 or more', () => {
    expect(stridedLaunch([2, 2 ** 23 + 3], [{ offset: 0, strides: [1, 0] }]).floatDivision).toBe(false);
    expect(stridedLaunch([2, 2 ** 22], [{ offset: 0, strides: [1, 0] }]).floatDivision).toBe(true);
  });
});

describe('vec4 launches (4 outputs an invocation)', () => {
  it('reads stride-1 views as vec4s and broadcast ones as splats, only where every view allows it', () => {
    const x = { offset: 0, strides: [64 * 36, 36, 6, 1] };
    const scale = { offset: 3, strides: [0, 1, 0, 0] };
    const launch = stridedLaunch([8, 64, 6, 6], [x, scale], { vec4: true });
    expect(launch.vec4).toEqual(['vec4', 'splat']);
    expect(launch.invocations).toBe(8 * 64 * 36 / 4);
    expect(launch.params.n).toBe(launch.invocations);
    // Inner dimension 6: no vec4; a start off the 4-grid, or a transposed view: no vec4.
    expect(stridedLaunch([3, 6], [{ offset: 0, strides: [6, 1] }, { offset: 0, strides: [0, 1] }], { vec4: true }).vec4).toBeNull();
    expect(stridedLaunch([3, 8], [{ offset: 2, strides: [10, 1] }], { vec4: true }).vec4).toBeNull();
    expect(stridedLaunch([8, 4], [{ offset: 0, strides: [1, 8] }], { vec4: true }).vec4).toBeNull();
  });

  // Shapes with an inner dimension of 8, so the vec4 launches run, next to ones that fall back.
  it('binary ops, where, addcmul and copies match the CPU on vec4, splat and fallback views', async () => {
    const spec = (shape: number[]) => ({ shape });
    await expectParity(([a, b]) => wg.add(a!, b!), [spec([3, 5, 8]), spec([5, 1])]);
    await expectParity(([a, b]) => wg.div(a!, b!), [spec([2, 8]), spec([3, 1, 8])]);
    await expectParity(([a, b]) => wg.maximum(a!, b!), [spec([4, 8]), spec([4, 8])]);
    await expectParity(([c, a, b]) => wg.where(wg.gt(c!, 0), a!, b!), [spec([2, 1, 8]), spec([2, 3, 8]), spec([3, 1])]);
    await expectParity(([i, a, b]) => wg.addcmul(i!, a!, b!, 0.5), [spec([1, 6, 1, 1]), spec([2, 6, 4, 4]), spec([1, 6, 1, 1])]);
    // A slice starting off the 4-grid, and a transpose: scalar fallbacks inside the same ops.
    await expectParity(([a, b]) => wg.mul(wg.narrow(a!, 1, 1, 8), b!), [spec([3, 9]), spec([8])]);
    await expectParity(([a, b]) => wg.sub(wg.transpose(a!, 0, 1), b!), [spec([8, 4]), spec([4, 8])]);
    await expectParity(([a]) => wg.relu(wg.expand(a!, [3, 4, 8])), [spec([4, 1])]);
    await expectParity(([a]) => wg.reshape(wg.permute(a!, [1, 0, 2]), [-1]), [spec([3, 2, 8])]);
  });
});

describe('udiv: floor(a / b) in float arithmetic (webgpu)', () => {
  it('is exact for a < 2^30 and b < 2^23, including quotients at and next to integers', async () => {
    const pairs: Array<[number, number]> = [];
    const g = new wg.Generator(7);
    const divisors = [1, 2, 3, 7, 255, 256, 4097, 65535, 65536, 99991, 2 ** 20 + 1, 2 ** 23 - 1];
    for (const b of divisors) {
      for (const a of [0, 1, b - 1, b, b + 1, 2 ** 24 - 1, 2 ** 24, 2 ** 24 + 1, 2 ** 30 - 1, 2 ** 30 - b]) if (a >= 0 && a < 2 ** 30) pairs.push([a, b]);
      // Multiples of b and their neighbours across the range, where rounding would show.
      for (let i = 0; i < 200; i++) {
        const k = Math.floor(g.uniform() * Math.floor((2 ** 30 - 2) / b));
        for (const a of [k * b - 1, k * b, k * b + 1]) if (a >= 0 && a < 2 ** 30) pairs.push([a, b]);
      }
    }
    for (let i = 0; i < 4000; i++) pairs.push([Math.floor(g.uniform() * 2 ** 30), 1 + Math.floor(g.uniform() * (2 ** 23 - 1))]);
    const input = new Uint32Array(pairs.flat());
    const program = programFamily('test:udiv', () => ({
      inputs: [{ name: 'AB', type: 'array<u32>' }],
      outputs: [{ name: 'Q', type: 'array<u32>' }],
      workgroupSize: [64],
      params: [['n', 'u32']],
      body: () => `${udivWgsl}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= P.n) { return; }
  Q[i] = udiv(AB[2u * i], AB[2u * i + 1u]);
}`,
    }))({});
    const rt = (wg.getBackend('webgpu') as WebGpuBackend).rt;
    const ab = rt.upload(new Float32Array(input.buffer));
    const q = rt.alloc(pairs.length);
    rt.run(program, [ab], [q], { n: pairs.length }, Math.ceil(pairs.length / 64));
    const got = new Uint32Array((await rt.read(q)).buffer);
    rt.release(ab);
    rt.release(q);
    const wrong = pairs.filter(([a, b], i) => got[i] !== Math.floor(a / b)).slice(0, 5);
    expect(wrong).toEqual([]);
  });
});

describe('broadcasting past 2^24 elements (webgpu)', () => {
  // 2^24 + a few elements: a float-only index split would misplace some of them.
  it.each([
    ['float division', [4097, 4099]],
    ['integer division (a dimension of 2^23 or more)', [2, 2 ** 23 + 3]],
  ] as const)('adds a row broadcast exactly with %s', async (_label, [rows, cols]) => {
    const a = new Float32Array(rows * cols);
    for (let i = 0; i < a.length; i++) a[i] = i % 1021;
    const b = new Float32Array(rows);
    for (let r = 0; r < rows; r++) b[r] = 2000 * (r % 7);
    const out = await on('webgpu', async () => {
      const y = wg.tensor(a, [rows, cols]).add(wg.tensor(b, [rows, 1]));
      const data = await y.toArray();
      y.dispose();
      return data;
    });
    let bad = -1;
    for (let i = 0; i < a.length && bad < 0; i++) if (out[i] !== a[i]! + b[Math.floor(i / cols)]!) bad = i;
    expect(bad).toBe(-1);
  });
});
