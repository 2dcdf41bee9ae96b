/**
 * Adam (torch.optim.Adam, L2 weight decay added to the gradient) and AdamW
 * (torch.optim.AdamW, decoupled decay of the weights). The update runs as one WGSL
 * kernel per parameter (engine's `adamUpdate`). State per parameter: `step`,
 * `exp_avg`, `exp_avg_sq`.
 */
import { adamUpdate, type Tensor } from '../../engine/internal.js';
import { type BaseOptions, Optimizer, type ParamsArg } from './optimizer.js';

export interface AdamOptions extends BaseOptions {
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

export class Adam extends Optimizer<AdamOptions> {
  /** AdamW's decoupled weight decay. */
  protected readonly decoupled: boolean = false;

  constructor(params: ParamsArg<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, ...options });
  }

  protected validate(o: AdamOptions): void {
    if (!(o.lr >= 0)) throw new Error(`${this.constructor.name}: learning rate must be >= 0, got ${o.lr}`);
    if (!(o.eps >= 0)) throw new Error(`${this.constructor.name}: eps must be >= 0, got ${o.eps}`);
    const [b1, b2] = o.betas;
    if (!(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1)) throw new Error(`${this.constructor.name}: betas must be in [0, 1), got [${o.betas.join(', ')}]`);
    if (!(o.weightDecay >= 0)) throw new Error(`${this.constructor.name}: weightDecay must be >= 0, got ${o.weightDecay}`);
  }

  step(): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (!p.grad) continue;
        let s = this.state.get(p);
        if (!s) {
          s = { step: 0, exp_avg: this.stateZeros(p), exp_avg_sq: this.stateZeros(p) };
          this.state.set(p, s);
        }
        const step = (s.step as number) + 1;
        s.step = step;
        adamUpdate(p, p.grad, s.exp_avg as Tensor, s.exp_avg_sq as Tensor, {
          lr: g.lr, beta1: g.betas[0], beta2: g.betas[1], eps: g.eps, weightDecay: g.weightDecay, decoupled: this.decoupled, step,
        });
      }
    }
  }
}

export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;

  constructor(params: ParamsArg<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(params, { weightDecay: 1e-2, ...options });
  }
}
