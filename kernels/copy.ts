/** Strided copies: `gather` materialises a strided view; `scatter` writes into one in place. */
import type { StridedView } from '../gpu/types.js';
import type { GpuRuntime, GpuStorage } from '../gpu/runtime.js';
import { perElementMain, type Program } from '../gpu/program.js';
import { outputType, type StridedLaunch, stridedIndexWgsl, stridedLaunch, viewAt, viewLoad, viewType } from './strided-index.js';

const WG = 256;

// Gathers read through vec4 launches where the view allows; scatters stay scalar.
function copyProgram(kind: 'gather' | 'scatter', launch: StridedLaunch): Program {
  const stmt = kind === 'gather' ? `dst[i] = ${viewLoad(launch, 0, 'src')};` : `dst[${viewAt(launch, 0)}] = src[i];`;
  return {
    key: `${kind}:${launch.key}`,
    inputs: [{ name: 'src', type: kind === 'gather' ? viewType(launch, 0) : 'array<f32>' }],
    outputs: [{ name: 'dst', type: kind === 'gather' ? outputType(launch) : 'array<f32>' }],
    workgroupSize: [WG],
    body: () => `${stridedIndexWgsl(launch)}
${perElementMain(`  ${stmt}`)}`,
  };
}

export function gather(rt: GpuRuntime, src: GpuStorage, view: StridedView, shape: readonly number[]): GpuStorage {
  const launch = stridedLaunch(shape, [view], { vec4: true });
  const out = rt.alloc(launch.size);
  rt.run(copyProgram('gather', launch), [src], [out], launch.params, Math.ceil(launch.invocations / WG));
  return out;
}

export function scatter(rt: GpuRuntime, dst: GpuStorage, view: StridedView, src: GpuStorage, shape: readonly number[]): void {
  const launch = stridedLaunch(shape, [view]);
  rt.run(copyProgram('scatter', launch), [src], [dst], launch.params, Math.ceil(launch.size / WG));
}
