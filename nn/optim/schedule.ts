/**
 * Learning-rate schedules (torch.optim.lr_scheduler), stepped once per epoch:
 * after `step()` number t the rate is the schedule's closed form at epoch t, from
 * each group's rate when the scheduler was built.
 */
interface HasGroups {
  paramGroups: Array<{ lr: number }>;
}

export abstract class LRScheduler {
  /** Epochs stepped so far (0 right after construction). */
  lastEpoch = 0;
  readonly baseLrs: number[];

  constructor(readonly optimizer: HasGroups) {
    // Every schedule starts at the base rate, so construction leaves the rates as they are.
    this.baseLrs = optimizer.paramGroups.map((g) => g.lr);
  }

  /** The rate at `epoch` for a group whose initial rate is `base`. */
  abstract lrAt(base: number, epoch: number): number;

  step(): void {
    this.lastEpoch++;
    this.apply();
  }

  private apply(): void {
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = this.lrAt(this.baseLrs[i]!, this.lastEpoch)));
  }

  /** The rates last set, one per group. */
  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  stateDict(): { lastEpoch: number; baseLrs: number[] } {
    return { lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs] };
  }

  loadStateDict(s: { lastEpoch: number; baseLrs: number[] }): void {
    if (s.baseLrs.length !== this.baseLrs.length) throw new Error(`${this.constructor.name}.loadStateDict: ${s.baseLrs.length} groups in the state, ${this.baseLrs.length} in the optimizer`);
    this.lastEpoch = s.lastEpoch;
    this.baseLrs.splice(0, this.baseLrs.length, ...s.baseLrs);
    this.apply();
  }
}

/** lr = base · γ^⌊epoch / stepSize⌋. */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: HasGroups, stepSize: number, gamma = 0.1) {
    if (!Number.isInteger(stepSize) || stepSize < 1) throw new Error(`StepLR: stepSize must be a positive integer, got ${stepSize}`);
    super(optimizer);
    this.stepSize = stepSize;
    this.gamma = gamma;
  }

  lrAt(base: number, epoch: number): number {
    return base * this.gamma ** Math.floor(epoch / this.stepSize);
  }
}

/** lr = base · γ^(number of milestones ≤ epoch). */
export class MultiStepLR extends LRScheduler {
  readonly milestones: number[];
  readonly gamma: number;

  constructor(optimizer: HasGroups, milestones: readonly number[], gamma = 0.1) {
    if (!milestones.every((m) => Number.isInteger(m) && m >= 1)) throw new Error(`MultiStepLR: milestones must be positive integers, got [${milestones.join(', ')}]`);
    super(optimizer);
    this.milestones = [...milestones].sort((a, b) => a - b);
    this.gamma = gamma;
  }

  lrAt(base: number, epoch: number): number {
    const passed = this.milestones.filter((m) => m <= epoch).length;
    return base * this.gamma ** passed;
  }
}

/** lr = η_min + (base − η_min)·(1 + cos(π·epoch/tMax))/2 (SGDR without restarts). */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: HasGroups, tMax: number, etaMin = 0) {
    if (!(tMax > 0)) throw new Error(`CosineAnnealingLR: tMax must be positive, got ${tMax}`);
    super(optimizer);
    this.tMax = tMax;
    this.etaMin = etaMin;
  }

  lrAt(base: number, epoch: number): number {
    return this.etaMin + ((base - this.etaMin) * (1 + Math.cos((Math.PI * epoch) / this.tMax))) / 2;
  }
}
