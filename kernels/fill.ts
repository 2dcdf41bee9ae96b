/** Fills a new storage with one value on the device (no host array of the tensor's size). */
import type { GpuRuntime, GpuStorage } from '../gpu/runtime.js';
import { f32Bits, perElementMain, type Program } from '../gpu/program.js';

const WG = 256;

const fillProgram: Program = {
  key: 'fill',
  inputs: [],
  outputs: [{ name: 'out' }],
  workgroupSize: [WG],
  body: () => perElementMain('  out[i] = pf(1u);'),
};

export function fill(rt: GpuRuntime, size: number, value: number): GpuStorage {
  const out = rt.alloc(size);
  rt.run(fillProgram, [], [out], [size, f32Bits(value)], Math.ceil(size / WG));
  return out;
}
