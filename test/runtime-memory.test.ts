/**
 * The WebGPU pools give memory back: free memory past the high-water mark goes once it sits
 * idle (for IDLE_SUBMITS submits and the runtime's idleMs, which these tests set to 0 unless
 * they test it), a running loop's working set stays however large, trimMemory() destroys
 * everything free, and memoryStats() tells pooled from in-use bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../index.js';
import type { WebGpuBackend } from '../engine/webgpu/backend.js';
import { IDLE_SUBMITS } from '../gpu/runtime.js';

const MiB = 2 ** 20;
const MARK = 1 * MiB;

beforeAll(async () => {
  await wg.init({ backend: 'webgpu', maxPooledBytes: MARK });
  runtime().idleMs = 0;
});
afterAll(() => wg.shutdown());

const runtime = () => (wg.getBackend('webgpu') as WebGpuBackend).rt;

/** Flushes enough times for whatever is free now to count as idle. */
function idle(): void {
  for (let i = 0; i < IDLE_SUBMITS; i++) runtime().flush();
}

async function expectDestroyed(use: () => void, label: string): Promise<void> {
  const device = runtime().device;
  device.pushErrorScope('validation');
  use();
  const error = await device.popErrorScope();
  expect(error?.message, `${label} should be destroyed`).toMatch(/destroyed/i);
}

describe('buffer pool high-water mark', () => {
  it('init() takes the mark and refuses a bad one', async () => {
    expect(runtime().maxPooledBytes).toBe(MARK);
    await expect(wg.init({ backend: 'webgpu', maxPooledBytes: -1 })).rejects.toThrow(/init: maxPooledBytes must be a number of bytes >= 0/);
  });

  it('destroys free memory past the mark once it has sat idle', () => {
    const rt = runtime();
    wg.trimMemory();
    const before = wg.memoryStats();
    // 32 storages of distinct sizes (64 KiB … 2 MiB, 33 MiB in all): no two share a pool key.
    const storages = Array.from({ length: 32 }, (_, k) => rt.alloc((k + 1) * 16384));
    const bytes = storages.reduce((s, x) => s + x.buffer.size, 0);
    expect(wg.memoryStats().inUseBytes - before.inUseBytes).toBe(bytes);
    for (const s of storages) rt.release(s);
    expect(wg.memoryStats().pooledBytes).toBe(bytes); // parked until the next submit
    rt.flush();
    // Just freed: it may be the working set of a loop, so it stays for now.
    expect(wg.memoryStats().pooledBytes).toBe(bytes);
    // Many submits, but not long enough ago: it may be a workload a timing protocol comes back to.
    rt.idleMs = 60_000;
    idle();
    expect(wg.memoryStats().pooledBytes).toBe(bytes);
    rt.idleMs = 0;
    rt.flush();
    const after = wg.memoryStats();
    expect(after.pooledBytes).toBeLessThanOrEqual(MARK);
    expect(after.allocatedBytes).toBe(after.inUseBytes + after.pooledBytes);
  });

  it('keeps a running loop’s working set, even far past the mark', () => {
    const rt = runtime();
    wg.trimMemory();
    const seen = new Set<GPUBuffer>();
    let allocated = 0;
    for (let step = 0; step < 3 * IDLE_SUBMITS; step++) {
      const xs = Array.from({ length: 8 }, () => rt.alloc(MiB / 4)); // 8 MiB a step
      for (const x of xs) seen.add(x.buffer);
      for (const x of xs) rt.release(x);
      rt.flush();
      if (step === 0) allocated = wg.memoryStats().allocatedBytes;
    }
    expect(seen.size).toBe(8); // the same buffers every step: nothing evicted and re-created
    expect(wg.memoryStats().allocatedBytes).toBe(allocated);
    expect(wg.memoryStats().pooledBytes).toBeGreaterThan(MARK);
  });

  it('gives back what the garbage collector released from tensors nobody disposed', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc, 'tests run with --expose-gc').toBeTypeOf('function');
    wg.trimMemory();
    const base = wg.memoryStats();
    wg.setBackend('webgpu');
    // 200 undisposed tensors of 256 KiB: 50 MiB held until a collection.
    for (let i = 0; i < 200; i++) wg.full([65536], i).add(1);
    await wg.sync();
    expect(wg.memoryStats().inUseBytes - base.inUseBytes).toBeGreaterThanOrEqual(100 * MiB);
    for (let i = 0; i < 20 && wg.memoryStats().inUseBytes > base.inUseBytes + MiB; i++) {
      gc!();
      await new Promise((r) => setTimeout(r, 10));
    }
    runtime().flush();
    expect(wg.memoryStats().pooledBytes).toBeGreaterThanOrEqual(100 * MiB);
    idle();
    const after = wg.memoryStats();
    expect(after.pooledBytes).toBeLessThanOrEqual(MARK);
    expect(after.allocatedBytes).toBeLessThan(base.allocatedBytes + 2 * MARK);
  });
});

describe('trimMemory', () => {
  it('destroys every free buffer and texture, and keeps live ones', async () => {
    const rt = runtime();
    const live = wg.tensor([1, 2, 3], [3], {});
    const freed = rt.alloc(1024);
    const buffer = freed.buffer;
    rt.release(freed);
    const texture = rt.allocTexture('rgba32float', 64, 4)!;
    const gpuTexture = texture.texture;
    rt.releaseTexture(texture);
    expect(wg.memoryStats().pooledBytes).toBeGreaterThanOrEqual(4096 + 64 * 4 * 16);
    wg.trimMemory();
    const stats = wg.memoryStats();
    expect(stats.pooledBytes).toBe(0);
    expect(stats.allocatedBytes).toBe(stats.inUseBytes);
    await expectDestroyed(() => rt.device.queue.writeBuffer(buffer, 0, new Float32Array(4)), 'the trimmed buffer');
    await expectDestroyed(
      () => rt.device.queue.writeTexture({ texture: gpuTexture }, new Float32Array(4), { bytesPerRow: 1024 }, [1, 1]),
      'the trimmed texture',
    );
    expect([...(await live.toArray())]).toEqual([1, 2, 3]);
    // Work after a trim allocates afresh.
    expect([...(await live.add(1).toArray())]).toEqual([2, 3, 4]);
  });

  it('memoryStats has pooled bytes on the CPU backend too (always 0)', async () => {
    await wg.init({ backend: 'cpu' });
    expect(wg.memoryStats('cpu').pooledBytes).toBe(0);
    wg.trimMemory('cpu'); // nothing to give back
  });
});
