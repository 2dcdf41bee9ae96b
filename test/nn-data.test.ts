/** Data: the IDX reader on the real MNIST files, MNIST loading, batching, the synthetic CIFAR set. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as wg from '../index.js';
import { parseIdx } from '../nn/data/idx.js';
import { readIdxFile } from '../nn/data/idx-file.js';
import { type ArrayDataset, batches, numBatches, shuffledIndices } from '../nn/data/loader.js';
import { loadMnist, MNIST_MEAN, MNIST_STD, mnistDataDir } from '../nn/data/mnist.js';
import { syntheticCifar } from '../nn/data/synthetic-cifar.js';

let tmp: string;
beforeAll(async () => {
  await wg.init({ backend: 'cpu' });
  tmp = mkdtempSync(join(tmpdir(), 'wgprune-data-'));
});
afterAll(() => {
  wg.shutdown();
  rmSync(tmp, { recursive: true, force: true });
});

/** A well-formed IDX buffer: magic 0x000008<ndims>, big-endian dims, then bytes. */
function idxBytes(dims: number[], fill = 7): Uint8Array {
  const count = dims.reduce((p, d) => p * d, 1);
  const out = new Uint8Array(4 + 4 * dims.length + count);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x800 | dims.length, false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.fill(fill, 4 + 4 * dims.length);
  return out;
}

describe('IDX reader', () => {
  it('reads the MNIST label files: 60000 / 10000, training labels start 5 0 4 1 9', async () => {
    const dir = mnistDataDir();
    const train = await readIdxFile(join(dir, 'train-labels-idx1-ubyte'), 'labels');
    expect(train.dims).toEqual([60000]);
    expect([...train.data.subarray(0, 5)]).toEqual([5, 0, 4, 1, 9]);
    const test = await readIdxFile(join(dir, 't10k-labels-idx1-ubyte'), 'labels');
    expect(test.dims).toEqual([10000]);
    expect([...test.data.subarray(0, 3)]).toEqual([7, 2, 1]);
  });

  it('parses a well-formed buffer and returns a view of the values', () => {
    const bytes = idxBytes([2, 3, 4], 9);
    const a = parseIdx(bytes, { expect: 'images' });
    expect(a.dims).toEqual([2, 3, 4]);
    expect(a.data.length).toBe(24);
    expect(a.data.every((v) => v === 9)).toBe(true);
  });

  it('rejects a truncated file naming the file and the expected and actual sizes', async () => {
    const path = join(tmp, 'cut-images-idx3-ubyte');
    const full = idxBytes([3, 28, 28]);
    writeFileSync(path, full.subarray(0, full.length - 100));
    await expect(readIdxFile(path, 'images')).rejects.toThrow(`${path}: truncated: expected ${full.length} bytes`);
    await expect(readIdxFile(path, 'images')).rejects.toThrow(`got ${full.length - 100}`);
    // A header cut short is caught too.
    writeFileSync(path, full.subarray(0, 10));
    await expect(readIdxFile(path)).rejects.toThrow(/truncated header: expected at least 16 bytes for 3 dimensions, got 10/);
    // So is data past the end.
    const longer = new Uint8Array(full.length + 1);
    longer.set(full);
    expect(() => parseIdx(longer, { name: 'x' })).toThrow(/x: trailing bytes after the data: expected 2368 bytes/);
  });

  it('rejects foreign files with the bad magic number', async () => {
    const path = join(tmp, 'foreign.bin');
    writeFileSync(path, Buffer.from('PK\x03\x04 this is a zip file, not IDX'));
    await expect(readIdxFile(path)).rejects.toThrow(`${path}: bad magic 0x504b0304: not an IDX file`);
    writeFileSync(path, new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]));
    await expect(readIdxFile(path)).rejects.toThrow(/bad magic 0x1f8b0800: the file is gzip-compressed/);
    expect(() => parseIdx(new Uint8Array([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]))).toThrow(/bad magic 0x00000d01: IDX element type f32 is not supported/);
    expect(() => parseIdx(new Uint8Array([1, 2]), { name: 'tiny' })).toThrow(/tiny: not an IDX file: 2 bytes/);
  });

  it('rejects a file of the wrong kind (labels given as images and vice versa)', async () => {
    const labels = join(mnistDataDir(), 't10k-labels-idx1-ubyte');
    await expect(readIdxFile(labels, 'images')).rejects.toThrow(`${labels}: expected an IDX images file (magic 0x00000803), got magic 0x00000801 (a labels file)`);
    expect(() => parseIdx(idxBytes([2, 2, 2]), { name: 'imgs', expect: 'labels' })).toThrow(/imgs: expected an IDX labels file \(magic 0x00000801\), got magic 0x00000803 \(an images file\)/);
  });
});

