/** CSR/BSR SpMM and SpMV kernels (WebGPU and the CPU reference) against dense products. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BLOCK_SHAPES, BsrMatrix, CsrMatrix, getBackend, memoryStats, type BlockShape } from '../index.js';
import type { WebGpuBackend } from '../engine/webgpu/backend.js';
import { csrSpmmWith, uploadCsr } from '../kernels/sparse/csr-spmm.js';
import { bsrSpmmWith, uploadBsr } from '../kernels/sparse/bsr-spmm.js';
import { expectClose, initBoth, shutdown } from './helpers/backends.js';
import { denseLinear, type Pattern, randomDense, randomSparse } from './helpers/sparse.js';

beforeAll(initBoth);
afterAll(shutdown);

async function run(backendName: 'cpu' | 'webgpu', m: CsrMatrix | BsrMatrix, x: Float32Array, batch: number, bias?: Float32Array): Promise<Float64Array> {
  const be = getBackend(backendName);
  const w = be.uploadSparse(m);
  const xs = be.upload(x);
  const bs = bias ? be.upload(bias) : null;
  const y = be.sparseMatmul(w, xs, bs, batch);
  const out = Float64Array.from(await be.read(y));
  for (const s of [xs, y, ...(bs ? [bs] : [])]) be.release(s);
  be.releaseSparse(w);
  return out;
}

/** Tolerance scaled by the magnitude of the result (f32 sums of up to `cols` terms). */
function tol(expected: Float64Array) {
  let max = 0;
  for (const v of expected) max = Math.max(max, Math.abs(v));
  return { rtol: 1e-5, atol: 1e-5 * Math.max(1, max) };
}

const cases: Array<{ rows: number; cols: number; density: number; pattern: Pattern; batch: number }> = [
  { rows: 37, cols: 53, density: 0.2, pattern: 'random', batch: 5 },
  { rows: 64, cols: 96, density: 0.1, pattern: 'empty-rows', batch: 1 },
  { rows: 50, cols: 700, density: 0.02, pattern: 'long-row', batch: 3 },
  { rows: 50, cols: 700, density: 0.02, pattern: 'long-row', batch: 1 },
  { rows: 16, cols: 24, density: 0, pattern: 'zero', batch: 4 },
  { rows: 19, cols: 33, density: 1, pattern: 'full', batch: 7 },
  { rows: 40, cols: 44, density: 0.5, pattern: 'blocks', batch: 9 },
  { rows: 130, cols: 257, density: 0.3, pattern: 'random', batch: 130 },
  { rows: 40, cols: 128, density: 0.3, pattern: 'random', batch: 12 }, // 512-byte rows: x reaches its texture through a copy
];

