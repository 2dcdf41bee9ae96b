/** Parameter-free elementwise layers. */
import { relu, sigmoid, type Tensor, tanh } from '../../engine/index.js';
import { Module } from '../module.js';

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

/** Returns its input unchanged (the same tensor). */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
