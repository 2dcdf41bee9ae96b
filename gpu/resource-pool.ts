/**
 * What the buffer and texture pools share: released resources are parked until the next
 * submit (the work recorded before it may still read them), then free for reuse by exact
 * key. Reuse takes the most recently freed resource of a key; eviction destroys the least
 * recently freed one of any key, so what a running loop keeps reusing stays and what it
 * stopped using goes first.
 */

interface Entry<T> {
  key: string;
  item: T;
  bytes: number;
  /** The submit count when it was freed (the runtime's clock, shared by its pools). */
  stamp: number;
  /** performance.now() when it was freed. */
  time: number;
}

/** When a free resource was freed: the submit count and the time in milliseconds. */
export interface FreedAt {
  submit: number;
  time: number;
}

export class ResourcePool<T extends { destroy(): void }> {
  private byKey = new Map<string, Array<Entry<T>>>();
  /** Every free entry, least recently freed first (a Set iterates in insertion order). */
  private order = new Set<Entry<T>>();
  private parked: Array<Omit<Entry<T>, 'stamp' | 'time'>> = [];
  private free = 0;
  private parkedBytes = 0;
  private total = 0;

  /** `clock`: how many submits the runtime has issued. */
  constructor(private readonly clock: () => number) {}

  /** Counts a resource the pool just created. */
  protected created(bytes: number): void {
    this.total += bytes;
  }

  /** The most recently freed resource of `key`, if any. */
  protected take(key: string): T | undefined {
    const entry = this.byKey.get(key)?.pop();
    if (!entry) return undefined;
    this.order.delete(entry);
    this.free -= entry.bytes;
    return entry.item;
  }

  /** Parks a resource until the next submit. */
  protected park(key: string, item: T, bytes: number): void {
    this.parked.push({ key, item, bytes });
    this.parkedBytes += bytes;
  }

  /** Frees a resource at once (nothing recorded or pending refers to it). */
  protected putFree(key: string, item: T, bytes: number): void {
    const entry = { key, item, bytes, stamp: this.clock(), time: performance.now() };
    let list = this.byKey.get(key);
    if (!list) this.byKey.set(key, (list = []));
    list.push(entry);
    this.order.add(entry);
    this.free += bytes;
  }

  /** Called right after a submit: parked resources become reusable. */
  afterSubmit(): void {
    const parked = this.parked;
    this.parked = [];
    this.parkedBytes = 0;
    for (const { key, item, bytes } of parked) this.putFree(key, item, bytes);
  }

  /** Bytes of every resource the pool created and has not destroyed. */
  get allocatedBytes(): number {
    return this.total;
  }

  /** Bytes held for reuse: free resources and those waiting for the next submit. */
  get pooledBytes(): number {
    return this.free + this.parkedBytes;
  }

  /** Bytes of free (reusable now) resources. */
  get freeBytes(): number {
    return this.free;
  }

  /** When the least recently freed resource was freed; null when none is free. */
  get oldestFree(): FreedAt | null {
    const first = this.order.values().next();
    return first.done ? null : { submit: first.value.stamp, time: first.value.time };
  }

  /** Destroys the least recently freed resource; false when none is free. */
  evictOldest(): boolean {
    const first = this.order.values().next();
    if (first.done) return false;
    const entry = first.value;
    this.order.delete(entry);
    const list = this.byKey.get(entry.key)!;
    list.splice(list.indexOf(entry), 1);
    this.free -= entry.bytes;
    this.total -= entry.bytes;
    entry.item.destroy();
    return true;
  }

  /** Destroys every free resource. */
  trim(): void {
    for (const entry of this.order) entry.item.destroy();
    this.total -= this.free;
    this.free = 0;
    this.byKey.clear();
    this.order.clear();
  }
}
