/** Strided copies: `gather` materialises a strided view; `scatter` writes into one in place. */
import type { StridedView } from '../engine/backend.js';
import type { GpuRuntime, GpuStorage } from '../engine/webgpu/runtime.js';
import { perElementMain, type Program } from './program.js';
import { stridedIndexWgsl, stridedParams } from './strided-index.js';

const WG = 256;

function copyProgram(kind: 'gather' | 'scatter', rank: number): Program {
  const stmt = kind === 'gather' ? 'dst[i] = src[viewOffset(i, 0u)];' : 'dst[viewOffset(i, 0u)] = src[i];';
  return {
    key: `${kind}:r${rank}`,
    inputs: [{ name: 'src' }],
    outputs: [{ name: 'dst' }],
    workgroupSize: [WG],
    body: () => `${stridedIndexWgsl(rank)}
${perElementMain(`  ${stmt}`)}`,
  };
}

export function gather(rt: GpuRuntime, src: GpuStorage, view: StridedView, shape: readonly number[]): GpuStorage {
  const params = stridedParams(shape, [view]);
  const out = rt.alloc(params[0]!);
  rt.run(copyProgram('gather', shape.length), [src], [out], params, Math.ceil(params[0]! / WG));
  return out;
}

export function scatter(rt: GpuRuntime, dst: GpuStorage, view: StridedView, src: GpuStorage, shape: readonly number[]): void {
  const params = stridedParams(shape, [view]);
  rt.run(copyProgram('scatter', shape.length), [src], [dst], params, Math.ceil(params[0]! / WG));
}
