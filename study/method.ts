/**
 * One study run's pruning: a method (criterion × granularity × scope × schedule) applied to a
 * copy of the dense model, with fine-tuning, evaluation after each step, and a stop signal
 * honoured between training steps.
 */
import { Generator } from '../engine/internal.js';
import { Adam, evaluate, type ArrayDataset, type Module, SGD, trainEpoch } from '../nn/index.js';
import {
  applyMask, type Criterion, GradientAccumulator, GradualPruner, iterativeTargets, LotteryTicket, prune, type PruneOptions, type PruneResult,
} from '../pruning/index.js';
import type { ModelSource } from './model-source.js';
import type { StudyConfig, StudyMethod } from './results.js';

/** Thrown inside a run when the study is asked to stop (Ctrl-C). */
export class StudyStopped extends Error {
  constructor() {
    super('the study was stopped');
    this.name = 'StudyStopped';
  }
}

export interface StudyData {
  train: ArrayDataset;
  test: ArrayDataset;
  /** Synthetic inputs: no accuracy is measured and nothing is fine-tuned. */
  timingOnly: boolean;
}

export interface MethodContext {
  /** Makes the per-run copy (and, for the lottery schedules, the freshly initialised model). */
  source: Pick<ModelSource, 'name' | 'create' | 'seededInit'>;
  /** The trained dense model (not modified). */
  dense: Module;
  data: StudyData;
  config: StudyConfig;
  method: StudyMethod;
  sparsity: number;
  seed: number;
  signal: AbortSignal;
  /** What the run is doing, with the fraction done when known. */
  phase: (text: string, fraction?: number) => void;
  /** Lottery masks shared between 'lottery' and 'lottery-reinit' runs of the same settings. */
  tickets: Map<string, Map<string, Float32Array>>;
}

export interface MethodOutcome {
  /** The pruned model (masks in place): the caller owns it. */
  model: Module;
  /** The last pruning call's result. */
  result: PruneResult;
  steps: Array<{ target: number; accuracy: number | null }>;
  accuracyPruned: number | null;
  accuracyFinal: number | null;
}

function checkStop(signal: AbortSignal): void {
  if (signal.aborted) throw new StudyStopped();
}

function copyModel(source: MethodContext['source'], src: Module, seed: number): Module {
  const m = source.create(seed);
  try {
    m.loadStateDict(src.stateDict());
  } catch (e) {
    m.dispose();
    throw e;
  }
  return m;
}

/** The key of a lottery ticket: everything that determines its mask. */
function ticketKey(c: MethodContext): string {
  const m = c.method;
  return JSON.stringify([m.criterion, m.granularity, m.scope, m.rounds, m.finetuneEpochs, c.sparsity, c.seed]);
}

