/**
 * Inverted dropout (torch.nn.Dropout): active only in training mode; in eval mode,
 * or with p = 0, forward returns its input tensor itself.
 */
import { defaultGenerator, dropout, type Generator, type Tensor } from '../../engine/internal.js';
import { Module } from '../module.js';

export interface DropoutOptions {
  /** Source of the masks (the global generator by default). */
  generator?: Generator;
}

export class Dropout extends Module {
  readonly p: number;
  private readonly generator: Generator;

  constructor(p = 0.5, options: DropoutOptions = {}) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: probability must be in [0, 1], got ${p}`);
    this.p = p;
    this.generator = options.generator ?? defaultGenerator;
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    return dropout(x, this.p, true, this.generator);
  }

  override extraRepr(): string {
    return `p=${this.p}`;
  }
}
