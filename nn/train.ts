/**
 * The training loop: epochs of shuffled mini-batches, loss and accuracy accumulated
 * on the device (read back only every few batches, so the GPU is not drained each
 * step), evaluation on a held-out set, throughput and memory per epoch. With
 * `stopOnNonFinite` a diverged run (NaN or infinite loss) stops at the next readback.
 */
import {
  add, argmax, crossEntropy, eq, type Generator, keep, memoryStats, mul, noGrad, sum, sync, type Tensor, tensor, tidy,
} from '../engine/internal.js';
import { type ArrayDataset, batches, numBatches } from './data/loader.js';
import type { Module } from './module.js';

/** What the loop needs of an optimizer. */
export interface Stepper {
  step(): void;
}

export interface BatchProgress {
  epoch: number;
  batch: number;
  batches: number;
  samples: number;
  /** Running means over the epoch so far (from the last readback). */
  loss: number;
  accuracy: number;
  samplesPerSecond: number;
}

export interface EpochStats {
  epoch: number;
  loss: number;
  accuracy: number;
  samples: number;
  seconds: number;
  samplesPerSecond: number;
  /** Bytes held by live tensors after the epoch. */
  inUseBytes: number;
}

export interface EvalStats {
  loss: number;
  accuracy: number;
  samples: number;
}

export interface EpochOptions {
  batchSize: number;
  generator: Generator;
  epoch?: number;
  /** Batches between readbacks of the running loss/accuracy (default 20). */
  readEvery?: number;
  /**
   * Throw a NonFiniteLossError when the loss turns NaN or infinite. The running loss is checked
   * at every readback — every `readEvery` batches (read for this even without `onProgress`) and
   * at the end of the epoch — so no step waits for the device. Default false.
   */
  stopOnNonFinite?: boolean;
  onProgress?: (p: BatchProgress) => void;
  /**
   * Called after each optimizer step (e.g. a gradual-pruning schedule); runs inside the step's scope.
   * A returned promise (e.g. a mask update that reads weights back) is awaited before the next batch.
   */
  afterStep?: (step: number) => void | Promise<void>;
}

/** Largest finite float32: a loss beyond it is infinity in float32 (the CPU reference computes in float64). */
const FLOAT32_MAX = 3.4028234663852886e38;

/** A loss that float32 holds as a finite number. */
export function isFiniteLoss(loss: number): boolean {
  return Number.isFinite(loss) && Math.abs(loss) <= FLOAT32_MAX;
}

/** Training stopped because the loss became NaN or infinite (a diverged run: often too high a learning rate). */
export class NonFiniteLossError extends Error {
  constructor(
    readonly epoch: number,
    /** The step (batch of the epoch, from 1) at which it was seen; for 'evaluation', the epoch's last step. */
    readonly step: number,
    /** The last step at which the loss was known to be finite (0: none this epoch). */
    readonly lastFiniteStep: number,
    /** Steps in the epoch. */
    readonly steps: number,
    readonly loss: number,
    readonly phase: 'training' | 'evaluation' = 'training',
  ) {
    const what = Number.isNaN(loss) ? 'NaN' : Number.isFinite(loss) ? `infinite in float32 (${loss.toExponential(2)})` : 'infinite';
    const where = phase === 'evaluation'
      ? `on the test set after epoch ${epoch}`
      : `in epoch ${epoch}, ${step - lastFiniteStep <= 1 ? `at step ${step}` : `between steps ${lastFiniteStep + 1} and ${step}`} of ${steps}`;
    super(`training stopped: the ${phase === 'evaluation' ? 'test' : 'training'} loss became ${what} ${where} (diverged: is the learning rate too high?)`);
    this.name = 'NonFiniteLossError';
  }
}

/** Running sums of loss·n and correct predictions, kept on the device. */
class Totals {
  private lossSum: Tensor | null = null;
  private correct: Tensor | null = null;
  samples = 0;

  add(logits: Tensor, loss: Tensor, y: Int32Array): void {
    const labels = tensor(y, [y.length]);
    const lossPart = mul(loss.detach(), y.length);
    const hits = sum(eq(argmax(logits, 1), labels));
    const next = [this.lossSum ? add(this.lossSum, lossPart) : lossPart, this.correct ? add(this.correct, hits) : hits];
    this.lossSum?.dispose();
    this.correct?.dispose();
    [this.lossSum, this.correct] = next.map((t) => keep(t)) as [Tensor, Tensor];
    this.samples += y.length;
  }

  async read(): Promise<{ loss: number; accuracy: number }> {
    if (!this.lossSum || !this.correct) return { loss: NaN, accuracy: NaN };
    const [l, c] = await Promise.all([this.lossSum.item(), this.correct.item()]);
    return { loss: l / this.samples, accuracy: c / this.samples };
  }

  dispose(): void {
    this.lossSum?.dispose();
    this.correct?.dispose();
  }
}

export async function trainEpoch(model: Module, data: ArrayDataset, optimizer: Stepper, options: EpochOptions): Promise<EpochStats> {
  const { batchSize, generator, epoch = 1, readEvery = 20, onProgress, afterStep, stopOnNonFinite = false } = options;
  model.train();
  const totals = new Totals();
  const total = numBatches(data.n, batchSize);
  const start = performance.now();
  let index = 0;
  let last = { loss: NaN, accuracy: NaN };
  let lastFiniteStep = 0;
  // The running loss is a sum since the epoch began: once NaN or infinite it stays so.
  const checkFinite = (): void => {
    if (!stopOnNonFinite || totals.samples === 0) return;
    if (!isFiniteLoss(last.loss)) throw new NonFiniteLossError(epoch, index, lastFiniteStep, total, last.loss);
    lastFiniteStep = index;
  };
  try {
    for (const batch of batches(data, { batchSize, shuffle: true, generator })) {
      let pending = null as Promise<void> | void | null;
      tidy(() => {
        const logits = model.forward(batch.x);
        const loss = crossEntropy(logits, batch.y);
        loss.backward();
        optimizer.step();
        model.zeroGrad();
        noGrad(() => totals.add(logits, loss, batch.y));
        pending = afterStep?.(index);
      });
      batch.x.dispose();
      if (pending) await pending;
      index++;
      if ((onProgress || stopOnNonFinite) && (index % readEvery === 0 || index === total)) {
        last = await totals.read();
        checkFinite();
        if (!onProgress) continue;
        const seconds = (performance.now() - start) / 1000;
        onProgress({ epoch, batch: index, batches: total, samples: totals.samples, ...last, samplesPerSecond: totals.samples / seconds });
      }
    }
    last = await totals.read();
    checkFinite();
    await sync();
  } finally {
    totals.dispose();
  }
  const seconds = (performance.now() - start) / 1000;
  return { epoch, ...last, samples: totals.samples, seconds, samplesPerSecond: totals.samples / seconds, inUseBytes: memoryStats().inUseBytes };
}

/** Loss and accuracy over a whole dataset in eval mode, without gradients. */
export async function evaluate(model: Module, data: ArrayDataset, batchSize = 500): Promise<EvalStats> {
  model.eval();
  const totals = new Totals();
  try {
    for (const batch of batches(data, { batchSize, shuffle: false })) {
      noGrad(() => tidy(() => {
        const logits = model.forward(batch.x);
        totals.add(logits, crossEntropy(logits, batch.y), batch.y);
      }));
      batch.x.dispose();
    }
    return { ...(await totals.read()), samples: totals.samples };
  } finally {
    totals.dispose();
  }
}