describe('MNIST', () => {
  it('loads the full training split: 60000 normalised 1×28×28 images, mean ≈ 0, std ≈ 1', async () => {
    const ds = await loadMnist('train');
    expect(ds.n).toBe(60000);
    expect(ds.sampleShape).toEqual([1, 28, 28]);
    expect(ds.images.length).toBe(60000 * 784);
    expect(ds.x).toBe(ds.images);
    expect([...ds.labels.subarray(0, 5)]).toEqual([5, 0, 4, 1, 9]);
    // 0.1307 / 0.3081 are the training set's own statistics, so the result is standardised.
    let sum = 0, sq = 0;
    for (let i = 0; i < ds.images.length; i += 7) {
      sum += ds.images[i]!;
      sq += ds.images[i]! * ds.images[i]!;
    }
    const count = Math.ceil(ds.images.length / 7);
    const mean = sum / count;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(Math.sqrt(sq / count - mean * mean) - 1)).toBeLessThan(0.01);
    // Cached per process: a second call is served from memory.
    expect((await loadMnist('train')).images).toBe(ds.images);
  });

  it('loads the test split, honours limit, and can skip normalisation', async () => {
    const ds = await loadMnist('test', { limit: 200 });
    expect(ds.n).toBe(200);
    expect(ds.images.length).toBe(200 * 784);
    expect([...ds.labels.subarray(0, 3)]).toEqual([7, 2, 1]);
    const raw = await loadMnist('test', { limit: 200, normalize: false });
    let lo = Infinity, hi = -Infinity;
    for (const v of raw.images) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect(lo).toBe(0);
    expect(hi).toBe(1);
    for (let i = 0; i < 784 * 5; i += 13) expect(ds.images[i]).toBeCloseTo((raw.images[i]! - MNIST_MEAN) / MNIST_STD, 5);
    expect((await loadMnist('test')).n).toBe(10000);
    await expect(loadMnist('test', { dataDir: tmp })).rejects.toThrow(/t10k-(images|labels)/);
  });
});

