/** Parameter-free elementwise layers. */
import { relu, sigmoid, softmax, type Tensor, tanh } from '../../engine/internal.js';
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

/** Softmax over `dim` (torch.nn.Softmax; default 1, the class axis of [N, C] logits). */
export class Softmax extends Module {
  constructor(readonly dim = 1) {
    super();
    if (!Number.isInteger(dim)) throw new Error(`Softmax: dim must be an integer, got ${dim}`);
  }

  forward(x: Tensor): Tensor {
    return softmax(x, this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}
