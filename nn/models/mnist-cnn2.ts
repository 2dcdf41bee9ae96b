/**
 * The two-conv MNIST CNN of the filter-pruning notes (seed 004): conv 8@3×3 and
 * conv 4@3×3, stride 1, no padding, then a 2×2 max pool (stride 2) and a linear
 * head to 10 classes. The notes give 6,130 parameters for the baseline and 3,052
 * after pruning to 6 and 2 filters; both counts are met exactly only when the
 * convolutions have no bias and the head reads 4×12×12 = 576 features
 * (28 → 26 → 24 → pool 12): 72 + 288 + 5,770 = 6,130 and 54 + 108 + 2,890 = 3,052.
 * ReLU follows each convolution.
 *
 * Keys: features.0.weight [8,1,3,3], features.2.weight [4,8,3,3],
 * classifier.0.{weight,bias} [10,576] / [10].
 */
import type { Generator } from '../../engine/internal.js';
import { ReLU } from '../layers/activation.js';
import { Conv2d } from '../layers/conv.js';
import { Flatten } from '../layers/flatten.js';
import { Linear } from '../layers/linear.js';
import { MaxPool2d } from '../layers/pooling.js';
import { Sequential } from '../layers/sequential.js';

export function mnistCnn2(generator?: Generator): Sequential {
  return new Sequential(
    ['features', new Sequential(
      new Conv2d(1, 8, 3, { bias: false, generator }), new ReLU(),
      new Conv2d(8, 4, 3, { bias: false, generator }), new ReLU(),
      new MaxPool2d(2, { stride: 2 }),
    )],
    ['flatten', new Flatten()],
    ['classifier', new Sequential(new Linear(576, 10, { generator }))],
  );
}