describe('batches', () => {
  /** Sample i is filled with the value i, its label is i mod 10. */
  function counting(n: number, sampleShape = [1, 2, 2]): ArrayDataset {
    const S = sampleShape.reduce((p, d) => p * d, 1);
    const x = new Float32Array(n * S);
    for (let i = 0; i < n; i++) x.fill(i, i * S, (i + 1) * S);
    return { x, y: Uint8Array.from({ length: n }, (_, i) => i % 10), sampleShape, n };
  }

  it('yields [B, ...sampleShape] batches in order with a partial last batch', async () => {
    const ds = counting(10);
    const seen: number[][] = [];
    for (const b of batches(ds, { batchSize: 4 })) {
      expect(b.x.shape).toEqual([b.size, 1, 2, 2]);
      expect(b.y).toBeInstanceOf(Int32Array);
      const v = await b.x.toArray();
      seen.push(Array.from({ length: b.size }, (_, k) => v[k * 4]!));
      expect([...b.y]).toEqual(seen.at(-1)!.map((i) => i % 10));
      b.x.dispose();
    }
    expect(seen).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(numBatches(10, 4)).toBe(3);
  });

  it('dropLast skips the partial batch', () => {
    const sizes = [...batches(counting(10), { batchSize: 4, dropLast: true })].map((b) => (b.x.dispose(), b.size));
    expect(sizes).toEqual([4, 4]);
    expect(numBatches(10, 4, true)).toBe(2);
    expect([...batches(counting(8), { batchSize: 4, dropLast: true })].map((b) => (b.x.dispose(), b.size))).toEqual([4, 4]);
  });

  it('shuffles with a seed: a permutation, reproducible, different each epoch', async () => {
    const ds = counting(23);
    const epoch = async (gen: wg.Generator) => {
      const order: number[] = [];
      for (const b of batches(ds, { batchSize: 5, shuffle: true, generator: gen })) {
        const v = await b.x.toArray();
        for (let k = 0; k < b.size; k++) {
          order.push(v[k * 4]!);
          expect(b.y[k]).toBe(v[k * 4]! % 10);
        }
        b.x.dispose();
      }
      return order;
    };
    const g1 = new wg.Generator(42), g2 = new wg.Generator(42);
    const a1 = await epoch(g1), b1 = await epoch(g2);
    expect(a1).toEqual(b1);
    expect([...a1].sort((p, q) => p - q)).toEqual(Array.from({ length: 23 }, (_, i) => i));
    expect(a1).not.toEqual(Array.from({ length: 23 }, (_, i) => i));
    const a2 = await epoch(g1);
    expect(a2).not.toEqual(a1);
    expect(a2).toEqual(await epoch(g2));
    expect(await epoch(new wg.Generator(7))).not.toEqual(a1);
    const p = shuffledIndices(1000, new wg.Generator(1));
    expect(new Set(p).size).toBe(1000);
  });

  it('uploads each batch once, not once per sample', () => {
    const backend = wg.getBackend('cpu');
    const spy = vi.spyOn(backend, 'upload');
    try {
      const all = [...batches(counting(50, [3, 4, 4]), { batchSize: 16, shuffle: true, generator: new wg.Generator(0), backend: 'cpu' })];
      expect(all.map((b) => b.size)).toEqual([16, 16, 16, 2]);
      expect(spy).toHaveBeenCalledTimes(4);
      expect(spy.mock.calls.map((c) => c[0].length)).toEqual([16 * 48, 16 * 48, 16 * 48, 2 * 48]);
      for (const b of all) b.x.dispose();
    } finally {
      spy.mockRestore();
    }
  });

  it('batches real MNIST samples', async () => {
    const ds = await loadMnist('test', { limit: 300 });
    const before = wg.memoryStats().storages;
    let n = 0;
    for (const b of batches(ds, { batchSize: 128, shuffle: true, generator: new wg.Generator(5) })) {
      expect(b.x.shape).toEqual([b.size, 1, 28, 28]);
      expect(b.y.every((l) => l >= 0 && l <= 9)).toBe(true);
      n += b.size;
      b.x.dispose();
    }
    expect(n).toBe(300);
    expect(wg.memoryStats().storages).toBe(before);
  });

  it('refuses bad options and inconsistent datasets', () => {
    expect(() => batches(counting(4), { batchSize: 0 })).toThrow(/batchSize must be a positive integer/);
    expect(() => batches({ ...counting(4), n: 5 }, { batchSize: 2 })).toThrow(/x holds 16 values, fewer than/);
  });
});

describe('synthetic CIFAR', () => {
  it('is 3×32×32 with labels 0–9, seeded, and labelled synthetic', () => {
    const a = syntheticCifar({ n: 64, seed: 3 });
    expect(a.synthetic).toBe(true);
    expect(a.description).toMatch(/synthetic.*timing only/i);
    expect(a.sampleShape).toEqual([3, 32, 32]);
    expect(a.n).toBe(64);
    expect(a.x.length).toBe(64 * 3 * 32 * 32);
    expect(a.y.length).toBe(64);
    expect(a.y.every((l) => Number.isInteger(l) && l >= 0 && l < 10)).toBe(true);
    expect(new Set(a.y).size).toBeGreaterThan(5);
    expect(a.x.every(Number.isFinite)).toBe(true);
    const b = syntheticCifar({ n: 64, seed: 3 });
    const same = (p: Float32Array, q: Float32Array) => Buffer.from(p.buffer).equals(Buffer.from(q.buffer));
    expect(same(b.x, a.x)).toBe(true);
    expect([...b.y]).toEqual([...a.y]);
    expect(same(syntheticCifar({ n: 64, seed: 4 }).x, a.x)).toBe(false);
    const batch = batches(a, { batchSize: 32 }).next().value!;
    expect(batch.x.shape).toEqual([32, 3, 32, 32]);
    batch.x.dispose();
  });
});
