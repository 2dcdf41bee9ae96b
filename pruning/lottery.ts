/**
 * The Lottery Ticket procedure (Frankle & Carbin 2019; rewinding: Frankle et
 * al. 2020): train, prune p% of the remaining weights, rewind the survivors to
 * their values at initialisation (or at iteration / epoch k of the first
 * training), retrain; repeat. The control keeps the final mask but draws fresh
 * random initial values.
 *
 *   const ticket = new LotteryTicket(model, { rounds: 5, pruneFraction: 0.2, scope: 'global' });
 *   const result = await ticket.run(async ({ round, afterStep, afterEpoch }) => { ...train...; return accuracy; });
 *   ticket.reinitialize(seed); await train again  // the random re-init control
 *
 * Rewinding copies the saved values into the trainable tensors (weight_orig
 * for pruned weights) in place, so optimizers created by the training callback
 * stay valid; masks are kept, so pruned weights stay zero.
 */
import { Generator, keep, type Tensor } from '../engine/internal.js';
import { cloneTensor, Conv2d, init, Linear, type Module } from '../nn/index.js';
import { checkSparsity } from './amount.js';
import { prunedNames, trainableParam } from './masked.js';
import { prune, type PruneOptions, type PruneResult } from './prune.js';

export type Rewind = 'init' | { iteration: number } | { epoch: number };

export interface LotteryOptions extends Omit<PruneOptions, 'sparsity'> {
  /** Pruning rounds (each followed by rewind + retrain). */
  rounds: number;
  /** Fraction of the remaining weights pruned per round (Frankle & Carbin: 0.2 for fully connected layers). */
  pruneFraction: number;
  /** Where survivors are rewound to (default 'init'). */
  rewind?: Rewind;
  /** Module name → its own per-round fraction (Frankle & Carbin prune the output layer at half the rate). */
  layerFractions?: Record<string, number>;
}

export interface TrainContext {
  /** 0 is the dense training; 1…rounds follow each pruning. */
  round: number;
  /** Pass to trainEpoch's `afterStep` (captures the rewind point at iteration k of round 0). */
  afterStep: (step: number) => void;
  /** Call after each epoch (1-based; captures the rewind point after epoch k of round 0). */
  afterEpoch: (epoch: number) => void;
}

export interface LotteryRound {
  round: number;
  /** Fraction of the pruned layers' weights still alive when this round trained. */
  remaining: number;
  /** What the training callback returned (e.g. test accuracy). */
  metric: number | undefined;
  prune: PruneResult | null;
}

export interface LotteryResult {
  rounds: LotteryRound[];
}

export class LotteryTicket {
  private snapshot: Map<Tensor, Tensor> | null = null;
  private steps = 0;
  readonly options: LotteryOptions;

  constructor(readonly model: Module, options: LotteryOptions) {
    if (!Number.isInteger(options.rounds) || options.rounds < 0) throw new Error(`LotteryTicket: rounds must be a non-negative integer, got ${options.rounds}`);
    checkSparsity(options.pruneFraction, 'LotteryTicket: pruneFraction');
    for (const [name, p] of Object.entries(options.layerFractions ?? {})) checkSparsity(p, `LotteryTicket: layerFractions['${name}']`);
    const r = options.rewind ?? 'init';
    if (r !== 'init') {
      const k = 'iteration' in r ? r.iteration : r.epoch;
      if (!Number.isInteger(k) || k < 0) throw new Error(`LotteryTicket: rewind point must be a non-negative integer, got ${JSON.stringify(r)}`);
    }
    this.options = { ...options, rewind: r };
  }

  /** The trainable tensors (orig for pruned parameters), every parameter of the model. */
  private trainables(): Tensor[] {
    const out: Tensor[] = [];
    for (const [, m] of this.model.namedModules()) {
      const pruned = new Set(prunedNames(m));
      for (const [name, t] of m.namedParameters('', false)) {
        if (name.endsWith('_orig') && pruned.has(name.slice(0, -5))) out.push(t);
        else if (!name.endsWith('_orig')) out.push(t);
      }
    }
    return out;
  }

