/**
 * LeNet-5 in the PyTorch variant the pruning notes use: ReLU and max pooling
 * instead of tanh and subsampling, 6 and 16 filters of 5×5, then 120-84-10.
 * The notes' `lenet_pytorch.py` has Dropout; here it is the `dropout` option
 * (probability, default 0 = no dropout), applied after fc1's and fc2's ReLU. The
 * Dropout modules are always present, so the keys do not depend on the option.
 *
 * On 28×28 MNIST, conv1 uses padding 2 (as if the image were the original 32×32),
 * so conv2's output after pooling is 16×5×5 = 400 features.
 *
 * Keys (PyTorch-style, as conv1 / conv2 / fc1 / fc2 / fc3 in the notes):
 *   features.0.{weight,bias}   conv1 [6,1,5,5] / [6]
 *   features.3.{weight,bias}   conv2 [16,6,5,5] / [16]
 *   classifier.0.{weight,bias} fc1 [120,400] / [120]
 *   classifier.3.{weight,bias} fc2 [84,120] / [84]
 *   classifier.6.{weight,bias} fc3 [10,84] / [10]
 * 61,706 parameters.
 */
import type { Generator } from '../../engine/internal.js';
import { ReLU } from '../layers/activation.js';
import { Conv2d } from '../layers/conv.js';
import { Dropout } from '../layers/dropout.js';
import { Flatten } from '../layers/flatten.js';
import { Linear } from '../layers/linear.js';
import { MaxPool2d } from '../layers/pooling.js';
import { Sequential } from '../layers/sequential.js';

export interface LeNet5Options {
  /** Dropout probability after fc1 and fc2 (default 0). */
  dropout?: number;
}

export function lenet5(generator?: Generator, options: LeNet5Options = {}): Sequential {
  const p = options.dropout ?? 0;
  return new Sequential(
    ['features', new Sequential(
      new Conv2d(1, 6, 5, { padding: 2, generator }), new ReLU(), new MaxPool2d(2),
      new Conv2d(6, 16, 5, { generator }), new ReLU(), new MaxPool2d(2),
    )],
    ['flatten', new Flatten()],
    ['classifier', new Sequential(
      new Linear(400, 120, { generator }), new ReLU(), new Dropout(p, { generator }),
      new Linear(120, 84, { generator }), new ReLU(), new Dropout(p, { generator }),
      new Linear(84, 10, { generator }),
    )],
  );
}
