/**
 * Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight
 * decay (torch.optim.SGD): the update runs as one WGSL kernel per parameter
 * (engine's `sgdUpdate`). The momentum buffer starts as the first gradient.
 */
import { sgdUpdate } from '../../engine/internal.js';
import { type BaseOptions, Optimizer, type ParamsArg } from './optimizer.js';

export interface SgdOptions extends BaseOptions {
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

export class SGD extends Optimizer<SgdOptions> {
  constructor(params: ParamsArg<SgdOptions>, options: Partial<SgdOptions> & { lr: number }) {
    super(params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...options });
  }

  protected validate(o: SgdOptions): void {
    if (!(o.lr >= 0)) throw new Error(`SGD: learning rate must be >= 0, got ${o.lr}`);
    if (!(o.momentum >= 0)) throw new Error(`SGD: momentum must be >= 0, got ${o.momentum}`);
    if (!(o.weightDecay >= 0)) throw new Error(`SGD: weightDecay must be >= 0, got ${o.weightDecay}`);
    if (!Number.isFinite(o.dampening)) throw new Error(`SGD: dampening must be finite, got ${o.dampening}`);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) throw new Error('SGD: Nesterov momentum requires momentum > 0 and dampening = 0');
  }

  step(): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (!p.grad) continue;
        let buf = null;
        let firstStep = false;
        if (g.momentum !== 0) {
          const s = this.state.get(p);
          if (s?.momentum_buffer && typeof s.momentum_buffer !== 'number') buf = s.momentum_buffer;
          else {
            buf = this.stateZeros(p);
            firstStep = true;
            this.state.set(p, { momentum_buffer: buf });
          }
        }
        sgdUpdate(p, p.grad, buf, { lr: g.lr, momentum: g.momentum, dampening: g.dampening, weightDecay: g.weightDecay, nesterov: g.nesterov, firstStep });
      }
    }
  }
}
