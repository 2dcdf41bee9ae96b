/** The WebGPU runtime: device description, lazy submission, buffer pool, error surfacing, scopes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../index.js';
import type { WebGpuBackend } from '../engine/webgpu/backend.js';
import { programFamily } from '../gpu/program.js';
import { initBoth, on, shutdown } from './helpers/backends.js';
import { record } from './helpers/reliability.js';

let desc: wg.DeviceDescription;
beforeAll(async () => {
  await initBoth();
  desc = await wg.init({ backend: 'webgpu' });
});
afterAll(shutdown);

const runtime = () => (wg.getBackend('webgpu') as WebGpuBackend).rt;

describe('device', () => {
  it('describes the adapter and raises compute limits to the adapter’s', () => {
    expect(desc.backend).toBe('webgpu');
    expect(['core', 'compatibility']).toContain(desc.featureLevel);
    expect(desc.adapter.length).toBeGreaterThan(0);
    // Compatibility mode defaults this to 128; llvmpipe offers 1024 and we ask for it.
    expect(desc.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(256);
  });
});

describe('lazy submission and the buffer pool', () => {
  it('does not reuse a released buffer before the submit that used it', async () => {
    const rt = runtime();
    rt.flush();
    const a = rt.upload([1, 2, 3, 4]);
    const b = wg.getBackend('webgpu').unary('neg', a) as typeof a; // records a read of `a`
    rt.release(a);
    const c = rt.alloc(4);
    expect(c.buffer).not.toBe(a.buffer); // still parked: the dispatch reading `a` is not submitted
    rt.flush();
    const d = rt.alloc(4);
    expect(d.buffer).toBe(a.buffer); // reusable once submitted
    expect([...(await rt.read(b))]).toEqual([-1, -2, -3, -4]);
    for (const s of [b, c, d]) rt.release(s);
  });

  it('submits automatically when the dispatch budget is reached, with correct results', async () => {
    const rt = runtime();
    const budget = rt.dispatchBudget;
    rt.dispatchBudget = 3;
    record('fault', 'dispatch budget forced down to 3: automatic submits in the middle of a graph', { expected: 'correct results' });
    try {
      const y = on('webgpu', () => {
        let t = wg.tensor([1, 2, 3]);
        for (let i = 0; i < 10; i++) t = t.add(1);
        return t;
      });
      expect([...(await y.toArray())]).toEqual([11, 12, 13]);
    } finally {
      rt.dispatchBudget = budget;
    }
  });

  it('keeps memory flat across repeated identical workloads', async () => {
    const step = () =>
      wg.tidy(() => {
        const x = wg.randn([64, 32], { generator: new wg.Generator(1) });
        return wg.relu(wg.matmul(x, x.transpose())).sum();
      });
    const once = async () => {
      const s = on('webgpu', step);
      await s.toArray();
      s.dispose();
    };
    // Compile pipelines and fill the pool. Two rounds: a buffer released after a readback
    // stays parked until the next submit, so round 2 still allocates alongside round 1's.
    await once();
    await once();
    await wg.sync('webgpu');
    const before = wg.memoryStats('webgpu');
    for (let i = 0; i < 5; i++) await once();
    await wg.sync('webgpu');
    const after = wg.memoryStats('webgpu');
    expect(after.inUseBytes).toBe(before.inUseBytes);
    expect(after.storages).toBe(before.storages);
    expect(after.allocatedBytes).toBe(before.allocatedBytes);
  });
});

describe('error surfacing', () => {
  const broken = programFamily('test:broken', () => ({
    inputs: [],
    outputs: [{ name: 'out' }],
    workgroupSize: [1],
    body: () => '@compute @workgroup_size(1) fn main() { out[0] = undefinedName; }',
  }))({});

  it('turns a silent WGSL validation error into a thrown exception naming the kernel', async () => {
    const rt = runtime();
    const out = rt.alloc(1);
    rt.run(broken, [], [out], {}, 1);
    record('fault', 'a kernel with invalid WGSL (silent in WebGPU)', { expected: 'an exception naming the kernel at the next readback; the device stays usable' });
    await expect(rt.read(out)).rejects.toThrow(/webgpu validation error: [\s\S]*test:broken[\s\S]*undefinedName/);
    rt.release(out);
    // The device stays usable afterwards.
    const y = on('webgpu', () => wg.tensor([1, 2]).mul(2));
    expect([...(await y.toArray())]).toEqual([2, 4]);
  });
});

describe('scopes and autograd bookkeeping', () => {
  it.each(['cpu', 'webgpu'] as const)('tidy disposes intermediates and keeps results (%s)', (backend) => {
    on(backend, () => {
      wg.ones([1]).add(1).mul(2).dispose(); // caches the scalar constants 1 and 2
      const before = wg.memoryStats().storages;
      let inner: wg.Tensor | undefined;
      let kept: wg.Tensor | undefined;
      const out = wg.tidy(() => {
        inner = wg.ones([3]).add(1);
        kept = wg.keep(wg.ones([2]));
        return { result: inner.mul(2) };
      });
      expect(inner!.isDisposed).toBe(true);
      expect(out.result.isDisposed).toBe(false);
      expect(kept!.isDisposed).toBe(false);
      out.result.dispose();
      kept!.dispose();
      expect(wg.memoryStats().storages).toBe(before);
    });
  });

  it('frees backward temporaries and keeps only leaf gradients', async () => {
    on('webgpu', () => {
      const w = wg.randn([8, 8], { requiresGrad: true });
      const before = wg.memoryStats().storages;
      wg.tidy(() => {
        const loss = wg.tanh(wg.matmul(w, w)).mul(w.sigmoid()).sum();
        loss.backward();
      });
      // Only w.grad survives the step.
      expect(wg.memoryStats().storages).toBe(before + 1);
      expect(w.grad?.shape).toEqual([8, 8]);
      w.dispose();
      expect(w.grad).toBeNull();
    });
  });

  it('records nothing under noGrad', () => {
    on('cpu', () => {
      const x = wg.ones([2], { requiresGrad: true });
      const y = wg.noGrad(() => x.mul(3));
      expect(y.requiresGrad).toBe(false);
      expect(y.node).toBeNull();
      expect(x.mul(3).requiresGrad).toBe(true);
    });
  });

  it('frees storage of tensors that were never disposed once they are collected', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc, 'tests run with --expose-gc').toBeTypeOf('function');
    const before = wg.memoryStats('cpu').storages;
    on('cpu', () => {
      for (let i = 0; i < 50; i++) wg.ones([16]).add(1);
    });
    for (let i = 0; i < 20 && wg.memoryStats('cpu').storages > before; i++) {
      gc!();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(wg.memoryStats('cpu').storages).toBeLessThanOrEqual(before);
  });
});

describe('shutdown', () => {
  it('releases the device and a later init brings a new one', async () => {
    wg.shutdown();
    expect(() => wg.getBackend('webgpu')).toThrow(/backend 'webgpu' is not initialised/);
    await initBoth();
    const y = on('webgpu', () => wg.tensor([3]).add(1));
    expect([...(await y.toArray())]).toEqual([4]);
  });
});
