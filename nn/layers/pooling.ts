/** Pooling layers (torch.nn.MaxPool2d / AvgPool2d); no parameters. */
import { avgPool2d, maxPool2d, type Tensor } from '../../engine/internal.js';
import { Module } from '../module.js';
import { type Pair, showPair as show } from './conv.js';

export interface PoolLayerOptions {
  /** Defaults to the kernel size. */
  stride?: Pair;
  padding?: Pair;
}

export class MaxPool2d extends Module {
  constructor(readonly kernelSize: Pair, readonly options: PoolLayerOptions = {}) {
    super();
  }

  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, this.options);
  }

  override extraRepr(): string {
    return `kernel=${show(this.kernelSize)}, stride=${show(this.options.stride ?? this.kernelSize)}, padding=${show(this.options.padding ?? 0)}`;
  }
}

export class AvgPool2d extends Module {
  constructor(readonly kernelSize: Pair, readonly options: PoolLayerOptions & { countIncludePad?: boolean } = {}) {
    super();
  }

  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, this.options);
  }

  override extraRepr(): string {
    return `kernel=${show(this.kernelSize)}, stride=${show(this.options.stride ?? this.kernelSize)}, padding=${show(this.options.padding ?? 0)}`;
  }
}
