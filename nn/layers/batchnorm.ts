/**
 * Batch normalisation layers (torch.nn.BatchNorm1d / BatchNorm2d). Parameters
 * `weight` (1) and `bias` (0) when affine; buffers `running_mean` (0),
 * `running_var` (1) and `num_batches_tracked` (a float32 scalar counting training
 * batches) when tracking running statistics — PyTorch's key names.
 */
import { add, batchNorm, noGrad, ones, type Tensor, zeros } from '../../engine/internal.js';
import { type CreateOptions, Module } from '../module.js';

export interface BatchNormLayerOptions extends CreateOptions {
  eps?: number;
  /** Weight of the new batch statistic in the running average (default 0.1). */
  momentum?: number;
  affine?: boolean;
  trackRunningStats?: boolean;
}

abstract class BatchNormBase extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  momentum: number;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;

  constructor(numFeatures: number, options: BatchNormLayerOptions) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures < 1) throw new Error(`${this.typeName()}: numFeatures must be a positive integer, got ${numFeatures}`);
    const { eps = 1e-5, momentum = 0.1, affine = true, trackRunningStats = true, backend } = options;
    if (!(eps > 0)) throw new Error(`${this.typeName()}: eps must be positive, got ${eps}`);
    if (!(momentum >= 0 && momentum <= 1)) throw new Error(`${this.typeName()}: momentum must be in [0, 1], got ${momentum}`);
    this.numFeatures = numFeatures;
    this.eps = eps;
    this.momentum = momentum;
    this.affine = affine;
    this.trackRunningStats = trackRunningStats;
    this.registerParameter('weight', affine ? ones([numFeatures], { backend }) : null);
    this.registerParameter('bias', affine ? zeros([numFeatures], { backend }) : null);
    this.registerBuffer('running_mean', trackRunningStats ? zeros([numFeatures], { backend }) : null);
    this.registerBuffer('running_var', trackRunningStats ? ones([numFeatures], { backend }) : null);
    this.registerBuffer('num_batches_tracked', trackRunningStats ? zeros([], { backend }) : null);
  }

  protected abstract checkInput(x: Tensor): void;

  forward(x: Tensor): Tensor {
    this.checkInput(x);
    const rm = this.buffer('running_mean') ?? null;
    const rv = this.buffer('running_var') ?? null;
    // Batch statistics while training, and always when no running statistics are kept.
    const useBatch = this.training || !rm || !rv;
    const y = batchNorm(x, useBatch && !this.training ? null : rm, useBatch && !this.training ? null : rv, this.getParam('weight'), this.getParam('bias'), {
      training: useBatch,
      momentum: this.momentum,
      eps: this.eps,
    });
    const count = this.buffer('num_batches_tracked');
    if (this.training && count) {
      noGrad(() => {
        const next = add(count, 1);
        count.assign(next);
        next.dispose();
      });
    }
    return y;
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, trackRunningStats=${this.trackRunningStats}`;
  }
}

/** Over [N, C] or [N, C, L]. */
export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, options: BatchNormLayerOptions = {}) {
    super(numFeatures, options);
  }

  protected checkInput(x: Tensor): void {
    if ((x.rank !== 2 && x.rank !== 3) || x.shape[1] !== this.numFeatures) {
      throw new Error(`BatchNorm1d: expected input [N, ${this.numFeatures}] or [N, ${this.numFeatures}, L], got [${x.shape.join(', ')}]`);
    }
  }
}

/** Over [N, C, H, W]. */
export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, options: BatchNormLayerOptions = {}) {
    super(numFeatures, options);
  }

  protected checkInput(x: Tensor): void {
    if (x.rank !== 4 || x.shape[1] !== this.numFeatures) {
      throw new Error(`BatchNorm2d: expected input [N, ${this.numFeatures}, H, W], got [${x.shape.join(', ')}]`);
    }
  }
}
