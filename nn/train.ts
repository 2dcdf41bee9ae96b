/**
 * The training loop: epochs of shuffled mini-batches, loss and accuracy accumulated
 * on the device (read back only every few batches, so the GPU is not drained each
 * step), evaluation on a held-out set, throughput and memory per epoch.
 */
import {
  add, argmax, crossEntropy, eq, type Generator, keep, memoryStats, mul, noGrad, sum, sync, type Tensor, tensor, tidy,
} from '../engine/index.js';
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
  onProgress?: (p: BatchProgress) => void;
  /**
   * Called after each optimizer step (e.g. a gradual-pruning schedule); runs inside the step's scope.
   * A returned promise (e.g. a mask update that reads weights back) is awaited before the next batch.
   */
  afterStep?: (step: number) => void | Promise<void>;
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
  const { batchSize, generator, epoch = 1, readEvery = 20, onProgress, afterStep } = options;
  model.train();
  const totals = new Totals();
  const total = numBatches(data.n, batchSize);
  const start = performance.now();
  let index = 0;
  let last = { loss: NaN, accuracy: NaN };
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
      if (onProgress && (index % readEvery === 0 || index === total)) {
        last = await totals.read();
        const seconds = (performance.now() - start) / 1000;
        onProgress({ epoch, batch: index, batches: total, samples: totals.samples, ...last, samplesPerSecond: totals.samples / seconds });
      }
    }
    last = await totals.read();
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