export async function applyMethod(c: MethodContext): Promise<MethodOutcome> {
  const { method, config, data, signal } = c;
  const gen = new Generator(c.seed * 7919 + 17);
  const lottery = method.schedule === 'lottery' || method.schedule === 'lottery-reinit';
  if (lottery && !c.source.seededInit) throw new Error(`the ${method.schedule} schedule rewinds to initial values, which ${c.source.name} does not have (an ONNX file holds trained values only)`);
  const model = lottery ? c.source.create(c.seed) : copyModel(c.source, c.dense, c.seed);
  // Gradient criteria read the accumulator's sums when pruning: it lives until the next score or the end.
  let acc: GradientAccumulator | null = null;
  try {
    const accuracy = async (): Promise<number | null> => {
      if (data.timingOnly) return null;
      checkStop(signal);
      c.phase('evaluate');
      return (await evaluate(model, data.test)).accuracy;
    };
    const needsGradients = method.criterion === 'gradient' || method.criterion === 'taylor';
    let criterion: Criterion | string = method.criterion;
    const base: Omit<PruneOptions, 'sparsity'> = {
      granularity: method.granularity, scope: method.scope, generator: new Generator(c.seed * 7919 + 3),
      ...(method.perLayer ? { perLayer: method.perLayer } : {}),
    };
    const score = async (): Promise<void> => {
      if (!needsGradients) return;
      c.phase(`${method.criterion} scores`);
      acc?.dispose();
      acc = new GradientAccumulator(model);
      await acc.feed(data.train, { batchSize: config.batchSize, maxBatches: 20, seed: c.seed });
      criterion = method.criterion === 'taylor' ? acc.taylor() : acc.gradientMagnitude();
    };
    // Fine-tuning (or training, for the lottery schedules) with a stop check after every step.
    let epochCount = 0;
    const train = async (epochs: number, what: string, afterStep?: (step: number) => void | Promise<void>): Promise<void> => {
      if (epochs === 0 || data.timingOnly) return;
      const optimizer = config.optimizer === 'adam'
        ? new Adam(model.parameters(), { lr: config.lr, weightDecay: config.weightDecay })
        : new SGD(model.parameters(), { lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay });
      try {
        for (let e = 0; e < epochs; e++) {
          checkStop(signal);
          const label = `${what} epoch ${e + 1}/${epochs}`;
          await trainEpoch(model, data.train, optimizer, {
            batchSize: config.batchSize, generator: gen, epoch: ++epochCount,
            onProgress: (p) => c.phase(label, p.batch / p.batches),
            afterStep: (step) => {
              if (signal.aborted) throw new StudyStopped();
              return afterStep?.(step);
            },
          });
        }
      } finally {
        optimizer.dispose();
      }
    };

    const steps: MethodOutcome['steps'] = [];
    let result: PruneResult | null = null;
    let accuracyPruned: number | null = null;

    if (method.schedule === 'oneshot' || method.schedule === 'iterative') {
      const targets = method.schedule === 'iterative' ? iterativeTargets(c.sparsity, method.rounds) : [c.sparsity];
      for (const [i, target] of targets.entries()) {
        checkStop(signal);
        await score();
        c.phase(`prune to ${(100 * target).toFixed(1)} % (round ${i + 1}/${targets.length})`);
        result = await prune(model, { ...base, criterion, sparsity: target });
        if (i === targets.length - 1) accuracyPruned = await accuracy();
        await train(method.finetuneEpochs, `fine-tune (round ${i + 1}/${targets.length})`);
        steps.push({ target, accuracy: method.finetuneEpochs > 0 || i === targets.length - 1 ? await accuracy() : null });
      }
    } else if (method.schedule === 'agp') {
      const perEpoch = Math.ceil(data.train.n / config.batchSize);
      const total = perEpoch * method.finetuneEpochs;
      // Updates spread over the first 75 % of the steps, the rest fine-tunes at the final sparsity.
      const frequency = Math.max(1, Math.floor((0.75 * total) / method.rounds));
      await score();
      const pruner = new GradualPruner(model, { finalSparsity: c.sparsity, numUpdates: method.rounds, frequency }, { ...base, criterion });
      await train(method.finetuneEpochs, 'gradual pruning', pruner.afterStep);
      if (!pruner.done) await pruner.update(pruner.schedule.startStep + method.rounds * frequency);
      result = pruner.history[pruner.history.length - 1]!.result;
      accuracyPruned = null;
      steps.push(...pruner.history.slice(0, -1).map((h) => ({ target: h.target, accuracy: null })));
      steps.push({ target: c.sparsity, accuracy: await accuracy() });
    } else {
      // Lottery ticket: train from initialisation, prune p of what remains, rewind, retrain; K rounds.
      const key = ticketKey(c);
      const pruneFraction = 1 - (1 - c.sparsity) ** (1 / method.rounds);
      const ticket = new LotteryTicket(model, { ...base, criterion: method.criterion, rounds: method.rounds, pruneFraction });
      try {
        let saved = method.schedule === 'lottery-reinit' ? c.tickets.get(key) : undefined;
        if (!saved) {
          const run = await ticket.run(async ({ round, afterStep }) => {
            await train(method.finetuneEpochs, round === 0 ? 'dense training' : `lottery round ${round}/${method.rounds}`, afterStep);
            const a = await accuracy();
            if (round > 0) steps.push({ target: ticket.targetAfter(round), accuracy: a });
            return a ?? undefined;
          });
          result = run.rounds[run.rounds.length - 1]!.prune;
          saved = new Map();
          for (const [name, t] of model.namedBuffers()) if (name.endsWith('_mask')) saved.set(name, await t.toArray());
          c.tickets.set(key, saved);
          accuracyPruned = run.rounds[run.rounds.length - 1]!.metric ?? null;
        }
        if (method.schedule === 'lottery-reinit') {
          // The same final mask on freshly drawn initial values, trained as long as one lottery round.
          steps.length = 0;
          c.phase('apply the ticket\'s mask');
          for (const [name, mask] of saved) {
            const path = name.slice(0, -'_mask'.length).split('.');
            const param = path.pop()!;
            let m: Module | undefined = model;
            for (const part of path) m = m?.child(part);
            applyMask(m!, param, mask);
          }
          ticket.reinitialize(c.seed + 1000);
          accuracyPruned = await accuracy();
          await train(method.finetuneEpochs, 'random re-init training');
          steps.push({ target: c.sparsity, accuracy: await accuracy() });
          // A zero target prunes nothing more (masks only grow) and counts the units the mask holds.
          result = await prune(model, { ...base, criterion: 'l1', sparsity: 0 });
        }
      } finally {
        ticket.dispose();
      }
    }
    return { model, result: result!, steps, accuracyPruned, accuracyFinal: steps.length ? steps[steps.length - 1]!.accuracy : accuracyPruned };
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    (acc as GradientAccumulator | null)?.dispose();
  }
}
