/**
 * The model registry: `createModel(name, { seed })` builds a freshly initialised
 * model whose initial weights depend only on the seed (the same on every backend).
 */
import { Generator } from '../../engine/internal.js';
import type { BackendName } from '../../engine/internal.js';
import { getBackend, setBackend } from '../../engine/internal.js';
import type { Sequential } from '../layers/sequential.js';
import { conv4 } from './conv4.js';
import { lenet300 } from './lenet300.js';
import { lenet5 } from './lenet5.js';
import { mnistCnn2 } from './mnist-cnn2.js';

export { conv4, lenet300, lenet5, mnistCnn2 };
export type { Conv4Options } from './conv4.js';
export type { LeNet5Options } from './lenet5.js';

export interface CreateModelOptions {
  /** Seed of the initial weights (and of the dropout masks); default 0. */
  seed?: number;
  /** Backend to build on; the current one by default. */
  backend?: BackendName;
  /** LeNet-5: dropout probability after fc1 and fc2 (default 0). */
  dropout?: number;
  /** Conv-4: batch norm after each convolution (default true). */
  batchNorm?: boolean;
}

export interface ModelSpec {
  name: string;
  description: string;
  /** One sample's shape, without the batch axis. */
  inputShape: readonly number[];
  numClasses: number;
  /** Which data it is trained on: MNIST, or CIFAR-shaped (synthetic here). */
  dataset: 'mnist' | 'cifar10';
  build(generator: Generator, options: CreateModelOptions): Sequential;
}

const specs: ModelSpec[] = [
  { name: 'lenet300', description: 'LeNet-300-100 MLP (784-300-100-10, ReLU)', inputShape: [1, 28, 28], numClasses: 10, dataset: 'mnist', build: (g) => lenet300(g) },
  { name: 'lenet5', description: 'LeNet-5, PyTorch variant (conv6-pool-conv16-pool-fc120-fc84-fc10, ReLU, max pool)', inputShape: [1, 28, 28], numClasses: 10, dataset: 'mnist', build: (g, o) => lenet5(g, { dropout: o.dropout }) },
  { name: 'mnist-cnn2', description: 'two-conv MNIST CNN of the filter-pruning notes (8 and 4 filters of 3x3, 6,130 parameters)', inputShape: [1, 28, 28], numClasses: 10, dataset: 'mnist', build: (g) => mnistCnn2(g) },
  { name: 'conv4', description: 'Conv-4 VGG-style CIFAR CNN with batch norm (conv64x2-pool-conv128x2-pool-fc256-fc256-fc10)', inputShape: [3, 32, 32], numClasses: 10, dataset: 'cifar10', build: (g, o) => conv4(g, { batchNorm: o.batchNorm }) },
];

/** The registered models, by name. */
export const MODELS: ReadonlyMap<string, ModelSpec> = new Map(specs.map((s) => [s.name, s]));

export function modelNames(): string[] {
  return [...MODELS.keys()];
}

export function createModel(name: string, options: CreateModelOptions = {}): Sequential {
  const spec = MODELS.get(name);
  if (!spec) throw new Error(`createModel: unknown model '${name}' (known: ${modelNames().join(', ')})`);
  const generator = new Generator(options.seed ?? 0);
  if (!options.backend) return spec.build(generator, options);
  let prev: BackendName | null = null;
  try {
    prev = getBackend().name;
  } catch {
    // No current backend yet: the named one becomes current.
  }
  setBackend(options.backend);
  try {
    return spec.build(generator, options);
  } finally {
    if (prev) setBackend(prev);
  }
}
