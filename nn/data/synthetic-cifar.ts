/**
 * A synthetic, CIFAR-10-shaped dataset (3×32×32 float32 images, 10 classes).
 *
 * FOR TIMING ONLY: no CIFAR-10 data is reachable offline, so CIFAR-shaped models
 * are benchmarked on these inputs. Each class has a fixed random template and
 * every sample is its template plus Gaussian noise, so a model can fit it, but
 * accuracy on it says nothing about CIFAR-10. The dataset carries
 * `synthetic: true` and a `description` so reports can say so.
 */
import { Generator } from '../../engine/internal.js';
import type { ArrayDataset } from './loader.js';

export const SYNTHETIC_CIFAR_DESCRIPTION =
  'Synthetic CIFAR-10-shaped data (3×32×32, 10 classes; class template + Gaussian noise) — for timing only, not CIFAR-10; accuracies on it are meaningless';

export interface SyntheticCifarOptions {
  /** Number of samples (default 1024). */
  n?: number;
  /** Seed for templates, noise and labels (default 0). */
  seed?: number;
  /** Standard deviation of the per-sample noise around the class template (default 1). */
  noise?: number;
}

export interface SyntheticCifarDataset extends ArrayDataset {
  synthetic: true;
  description: string;
  classes: 10;
  y: Uint8Array;
}

/** n samples of 3×32×32 values and labels in 0..9; the same seed gives the same data. */
export function syntheticCifar(options: SyntheticCifarOptions = {}): SyntheticCifarDataset {
  const { n = 1024, seed = 0, noise = 1 } = options;
  if (!Number.isInteger(n) || n < 0) throw new Error(`syntheticCifar: n must be a non-negative integer, got ${n}`);
  const classes = 10;
  const S = 3 * 32 * 32;
  const gen = new Generator(seed);
  const templates = new Float32Array(classes * S);
  for (let i = 0; i < templates.length; i++) templates[i] = 0.5 * gen.normal();
  const x = new Float32Array(n * S);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = gen.int(classes);
    y[i] = c;
    const base = c * S, off = i * S;
    for (let j = 0; j < S; j++) x[off + j] = templates[base + j]! + noise * gen.normal();
  }
  return { synthetic: true, description: SYNTHETIC_CIFAR_DESCRIPTION, classes, x, y, sampleShape: [3, 32, 32], n };
}
