/** Fills a new storage with one value on the device (no host array of the tensor's size). */
import type { GpuRuntime, GpuStorage } from '../gpu/runtime.js';
import { f32Bits, perElementMain, programFamily } from '../gpu/program.js';

const WG = 256;

const fillProgram = programFamily('fill', () => ({
  inputs: [],
  outputs: [{ name: 'out' }],
  workgroupSize: [WG],
  // The value travels as its bit pattern: infinities and NaN are valid fill values.
  params: [['n', 'u32'], ['bits', 'u32']],
  body: () => perElementMain('  out[i] = bitcast<f32>(P.bits);'),
}));

export function fill(rt: GpuRuntime, size: number, value: number): GpuStorage {
  const out = rt.alloc(size);
  rt.run(fillProgram({}), [], [out], { n: size, bits: f32Bits(value) }, Math.ceil(size / WG));
  return out;
}
