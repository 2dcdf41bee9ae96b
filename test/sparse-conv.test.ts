/** Direct sparse convolution (CSR and BSR filters) against the dense conv2d, on both backends. */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { BLOCK_SHAPES, BsrMatrix, conv2d, CsrMatrix, noGrad, sparseConv2d, sparseTensor, tensor, type BlockShape } from '../index.js';
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
            const y = sparseConv2d(tensor(xd, [cs.n, cs.c, cs.h, cs.w]), w, cs.k, tensor(bd, [cs.oc]), opts);
            const r = await y.toFloat64Array();
            y.dispose();
            w.dispose();
            return r;
          });
          expectClose(out, expected, tol, `${name} on ${be}`);
        }
      }
    });
  }
});
