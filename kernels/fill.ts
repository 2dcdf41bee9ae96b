/** Fills a new storage with one value on the device (no host array of the tensor's size). */
import type { GpuRuntime, GpuStorage } from '../engine/webgpu/runtime.js';
import { f32Bits, type Program } from './program.js';

const WG = 256;

const fillProgram: Program = {
  key: 'fill',
  inputs: [],
  outputs: [{ name: 'out' }],
  workgroupSize: [WG],
  body: () => `
@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linearIndex(gid, nwg);
  if (i >= pu(0u)) { return; }
  out[i] = pf(1u);
}`,
};

export function fill(rt: GpuRuntime, size: number, value: number): GpuStorage {
  const out = rt.alloc(size);
  rt.run(fillProgram, [], [out], [size, f32Bits(value)], Math.ceil(size / WG));
  return out;
}
