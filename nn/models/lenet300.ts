/**
 * LeNet-300-100 (LeCun et al. 1998; the MLP of Han et al. 2015 and the Lottery
 * Ticket paper): 784 → 300 → 100 → 10 with ReLU, on [N, 1, 28, 28] (or [N, 784]).
 *
 * Keys: classifier.0.{weight,bias} [300,784]/[300], classifier.2.* [100,300]/[100],
 * classifier.4.* [10,100]/[10]. 266,610 parameters.
 */
import type { Generator } from '../../engine/internal.js';
import { ReLU } from '../layers/activation.js';
import { Flatten } from '../layers/flatten.js';
import { Linear } from '../layers/linear.js';
import { Sequential } from '../layers/sequential.js';

export function lenet300(generator?: Generator): Sequential {
  return new Sequential(
    ['flatten', new Flatten()],
    ['classifier', new Sequential(
      new Linear(784, 300, { generator }), new ReLU(),
      new Linear(300, 100, { generator }), new ReLU(),
      new Linear(100, 10, { generator }),
    )],
  );
}
