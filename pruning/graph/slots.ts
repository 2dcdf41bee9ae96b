/**
 * Channel slots and their coupling classes (union–find).
 *
 * A slot is one channel (or one feature of a rank-2 tensor) of one tensor the
 * traced forward pass produces. Two slots are coupled when removing one forces
 * removing the other: a channel-wise op's input and output channel, the
 * operands and result of a residual addition, a concatenation's part and whole.
 * A class is a maximal set of coupled slots: it is removed as a whole or not at all.
 */
export class SlotTable {
  private readonly parent: number[] = [];
  /** Slots of the model's input or output: never removed. */
  private readonly pinned: boolean[] = [];
  /** Why a slot is pinned (first reason wins). */
  private readonly reasons: Array<string | undefined> = [];

  get size(): number {
    return this.parent.length;
  }

  /** `n` fresh slots, each its own class. */
  create(n: number, pinned?: string): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = this.parent.length;
      this.parent.push(this.parent.length);
      this.pinned.push(pinned !== undefined);
      this.reasons.push(pinned);
    }
    return out;
  }

  find(a: number): number {
    let r = a;
    while (this.parent[r] !== r) r = this.parent[r]!;
    while (this.parent[a] !== r) {
      const next = this.parent[a]!;
      this.parent[a] = r;
      a = next;
    }
    return r;
  }

  union(a: number, b: number): void {
    const ra = this.find(a), rb = this.find(b);
    if (ra === rb) return;
    const root = Math.min(ra, rb), other = Math.max(ra, rb);
    this.parent[other] = root;
    if (this.pinned[other] && !this.pinned[root]) {
      this.pinned[root] = true;
      this.reasons[root] = this.reasons[other];
    }
  }

  pin(a: number, reason: string): void {
    const r = this.find(a);
    if (!this.pinned[r]) {
      this.pinned[r] = true;
      this.reasons[r] = reason;
    }
  }

  /** Whether the class of `a` is pinned, and why. */
  pinnedReason(a: number): string | undefined {
    const r = this.find(a);
    return this.pinned[r] ? this.reasons[r] ?? 'pinned' : undefined;
  }
}
