/**
 * Epoch orchestration shared by `wgprune train` and the training benchmark:
 * train, evaluate, step the LR schedule, report, and keep the best epoch.
 * A diverged run (NaN or infinite loss) stops with a NonFiniteLossError unless
 * `allowNonFinite` is set; an epoch with a non-finite loss is never the best.
 */
import { Generator } from '../engine/internal.js';
import { type ArrayDataset, numBatches } from './data/loader.js';
import type { Module } from './module.js';
import { type BatchProgress, type EpochStats, type EvalStats, evaluate, isFiniteLoss, NonFiniteLossError, type Stepper, trainEpoch } from './train.js';

export interface FitOptions {
  epochs: number;
  batchSize: number;
  optimizer: Stepper;
  /** Stepped once per epoch (torch's convention). */
  scheduler?: { step(): void };
  train: ArrayDataset;
  test?: ArrayDataset;
  /** Seed of the shuffling order. */
  seed?: number;
  onProgress?: (p: BatchProgress) => void;
  /**
   * Keep training when the loss becomes NaN or infinite (default false: stop with a
   * NonFiniteLossError naming the epoch and steps, before `onEpoch` sees that epoch).
   */
  allowNonFinite?: boolean;
  /** After each epoch's evaluation; `improved` when test accuracy is the best so far (never for an epoch whose loss is not finite). */
  onEpoch?: (e: FitEpoch, improved: boolean) => void | Promise<void>;
}

export interface FitEpoch {
  train: EpochStats;
  test: EvalStats | null;
}

export interface FitResult {
  history: FitEpoch[];
  bestEpoch: number;
  bestAccuracy: number;
}

export async function fit(model: Module, o: FitOptions): Promise<FitResult> {
  const generator = new Generator(o.seed ?? 0);
  const history: FitEpoch[] = [];
  let bestEpoch = 0;
  let bestAccuracy = -Infinity;
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const train = await trainEpoch(model, o.train, o.optimizer, {
      batchSize: o.batchSize, generator, epoch, onProgress: o.onProgress, stopOnNonFinite: !o.allowNonFinite,
    });
    o.scheduler?.step();
    const test = o.test ? await evaluate(model, o.test) : null;
    // The last step of an epoch can break the weights after its own loss was computed: the test loss shows it.
    if (test && !isFiniteLoss(test.loss) && !o.allowNonFinite) {
      const steps = numBatches(o.train.n, o.batchSize);
      throw new NonFiniteLossError(epoch, steps, steps, steps, test.loss, 'evaluation');
    }
    const finite = isFiniteLoss(train.loss) && (!test || isFiniteLoss(test.loss));
    const accuracy = test ? test.accuracy : train.accuracy;
    const improved = finite && accuracy > bestAccuracy;
    if (improved) {
      bestAccuracy = accuracy;
      bestEpoch = epoch;
    }
    const record = { train, test };
    history.push(record);
    await o.onEpoch?.(record, improved);
  }
  return { history, bestEpoch, bestAccuracy };
}
