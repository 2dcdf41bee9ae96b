/**
 * `wgprune train`: train a registered model on MNIST, with a progress bar, keeping the best checkpoint.
 * The output path is checked before anything starts; a diverged run (NaN or infinite loss) stops
 * with the epoch and steps named, keeping the last good checkpoint, unless `allowNonFinite`.
 */
import cliProgress from 'cli-progress';
import { init, type BackendName, memoryStats } from '../engine/internal.js';
import { Adam, AdamW, CosineAnnealingLR, countParameters, createModel, MODELS, SGD, StepLR } from '../nn/index.js';
import { loadMnist } from '../nn/data/mnist.js';
import { syntheticCifar } from '../nn/data/synthetic-cifar.js';
import { describeNonFinite, NonFiniteValuesError } from '../nn/checkpoint.js';
import { saveCheckpoint } from '../nn/checkpoint-file.js';
import { checkCheckpointOut } from '../nn/checkpoint-out.js';
import { fit, type FitResult } from '../nn/fit.js';
import { NonFiniteLossError } from '../nn/train.js';
import type { Module } from '../nn/module.js';

export interface TrainOptions {
  model: string;
  epochs: number;
  batchSize: number;
  optimizer: 'sgd' | 'adam' | 'adamw';
  lr?: number;
  momentum: number;
  weightDecay: number;
  schedule: 'none' | 'cosine' | 'step';
  out?: string;
  seed: number;
  backend: BackendName;
  /** Use only the first N training samples (quick runs). */
  limit?: number;
  /** Use only the first N test samples (quick runs). */
  testLimit?: number;
  progress: boolean;
  /** Keep training when the loss becomes NaN or infinite (such epochs are never saved). */
  allowNonFinite?: boolean;
}

export function makeOptimizer(model: Module, o: Pick<TrainOptions, 'optimizer' | 'lr' | 'momentum' | 'weightDecay'>) {
  const params = model.parameters();
  if (o.optimizer === 'sgd') return new SGD(params, { lr: o.lr ?? 0.05, momentum: o.momentum, weightDecay: o.weightDecay });
  if (o.optimizer === 'adam') return new Adam(params, { lr: o.lr ?? 1e-3, weightDecay: o.weightDecay });
  return new AdamW(params, { lr: o.lr ?? 1e-3, weightDecay: o.weightDecay || 1e-2 });
}

export async function train(o: TrainOptions, log: (line: string) => void = console.log, warn: (line: string) => void = console.warn): Promise<FitResult> {
  const spec = MODELS.get(o.model);
  if (!spec) throw Object.assign(new Error(`train: unknown model '${o.model}' (known: ${[...MODELS.keys()].join(', ')})`), { exitCode: 2 });
  if (o.out) await checkCheckpointOut(o.out);
  else warn('warning: no --out given: the trained weights will not be saved');
  const device = await init({ backend: o.backend });
  log(`device: ${device.backend} — ${device.adapter} (${device.featureLevel})`);
  const [trainSet, testSet] = spec.dataset === 'mnist'
    ? await Promise.all([loadMnist('train', { limit: o.limit }), loadMnist('test', { limit: o.testLimit })])
    : [syntheticCifar({ n: o.limit ?? 2048, seed: o.seed }), syntheticCifar({ n: o.testLimit ?? 512, seed: o.seed + 1 })];
  if (spec.dataset !== 'mnist') log('data: synthetic CIFAR-shaped inputs (timing only: no CIFAR-10 data is available offline; accuracy is meaningless)');
  const model = createModel(o.model, { seed: o.seed });
  const optimizer = makeOptimizer(model, o);
  const scheduler = o.schedule === 'cosine' ? new CosineAnnealingLR(optimizer, o.epochs) : o.schedule === 'step' ? new StepLR(optimizer, Math.max(1, Math.floor(o.epochs / 3)), 0.1) : undefined;
  log(`model: ${o.model} (${countParameters(model)} parameters); ${trainSet.n} training / ${testSet.n} test samples; ${o.optimizer} lr ${optimizer.lr}, batch ${o.batchSize}, ${o.epochs} epochs, schedule ${o.schedule}`);

  const bar = o.progress
    ? new cliProgress.SingleBar({
        format: 'epoch {epoch} |{bar}| {percentage}% | loss {loss} | acc {acc}% | {rate} samples/s | ETA {eta_formatted}',
        hideCursor: true,
        clearOnComplete: true,
      }, cliProgress.Presets.shades_classic)
    : null;
  let barStarted = false;
  let savedEpoch = 0;
  try {
    return await fit(model, {
      epochs: o.epochs,
      batchSize: o.batchSize,
      optimizer,
      scheduler,
      train: trainSet,
      test: testSet,
      seed: o.seed,
      allowNonFinite: o.allowNonFinite,
      onProgress: (p) => {
        if (!bar) return;
        const payload = { epoch: `${p.epoch}/${o.epochs}`, loss: p.loss.toFixed(4), acc: (100 * p.accuracy).toFixed(2), rate: p.samplesPerSecond.toFixed(0) };
        if (!barStarted) {
          bar.start(p.batches, p.batch, payload);
          barStarted = true;
        } else bar.update(p.batch, payload);
        if (p.batch === p.batches) {
          bar.stop();
          barStarted = false;
        }
      },
      onEpoch: async ({ train: t, test }, improved) => {
        let saved = '';
        if (improved && o.out) {
          try {
            await saveCheckpoint(o.out, model, {
              model: o.model, epoch: String(t.epoch), test_accuracy: String(test?.accuracy ?? ''), seed: String(o.seed), format: 'wgprune-checkpoint-v1',
            }, { nonFinite: 'error' });
            saved = ` -> saved ${o.out}`;
            savedEpoch = t.epoch;
          } catch (e) {
            if (!(e instanceof NonFiniteValuesError && o.allowNonFinite)) throw e;
            saved = ' -> not saved (non-finite weights)';
          }
        }
        log(
          `epoch ${t.epoch}/${o.epochs}: train loss ${t.loss.toFixed(4)} acc ${(100 * t.accuracy).toFixed(2)}% | ` +
            `test loss ${test?.loss.toFixed(4)} acc ${test ? (100 * test.accuracy).toFixed(2) : '-'}% | ` +
            `${t.seconds.toFixed(1)} s, ${t.samplesPerSecond.toFixed(0)} samples/s, ${(memoryStats().inUseBytes / 2 ** 20).toFixed(1)} MiB in use${saved}`,
        );
      },
    });
  } catch (e) {
    if (!(e instanceof NonFiniteLossError || e instanceof NonFiniteValuesError)) throw e;
    const kept = !o.out ? 'nothing was saved (no --out)'
      : savedEpoch ? `the last good checkpoint (epoch ${savedEpoch}) is kept in ${o.out}`
      : `nothing was saved to ${o.out}`;
    const what = e instanceof NonFiniteLossError ? e.message : `training stopped: the weights hold NaN or infinite values: ${describeNonFinite(e.tensors)}`;
    throw new Error(`${what}; ${kept}. Lower --lr, or pass --allow-nonfinite to keep training anyway`, { cause: e });
  } finally {
    if (barStarted) bar?.stop();
  }
}
