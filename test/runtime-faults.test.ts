/**
 * Faults of the device itself: a readback cut short by shutdown(), device loss in the middle of
 * a run, a kernel whose WGSL does not compile. Each becomes a named error that says what
 * happened, and the engine can be brought back with init().
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as wg from '../index.js';
import type { WebGpuBackend } from '../engine/webgpu/backend.js';
import { programFamily } from '../gpu/program.js';
import { record } from './helpers/reliability.js';

afterAll(() => wg.shutdown());

const runtime = () => (wg.getBackend('webgpu') as WebGpuBackend).rt;

describe('shutdown while reading', () => {
  it('settles a pending readback with DeviceShutdownError naming the tensor', async () => {
    record('fault', 'shutdown() while a readback is pending', { expected: 'DeviceShutdownError naming the tensor' });
    await wg.init();
    const a = wg.randn([128, 128]);
    const pending = a.matmul(a).toArray();
    wg.shutdown();
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(wg.DeviceShutdownError);
    expect((err as Error).message).toMatch(/the device was shut down while reading tensor #\d+ of shape \[128, 128\]/);
  });

  it('rejects a readback after shutdown, and init() brings a working device back', async () => {
    record('fault', 'a readback after shutdown()', { expected: 'DeviceShutdownError; init() brings a working device back' });
    await wg.init();
    const t = wg.tensor([1, 2]);
    wg.shutdown();
    await expect(t.toArray()).rejects.toThrow(wg.DeviceShutdownError);
    await expect(t.toArray()).rejects.toThrow(/reading tensor #\d+ of shape \[2\]: the device has been shut down; call init\(\) again/);
    await wg.init();
    expect([...(await wg.tensor([1, 2]).mul(3).toArray())]).toEqual([3, 6]);
  });
});

describe('device loss', () => {
  it('names the loss at the next readback and op, and init() replaces the lost device', async () => {
    record('fault', 'GPU device destroyed in the middle of a run', { expected: 'DeviceLostError at the next readback and op; init() replaces the device' });
    await wg.init();
    const x = wg.tensor([1, 2, 3]);
    expect([...(await x.add(1).toArray())]).toEqual([2, 3, 4]);
    const big = wg.randn([256, 256]);
    const pending = big.matmul(big).toArray();
    runtime().device.destroy(); // as if the GPU went away mid-run

    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(wg.DeviceLostError);
    expect((err as Error).message).toMatch(/GPU device was lost while reading tensor #\d+ of shape \[256, 256\] \(destroyed: .+\).*call init\(\) again/);
    expect((err as wg.DeviceLostError).reason).toBe('destroyed');
    expect(() => x.add(1)).toThrow(wg.DeviceLostError);
    expect(() => x.add(1)).toThrow(/GPU device was lost \(destroyed/);

    // No shutdown() needed: init() sees the loss and acquires a new device.
    const lostRuntime = runtime();
    await wg.init();
    expect(runtime()).not.toBe(lostRuntime);
    expect([...(await wg.tensor([1, 2, 3]).add(1).toArray())]).toEqual([2, 3, 4]);
  });

  it('also recovers through shutdown() and init()', async () => {
    await wg.init();
    runtime().device.destroy();
    await expect(wg.tensor([1]).add(1).toArray()).rejects.toThrow(wg.DeviceLostError);
    wg.shutdown();
    await wg.init();
    expect([...(await wg.tensor([4]).sqrt().toArray())]).toEqual([2]);
  });
});

describe('WGSL compile errors', () => {
  // The error sits on the body's third line.
  const broken = programFamily('test:broken-compile', () => ({
    inputs: [],
    outputs: [{ name: 'out' }],
    workgroupSize: [1],
    body: () => ['@compute @workgroup_size(1)', 'fn main() {', '  out[0] = 1.0 + undefinedName;', '}'].join('\n'),
  }))({});

  it('names the kernel and shows the WGSL line', async () => {
    record('fault', 'a kernel whose WGSL does not compile', { expected: 'ShaderCompileError naming the kernel and the line; other kernels still run' });
    await wg.init();
    const rt = runtime();
    const out = rt.alloc(1);
    rt.run(broken, [], [out], {}, 1);
    const err = await rt.read(out).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(wg.ShaderCompileError);
    const e = err as wg.ShaderCompileError;
    expect(e.kernel).toBe('test:broken-compile');
    expect(e.message).toContain("the WGSL of kernel 'test:broken-compile' does not compile");
    expect(e.message).toMatch(new RegExp(`line ${e.line}:${e.column}: unresolved value 'undefinedName'`));
    expect(e.message).toMatch(new RegExp(`\\n\\s+${e.line} \\|   out\\[0\\] = 1\\.0 \\+ undefinedName;\\n\\s+\\|\\s+\\^{13}`));
    // The line is counted in the full source the runtime compiled (bindings and prelude first).
    expect(e.column).toBe('  out[0] = 1.0 + '.length + 1);

    // Running it again fails at once, with the same report; other kernels still run.
    expect(() => rt.run(broken, [], [out], {}, 1)).toThrow(/test:broken-compile' does not compile/);
    rt.release(out);
    expect([...(await wg.tensor([1, 2]).mul(2).toArray())]).toEqual([2, 4]);
  });
});
