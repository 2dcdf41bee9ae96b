/**
 * Gradient-based criteria, fed batch by batch.
 *
 * A GradientAccumulator watches the prunable weights of a model. After each
 * backward pass, `observe()` adds, on the device and per element,
 *   |w ⊙ ∇w|   (gradient magnitude, summed over batches: fasterai's criterion)
 *   ∇w         (summed, for the first-order Taylor criterion)
 * where w is the effective weight (orig × mask). `feed()` runs the batches
 * itself (cross-entropy loss). Then:
 *   gradientMagnitude()  element score Σ_b |w·∇w|; groups by their L1 norm
 *   taylor()             element contribution c = w·ḡ (ḡ: mean gradient);
 *                        a group scores (Σ_group c)² — Molchanov et al. 2019's
 *                        first-order Taylor estimate of the loss change when
 *                        the group is removed; a single weight scores c².
 */
import { abs, add, crossEntropy, keep, mul, noGrad, type Tensor, tidy, Generator } from '../engine/internal.js';
import { batches as batchIterator, type ArrayDataset, type Module } from '../nn/index.js';
import type { Criterion } from './criteria.js';
import { trainableParam } from './masked.js';
import { selectTargets, type PruneTarget, type TargetSelection } from './target.js';

interface Slot {
  target: PruneTarget;
  absSum: Tensor | null;
  gradSum: Tensor | null;
}

export interface FeedOptions {
  batchSize?: number;
  /** Stop after this many batches (default: the whole dataset). */
  maxBatches?: number;
  /** Shuffle with this seed (default: dataset order). */
  seed?: number;
}

export class GradientAccumulator {
  private readonly slots: Slot[];
  /** Number of backward passes observed. */
  batches = 0;

  constructor(readonly model: Module, selection: TargetSelection = {}) {
    this.slots = selectTargets(model, selection, 'GradientAccumulator').map((target) => ({ target, absSum: null, gradSum: null }));
  }

  /** Adds the current gradients of the watched weights (call after `loss.backward()`, before zeroing grads). */
  observe(): void {
    let seen = 0;
    noGrad(() => {
      for (const s of this.slots) {
        const p = trainableParam(s.target.module, s.target.param, 'GradientAccumulator');
        if (!p.grad) continue;
        seen++;
        const g = p.grad;
        const [nextAbs, nextGrad] = tidy(() => {
          const w = s.target.module.getParam(s.target.param)!;
          const a = abs(mul(w, g));
          return [s.absSum ? add(s.absSum, a) : mul(a, 1), s.gradSum ? add(s.gradSum, g) : mul(g, 1)];
        });
        s.absSum?.dispose();
        s.gradSum?.dispose();
        s.absSum = keep(nextAbs!);
        s.gradSum = keep(nextGrad!);
      }
    });
    if (seen === 0) throw new Error('GradientAccumulator.observe: no watched weight has a gradient (call it after loss.backward())');
    this.batches++;
  }

  /** Runs forward + cross-entropy + backward over `data` and observes each batch; gradients are cleared after each. */
  async feed(data: ArrayDataset, options: FeedOptions = {}): Promise<void> {
    const { batchSize = 128, maxBatches = Infinity, seed } = options;
    const training = this.model.training;
    this.model.train();
    let count = 0;
    try {
      for (const batch of batchIterator(data, { batchSize, shuffle: seed !== undefined, generator: seed !== undefined ? new Generator(seed) : undefined })) {
        try {
          tidy(() => {
            const loss = crossEntropy(this.model.forward(batch.x), batch.y);
            loss.backward();
            this.observe();
            this.model.zeroGrad();
          });
        } finally {
          batch.x.dispose();
        }
        if (++count >= maxBatches) break;
      }
    } finally {
      this.model.zeroGrad();
      this.model.train(training);
    }
  }

  private slotFor(t: PruneTarget, what: string): Slot {
    const s = this.slots.find((x) => x.target.module === t.module && x.target.param === t.param);
    if (!s) throw new Error(`${what}: '${t.key}' is not watched by this GradientAccumulator`);
    if (!s.absSum || !s.gradSum || this.batches === 0) throw new Error(`${what}: no gradients accumulated for '${t.key}' yet (feed batches first)`);
    return s;
  }

  /** Σ over batches of |w·∇w| per element; groups by their L1 norm. */
  gradientMagnitude(): Criterion {
    return {
      name: 'gradient',
      combine: { kind: 'norm', p: 1 },
      elementScores: async (t) => this.slotFor(t, 'gradient').absSum!.toFloat64Array(),
    };
  }

  /** First-order Taylor: element contribution w·ḡ; a group scores the square of its contributions' sum. */
  taylor(): Criterion {
    return {
      name: 'taylor',
      combine: { kind: 'square-of-sum' },
      elementScores: async (t) => {
        const s = this.slotFor(t, 'taylor');
        const w = t.module.getParam(t.param)!;
        const c = noGrad(() => mul(mul(w, s.gradSum!), 1 / this.batches));
        try {
          return await c.toFloat64Array();
        } finally {
          c.dispose();
          if (w !== t.module.parameter(t.param)) w.dispose();
        }
      },
    };
  }

  /** Forgets what was accumulated. */
  reset(): void {
    for (const s of this.slots) {
      s.absSum?.dispose();
      s.gradSum?.dispose();
      s.absSum = s.gradSum = null;
    }
    this.batches = 0;
  }

  dispose(): void {
    this.reset();
  }
}
