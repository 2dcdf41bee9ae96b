/**
 * GPU buffers pooled by exact (byte size, usage). A released buffer is parked until
 * the submit that last used it has been issued; only then may it be handed out again
 * (queue order guarantees later writes land after that submit's reads).
 */

export class BufferPool {
  private free = new Map<string, GPUBuffer[]>();
  private parked: Array<{ key: string; buffer: GPUBuffer }> = [];
  private totalBytes = 0;

  constructor(private device: GPUDevice) {}

  acquire(bytes: number, usage: number): GPUBuffer {
    const key = `${bytes}:${usage}`;
    const list = this.free.get(key);
    const hit = list?.pop();
    if (hit) return hit;
    const buffer = this.device.createBuffer({ size: bytes, usage });
    this.totalBytes += bytes;
    return buffer;
  }

  /** Park a buffer until the next submit. */
  release(buffer: GPUBuffer): void {
    this.parked.push({ key: `${buffer.size}:${buffer.usage}`, buffer });
  }

  /** Return a buffer no recorded or pending command refers to (e.g. an unmapped readback buffer). */
  releaseIdle(buffer: GPUBuffer): void {
    this.freeList(`${buffer.size}:${buffer.usage}`).push(buffer);
  }

  private freeList(key: string): GPUBuffer[] {
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    return list;
  }

  /** Called right after a submit: parked buffers become reusable. */
  afterSubmit(): void {
    for (const { key, buffer } of this.parked) this.freeList(key).push(buffer);
    this.parked = [];
  }

  get allocatedBytes(): number {
    return this.totalBytes;
  }

  /** Destroys every pooled (free) buffer. */
  trim(): void {
    for (const list of this.free.values()) {
      for (const b of list) {
        this.totalBytes -= b.size;
        b.destroy();
      }
    }
    this.free.clear();
  }
}