  /** Saves the current parameter values as the rewind point (replacing an earlier one). */
  capture(): void {
    this.disposeSnapshot();
    this.snapshot = new Map(this.trainables().map((t) => [t, keep(cloneTensor(t))]));
  }

  get captured(): boolean {
    return this.snapshot !== null;
  }

  /** Copies the rewind point back into every parameter (masks are untouched). */
  rewind(): void {
    if (!this.snapshot) throw new Error('LotteryTicket.rewind: no rewind point captured yet');
    for (const t of this.trainables()) {
      const saved = this.snapshot.get(t);
      if (!saved) throw new Error('LotteryTicket.rewind: a parameter was replaced since the rewind point was captured');
      const copy = cloneTensor(saved);
      t.assign(copy);
      copy.dispose();
    }
  }

  /** The cumulative target after `round` rounds: 1 − (1 − p)^round. */
  targetAfter(round: number, p = this.options.pruneFraction): number {
    return round === 0 ? 0 : 1 - (1 - p) ** round;
  }

  /** Prunes to the target of `round` (p% of what remains). */
  async pruneRound(round: number): Promise<PruneResult> {
    const { rounds: _r, pruneFraction: _p, rewind: _w, layerFractions, ...rest } = this.options;
    const perLayer: Record<string, number> = { ...rest.perLayer };
    for (const [name, p] of Object.entries(layerFractions ?? {})) perLayer[name] = this.targetAfter(round, p);
    return prune(this.model, { ...rest, perLayer, sparsity: this.targetAfter(round) });
  }

  /**
   * The random re-initialisation control: fresh default initial values
   * (PyTorch's Linear/Conv2d init) from `seed` for every Linear/Conv2d, masks kept.
   */
  reinitialize(seed: number): void {
    const g = new Generator(seed);
    for (const [, m] of this.model.namedModules()) {
      if (!(m instanceof Linear) && !(m instanceof Conv2d)) continue;
      const w = trainableParam(m, 'weight', 'reinitialize');
      const hasBias = m.parameter('bias') !== null || prunedNames(m).includes('bias');
      init.defaultLayerInit(w, hasBias ? trainableParam(m, 'bias', 'reinitialize') : null, g);
    }
  }

  private context(round: number): TrainContext {
    const rw = this.options.rewind!;
    return {
      round,
      afterStep: () => {
        const step = this.steps++;
        if (round === 0 && rw !== 'init' && 'iteration' in rw && step + 1 === rw.iteration) this.capture();
      },
      afterEpoch: (epoch: number) => {
        if (round === 0 && rw !== 'init' && 'epoch' in rw && epoch === rw.epoch) this.capture();
      },
    };
  }

  /**
   * Runs the procedure: (capture θ0 when rewinding to init) → train (round 0) →
   * for each round: prune → rewind → train. `train` trains the model in place and
   * may return a metric (e.g. test accuracy), recorded per round.
   */
  async run(train: (ctx: TrainContext) => Promise<number | void>): Promise<LotteryResult> {
    const rw = this.options.rewind!;
    if (rw === 'init' || ('iteration' in rw && rw.iteration === 0)) this.capture();
    const rounds: LotteryRound[] = [];
    this.steps = 0;
    rounds.push({ round: 0, remaining: 1, metric: (await train(this.context(0))) ?? undefined, prune: null });
    if (!this.snapshot) throw new Error(`LotteryTicket.run: the rewind point ${JSON.stringify(rw)} was never reached in the first training (call ctx.afterStep / ctx.afterEpoch)`);
    for (let r = 1; r <= this.options.rounds; r++) {
      const result = await this.pruneRound(r);
      this.rewind();
      const remaining = 1 - result.layers.reduce((a, l) => a + l.zeros, 0) / result.layers.reduce((a, l) => a + l.size, 0);
      rounds.push({ round: r, remaining, metric: (await train(this.context(r))) ?? undefined, prune: result });
    }
    return { rounds };
  }

  private disposeSnapshot(): void {
    for (const t of this.snapshot?.values() ?? []) t.dispose();
    this.snapshot = null;
  }

  dispose(): void {
    this.disposeSnapshot();
  }
}
