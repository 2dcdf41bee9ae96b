/**
 * Conv-4, the small VGG-style CIFAR-10 network of the Lottery Ticket paper
 * (Frankle & Carbin 2019): conv64-conv64-pool-conv128-conv128-pool-fc256-fc256-fc10,
 * 3×3 convolutions with padding 1, 2×2 max pools, ReLU, input [N, 3, 32, 32].
 * The seeds' CIFAR CNN does not give its layers, so this follows the paper, with
 * batch norm after every convolution by default (convolutions then have no bias,
 * as is usual before batch norm); `batchNorm: false` gives the paper's network
 * exactly (convolutions with bias).
 *
 * Keys with batch norm (each BN has weight, bias, running_mean, running_var,
 * num_batches_tracked):
 *   features.0.weight [64,3,3,3]     features.1.*  BN(64)
 *   features.3.weight [64,64,3,3]    features.4.*  BN(64)
 *   features.7.weight [128,64,3,3]   features.8.*  BN(128)
 *   features.10.weight [128,128,3,3] features.11.* BN(128)
 *   classifier.0.* [256,8192]  classifier.2.* [256,256]  classifier.4.* [10,256]
 * Without batch norm: features.{0,2,5,7}.{weight,bias}, same classifier.
 * 2,426,314 parameters with batch norm, 2,425,930 without.
 */
import type { Generator } from '../../engine/internal.js';
import { ReLU } from '../layers/activation.js';
import { BatchNorm2d } from '../layers/batchnorm.js';
import { Conv2d } from '../layers/conv.js';
import { Flatten } from '../layers/flatten.js';
import { Linear } from '../layers/linear.js';
import { MaxPool2d } from '../layers/pooling.js';
import { Sequential } from '../layers/sequential.js';
import type { Module } from '../module.js';

export interface Conv4Options {
  /** Batch norm after each convolution (default true). */
  batchNorm?: boolean;
}

export function conv4(generator?: Generator, options: Conv4Options = {}): Sequential {
  const bn = options.batchNorm ?? true;
  const block = (inC: number, outC: number): Module[] =>
    bn
      ? [new Conv2d(inC, outC, 3, { padding: 1, bias: false, generator }), new BatchNorm2d(outC), new ReLU()]
      : [new Conv2d(inC, outC, 3, { padding: 1, generator }), new ReLU()];
  return new Sequential(
    ['features', new Sequential(
      ...block(3, 64), ...block(64, 64), new MaxPool2d(2),
      ...block(64, 128), ...block(128, 128), new MaxPool2d(2),
    )],
    ['flatten', new Flatten()],
    ['classifier', new Sequential(
      new Linear(128 * 8 * 8, 256, { generator }), new ReLU(),
      new Linear(256, 256, { generator }), new ReLU(),
      new Linear(256, 10, { generator }),
    )],
  );
}