describe('sparse matmul: every format against the dense product', () => {
  for (const c of cases) {
    const label = `${c.rows}x${c.cols} ${c.pattern} d=${c.density} batch ${c.batch}`;
    it(label, async () => {
      const a = randomSparse(c.rows, c.cols, c.density, c.pattern, c.rows * 7 + c.batch);
      const x = randomDense(c.batch * c.cols, 3);
      const bias = randomDense(c.rows, 4);
      const expected = denseLinear(a, c.rows, c.cols, x, c.batch, bias);
      const formats: Array<[string, CsrMatrix | BsrMatrix]> = [['csr', CsrMatrix.fromDense(a, c.rows, c.cols)]];
      for (const b of BLOCK_SHAPES) formats.push([`bsr ${b.join('x')}`, BsrMatrix.fromDense(a, c.rows, c.cols, b as BlockShape)]);
      for (const [name, m] of formats) {
        for (const be of ['cpu', 'webgpu'] as const) {
          expectClose(await run(be, m, x, c.batch, bias), expected, tol(expected), `${name} on ${be}`);
        }
      }
      // Without bias too (its own pipeline variant).
      const noBias = denseLinear(a, c.rows, c.cols, x, c.batch);
      expectClose(await run('webgpu', formats[0]![1], x, c.batch), noBias, tol(noBias), 'csr without bias');
      expectClose(await run('webgpu', formats[4]![1], x, c.batch), noBias, tol(noBias), 'bsr 8x8 without bias');
    });
  }

  it('splits a single very long row over several threads (fix-up pass) for SpMM and SpMV', async () => {
    const rows = 8, cols = 3000;
    const a = randomSparse(rows, cols, 0.001, 'long-row', 11);
    const m = CsrMatrix.fromDense(a, rows, cols);
    expect(m.rowLength(4)).toBe(cols);
    for (const batch of [1, 6, 64]) {
      const x = randomDense(batch * cols, batch);
      const expected = denseLinear(a, rows, cols, x, batch);
      expectClose(await run('webgpu', m, x, batch), expected, tol(expected), `batch ${batch}`);
    }
  });

  it('uses 32-bit column indices past 65536 columns', async () => {
    const rows = 3, cols = 70000;
    const a = new Float32Array(rows * cols);
    a[0 * cols + 69999] = 2; a[1 * cols + 65536] = -3; a[2 * cols + 5] = 1.5; a[2 * cols + 66000] = 0.5;
    const csr = CsrMatrix.fromDense(a, rows, cols);
    expect(csr.indexBits).toBe(32);
    const x = randomDense(2 * cols, 9);
    const expected = denseLinear(a, rows, cols, x, 2);
    expectClose(await run('webgpu', csr, x, 2), expected, tol(expected), 'csr i32');
    expectClose(await run('webgpu', csr, x.subarray(0, cols), 1), expected.subarray(0, rows), tol(expected), 'csr i32 spmv');
  });

  it('CSR SpMM reads through textures and through storage buffers alike, at every batch tile, and frees its textures', async () => {
    const rt = (getBackend('webgpu') as WebGpuBackend).rt;
    const rows = 70, cols = 300, batch = 36;
    const a = randomSparse(rows, cols, 0.3, 'random', 5); // ~6,300 non-zeros: the CV texture spans two rows
    const m = CsrMatrix.fromDense(a, rows, cols);
    const x = randomDense(batch * cols, 6);
    const expected = denseLinear(a, rows, cols, x, batch);
    const before = memoryStats().inUseBytes;
    const xs = rt.upload(x);
    for (const textures of [true, false]) {
      const layout = { sort: true, maxSegment: 16 };
      const operands = textures ? 'texture' as const : 'buffer' as const;
      const w = uploadCsr(rt, m, { kernel: 'spmm', operands, layout, tb: 1, threads: 64 });
      expect(w.texture('cv') !== null).toBe(textures);
      for (const tb of [1, 2, 4, 8]) { // 9 batch vec4s: tb 2, 4 and 8 leave a partial last group
        const y = csrSpmmWith(rt, { kernel: 'spmm', operands, layout, tb, threads: 64 }, w, xs, null, batch);
        expectClose(Float64Array.from(await rt.read(y)), expected, tol(expected), `${textures ? 'texture' : 'storage'} path, tb ${tb}`);
        rt.release(y);
      }
      w.release();
    }
    rt.release(xs);
    await rt.sync();
    expect(memoryStats().inUseBytes).toBe(before);
  });

  it('BSR SpMM reads through textures and through storage buffers alike, and frees its textures', async () => {
    const rt = (getBackend('webgpu') as WebGpuBackend).rt;
    const rows = 70, cols = 300, batch = 36;
    const a = randomSparse(rows, cols, 0.5, 'blocks', 8);
    const x = randomDense(batch * cols, 9);
    const bias = randomDense(rows, 10);
    const expected = denseLinear(a, rows, cols, x, batch, bias);
    const before = memoryStats().inUseBytes;
    const xs = rt.upload(x), bs = rt.upload(bias);
    for (const block of BLOCK_SHAPES) {
      const m = BsrMatrix.fromDense(a, rows, cols, block as BlockShape);
      for (const textures of [true, false]) {
        const plan = { operands: textures ? 'texture' as const : 'buffer' as const, tb: 1, threads: 64 };
        const w = uploadBsr(rt, m, plan);
        expect(w.texture('vals') !== null).toBe(textures && m.nnzBlocks > 0);
        const y = bsrSpmmWith(rt, plan, w, xs, bs, batch);
        expectClose(Float64Array.from(await rt.read(y)), expected, tol(expected), `bsr ${block.join('x')} ${textures ? 'texture' : 'storage'} path`);
        rt.release(y);
        w.release();
      }
    }
    rt.release(xs);
    rt.release(bs);
    await rt.sync();
    expect(memoryStats().inUseBytes).toBe(before);
  });
});
