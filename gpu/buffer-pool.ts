/**
 * GPU buffers pooled by exact (byte size, usage). A released buffer is parked until
 * the submit that last used it has been issued; only then may it be handed out again
 * (queue order guarantees later writes land after that submit's reads). Free buffers
 * stay pooled until the runtime evicts them (past its high-water mark) or trims the pool.
 */
import { ResourcePool } from './resource-pool.js';

const keyOf = (bytes: number, usage: number) => `${bytes}:${usage}`;

export class BufferPool extends ResourcePool<GPUBuffer> {
  constructor(private device: GPUDevice, clock: () => number) {
    super(clock);
  }

  acquire(bytes: number, usage: number): GPUBuffer {
    const hit = this.take(keyOf(bytes, usage));
    if (hit) return hit;
    this.created(bytes);
    return this.device.createBuffer({ size: bytes, usage });
  }

  /** Park a buffer until the next submit. */
  release(buffer: GPUBuffer): void {
    this.park(keyOf(buffer.size, buffer.usage), buffer, buffer.size);
  }

  /** Return a buffer no recorded or pending command refers to (e.g. an unmapped readback buffer). */
  releaseIdle(buffer: GPUBuffer): void {
    this.putFree(keyOf(buffer.size, buffer.usage), buffer, buffer.size);
  }
}
