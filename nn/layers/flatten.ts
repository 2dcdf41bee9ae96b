/** Flattens dimensions from `startDim` on (torch.nn.Flatten, default startDim 1: keeps the batch axis). */
import { flatten, type Tensor } from '../../engine/internal.js';
import { Module } from '../module.js';

export class Flatten extends Module {
  constructor(readonly startDim = 1) {
    super();
  }

  forward(x: Tensor): Tensor {
    return flatten(x, this.startDim);
  }

  override extraRepr(): string {
    return `startDim=${this.startDim}`;
  }
}
