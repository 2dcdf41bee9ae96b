/** Direct sparse convolution (CSR and BSR filters) against the dense conv2d, on both backends. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BLOCK_SHAPES, BsrMatrix, conv2d, CsrMatrix, getBackend, memoryStats, noGrad, sparseConv2d, sparseTensor, tensor, type BlockShape } from '../index.js';
import type { Conv2dGeometry } from '../engine/backend.js';
import type { WebGpuBackend } from '../engine/webgpu/backend.js';
import { sparseConvWith } from '../kernels/sparse/sparse-conv.js';
import { sparseConvCandidates, sparseConvProblem } from '../kernels/sparse/conv-plan.js';
import { uploadBsr } from '../kernels/sparse/bsr-spmm.js';
import { uploadCsr } from '../kernels/sparse/csr-spmm.js';
import { expectClose, initBoth, on, shutdown } from './helpers/backends.js';
import { randomDense, randomSparse } from './helpers/sparse.js';

beforeAll(initBoth);
afterAll(shutdown);

interface Case { n: number; c: number; h: number; w: number; oc: number; k: [number, number]; stride?: number; padding?: number; dilation?: number; density: number; pattern?: 'random' | 'zero' | 'full' | 'long-row' }

const cases: Case[] = [
  { n: 2, c: 3, h: 9, w: 11, oc: 5, k: [3, 3], padding: 1, density: 0.3 },
  { n: 1, c: 6, h: 12, w: 12, oc: 16, k: [5, 5], density: 0.1 },
  { n: 3, c: 4, h: 10, w: 7, oc: 6, k: [3, 2], stride: 2, padding: 2, dilation: 2, density: 0.5 },
  { n: 2, c: 8, h: 8, w: 8, oc: 12, k: [1, 1], density: 0.25 },
  { n: 1, c: 3, h: 6, w: 5, oc: 4, k: [3, 3], padding: 1, density: 0, pattern: 'zero' },
  { n: 2, c: 2, h: 7, w: 9, oc: 3, k: [3, 3], padding: 1, density: 1, pattern: 'full' },
  // Output rows a multiple of 4 wide (the shifted-copies kernel): padded, strided, dilated,
  // a height not a multiple of the row tile, a long row, 1×1.
  { n: 2, c: 5, h: 7, w: 8, oc: 9, k: [3, 3], padding: 1, density: 0.3 },
  { n: 3, c: 4, h: 11, w: 15, oc: 6, k: [3, 3], stride: 2, padding: 1, density: 0.5 },
  { n: 1, c: 3, h: 13, w: 12, oc: 17, k: [3, 3], padding: 2, dilation: 2, density: 0.4, pattern: 'long-row' },
  { n: 2, c: 6, h: 5, w: 8, oc: 20, k: [1, 1], density: 0.35 },
  { n: 1, c: 3, h: 6, w: 8, oc: 4, k: [3, 3], padding: 1, density: 0, pattern: 'zero' },
];

describe('sparseConv2d matches the dense convolution', () => {
  for (const cs of cases) {
    it(`${cs.n}x${cs.c}x${cs.h}x${cs.w} -> ${cs.oc}, k ${cs.k.join('x')}, s${cs.stride ?? 1} p${cs.padding ?? 0} d${cs.dilation ?? 1}, density ${cs.density}`, async () => {
      const cols = cs.c * cs.k[0] * cs.k[1];
      const wd = randomSparse(cs.oc, cols, cs.density, cs.pattern ?? 'random', cs.oc + cols);
      const xd = randomDense(cs.n * cs.c * cs.h * cs.w, 5);
      const bd = randomDense(cs.oc, 6);
      const opts = { stride: cs.stride, padding: cs.padding, dilation: cs.dilation };
      const expected = await on('cpu', () => noGrad(() => conv2d(tensor(xd, [cs.n, cs.c, cs.h, cs.w]), tensor(wd, [cs.oc, cs.c, ...cs.k]), tensor(bd, [cs.oc]), opts)).toFloat64Array());
      let max = 0;
      for (const v of expected) max = Math.max(max, Math.abs(v));
      const tol = { rtol: 1e-5, atol: 1e-5 * Math.max(1, max) };
      const formats: Array<[string, CsrMatrix | BsrMatrix]> = [['csr', CsrMatrix.fromDense(wd, cs.oc, cols)]];
      for (const b of BLOCK_SHAPES) formats.push([`bsr ${b.join('x')}`, BsrMatrix.fromDense(wd, cs.oc, cols, b as BlockShape)]);
      for (const [name, m] of formats) {
        for (const be of ['cpu', 'webgpu'] as const) {
          const out = await on(be, async () => {
            const w = sparseTensor(m);
            const x = tensor(xd, [cs.n, cs.c, cs.h, cs.w]), b = tensor(bd, [cs.oc]);
            const y = sparseConv2d(x, w, cs.k, b, opts);
            const r = await y.toFloat64Array();
            for (const t of [x, b, y, w]) t.dispose();
            return r;
          });
          expectClose(out, expected, tol, `${name} on ${be}`);
        }
      }
    });
  }
});

describe('sparseConv2d kernel: the shifted-copies, row-quad texture and storage paths agree', () => {
  it('on strided, dilated, padded and direct geometries, CSR and BSR, every row tile, freeing its textures', async () => {
    const rt = (getBackend('webgpu') as WebGpuBackend).rt;
    await rt.sync();
    const before = memoryStats().inUseBytes;
    for (const cs of [cases[0]!, cases[2]!, cases[3]!, cases[6]!, cases[7]!, cases[8]!]) {
      const [kh, kw] = cs.k;
      const cols = cs.c * kh * kw;
      const s = cs.stride ?? 1, p = cs.padding ?? 0, d = cs.dilation ?? 1;
      const oh = Math.floor((cs.h + 2 * p - d * (kh - 1) - 1) / s) + 1, ow = Math.floor((cs.w + 2 * p - d * (kw - 1) - 1) / s) + 1;
      const g: Conv2dGeometry = { n: cs.n, c: cs.c, h: cs.h, w: cs.w, oc: cs.oc, kh, kw, sh: s, sw: s, ph: p, pw: p, dh: d, dw: d, oh, ow };
      const wd = randomSparse(cs.oc, cols, cs.density, 'random', 3 + cols);
      const x = rt.upload(randomDense(cs.n * cs.c * cs.h * cs.w, 7));
      const b = rt.upload(randomDense(cs.oc, 8));
      const mats = [CsrMatrix.fromDense(wd, cs.oc, cols), BsrMatrix.fromDense(wd, cs.oc, cols, [4, 4]), BsrMatrix.fromDense(wd, cs.oc, cols, [8, 8])];
      for (const sw of mats.map((m) => (m.format === 'csr' ? uploadCsr(rt, m) : uploadBsr(rt, m)))) {
        const runs = sparseConvCandidates(sparseConvProblem(sw.matrix, g), rt.settings);
        const expected = ['storage', 'storage-t256', 'quad', ...(ow % 4 === 0 ? ['shifted-r1', 'shifted-r2', 'shifted-r3', 'shifted-r4'] : [])];
        expect(runs.map((r) => r.variant).sort()).toEqual(expected.sort());
        const out: Float64Array[] = [];
        for (const { plan } of runs) {
          const y = sparseConvWith(rt, plan, sw, x, b, g);
          out.push(Float64Array.from(await rt.read(y)));
          rt.release(y);
        }
        const base = runs.findIndex((r) => r.variant === 'storage');
        for (let i = 0; i < runs.length; i++) expectClose(out[i]!, out[base]!, { rtol: 1e-6, atol: 1e-6 }, `${sw.matrix.format} ${runs[i]!.variant} vs storage`);
        expect(out[0]!.some((v) => v !== 0)).toBe(true);
        sw.release();
      }
      rt.release(x);
      rt.release(b);
    }
    await rt.sync();
    expect(memoryStats().inUseBytes).toBe(before);
  });
});
