/**
 * When to prune: one-shot, iterative (K rounds of prune → fine-tune) and
 * gradual (Zhu & Gupta's automated gradual pruning, during training).
 */
import type { Module } from '../nn/index.js';
import { checkSparsity } from './amount.js';
import { prune, type PruneOptions, type PruneResult } from './prune.js';

/** One-shot: prune straight to the target (the same as `prune`). */
export function oneShot(model: Module, options: PruneOptions & { sparsity: number }): Promise<PruneResult> {
  return prune(model, options);
}

/**
 * The target after each of K rounds when every round prunes the same fraction
 * of the weights still alive: s_r = 1 − (1 − s)^(r/K), the last exactly s.
 * (Each round removes 1 − (1 − s)^(1/K) of what remains; K = 3, s = 0.92 gives
 * 0.569, 0.814, 0.92.)
 */
export function iterativeTargets(finalSparsity: number, rounds: number): number[] {
  checkSparsity(finalSparsity, 'iterativeTargets');
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`iterativeTargets: rounds must be a positive integer, got ${rounds}`);
  return Array.from({ length: rounds }, (_, i) => (i + 1 === rounds ? finalSparsity : 1 - (1 - finalSparsity) ** ((i + 1) / rounds)));
}

export interface IterativeOptions extends Omit<PruneOptions, 'sparsity'> {
  /** Final target sparsity. */
  sparsity: number;
  /** K (the seeds use 3). */
  rounds: number;
  /** Fine-tuning after each round's pruning (the seeds: 4 epochs). */
  finetune?: (round: number, result: PruneResult) => Promise<void> | void;
}

export interface IterativeResult {
  targets: number[];
  rounds: PruneResult[];
}

/** K rounds of prune (to the round's target) → fine-tune. */
export async function iterativePrune(model: Module, options: IterativeOptions): Promise<IterativeResult> {
  const { rounds, finetune, ...rest } = options;
  const targets = iterativeTargets(options.sparsity, rounds);
  const results: PruneResult[] = [];
  for (let r = 0; r < rounds; r++) {
    const result = await prune(model, { ...rest, sparsity: targets[r]! });
    results.push(result);
    await finetune?.(r + 1, result);
  }
  return { targets, rounds: results };
}

/** Zhu & Gupta (2017): s_t = s_f + (s_i − s_f)(1 − (t − t0)/(nΔt))³ for t = t0, t0 + Δt, …, t0 + nΔt. */
export interface AgpSchedule {
  /** s_i, applied at t0 (default 0). */
  initialSparsity?: number;
  /** s_f, reached at t0 + nΔt. */
  finalSparsity: number;
  /** t0 (default 0). */
  startStep?: number;
  /** n: number of mask updates after t0. */
  numUpdates: number;
  /** Δt: steps between mask updates. */
  frequency: number;
}

function checkAgp(s: AgpSchedule): Required<AgpSchedule> {
  const { initialSparsity = 0, finalSparsity, startStep = 0, numUpdates, frequency } = s;
  checkSparsity(initialSparsity, 'agp: initialSparsity');
  checkSparsity(finalSparsity, 'agp: finalSparsity');
  if (finalSparsity < initialSparsity) throw new Error(`agp: finalSparsity ${finalSparsity} is below initialSparsity ${initialSparsity} (masks never revive)`);
  if (!Number.isInteger(startStep) || startStep < 0) throw new Error(`agp: startStep must be a non-negative integer, got ${startStep}`);
  if (!Number.isInteger(numUpdates) || numUpdates < 1) throw new Error(`agp: numUpdates must be a positive integer, got ${numUpdates}`);
  if (!Number.isInteger(frequency) || frequency < 1) throw new Error(`agp: frequency must be a positive integer, got ${frequency}`);
  return { initialSparsity, finalSparsity, startStep, numUpdates, frequency };
}

/**
 * The target sparsity in force at step t: 0 before t0, the formula's value at
 * the last update step ≤ t, and s_f from t0 + nΔt on.
 */
export function agpSparsity(step: number, schedule: AgpSchedule): number {
  const { initialSparsity: si, finalSparsity: sf, startStep: t0, numUpdates: n, frequency: dt } = checkAgp(schedule);
  if (step < t0) return 0;
  const k = Math.min(n, Math.floor((step - t0) / dt));
  return sf + (si - sf) * (1 - (k * dt) / (n * dt)) ** 3;
}

/** Whether the mask is updated at step t. */
export function isAgpUpdateStep(step: number, schedule: AgpSchedule): boolean {
  const { startStep: t0, numUpdates: n, frequency: dt } = checkAgp(schedule);
  return step >= t0 && (step - t0) % dt === 0 && (step - t0) / dt <= n;
}

export interface GradualRecord {
  step: number;
  target: number;
  result: PruneResult;
}

/**
 * AGP during training. Pass `pruner.afterStep` to trainEpoch's `afterStep`: it
 * counts optimizer steps across epochs (its own counter, starting at 0) and, on
 * update steps, prunes to the schedule's target (masks only grow).
 */
export class GradualPruner {
  step = 0;
  readonly history: GradualRecord[] = [];
  readonly schedule: Required<AgpSchedule>;

  constructor(readonly model: Module, schedule: AgpSchedule, readonly options: Omit<PruneOptions, 'sparsity'> = {}) {
    this.schedule = checkAgp(schedule);
  }

  /** The hook for trainEpoch (the batch index it passes is ignored). */
  readonly afterStep = (): Promise<void> | void => {
    const t = this.step++;
    if (!isAgpUpdateStep(t, this.schedule)) return;
    // Runs after the training step's scope closes (trainEpoch awaits it before the next batch).
    return Promise.resolve().then(async () => {
      await this.update(t);
    });
  };

  /** Prunes to the target of step t now. */
  async update(t: number): Promise<PruneResult> {
    const target = agpSparsity(t, this.schedule);
    const result = await prune(this.model, { ...this.options, sparsity: target });
    this.history.push({ step: t, target, result });
    return result;
  }

  /** Whether the final sparsity has been applied. */
  get done(): boolean {
    return this.step > this.schedule.startStep + this.schedule.numUpdates * this.schedule.frequency;
  }
}
