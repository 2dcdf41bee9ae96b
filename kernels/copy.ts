/** Strided copies: `gather` materialises a strided view; `scatter` writes into one in place. */
import type { StridedView } from '../gpu/types.js';
import type { GpuRuntime, GpuStorage } from '../gpu/runtime.js';
import { perElementMain, programFamily } from '../gpu/program.js';
import { outputType, type StridedForm, stridedIndexWgsl, stridedLaunch, stridedParams, viewAt, viewLoad, viewType } from './strided-index.js';

const WG = 256;

// Gathers read through vec4 launches where the view allows; scatters stay scalar.
const copyProgram = programFamily('copy', ({ kind, form }: { kind: 'gather' | 'scatter'; form: StridedForm }) => {
  const stmt = kind === 'gather' ? `dst[i] = ${viewLoad(form, 0, 'src')};` : `dst[${viewAt(form, 0)}] = src[i];`;
  return {
    inputs: [{ name: 'src', type: kind === 'gather' ? viewType(form, 0) : 'array<f32>' }],
    outputs: [{ name: 'dst', type: kind === 'gather' ? outputType(form) : 'array<f32>' }],
    workgroupSize: [WG],
    params: stridedParams(form),
    body: () => `${stridedIndexWgsl(form)}
${perElementMain(`  ${stmt}`)}`,
  };
});

export function gather(rt: GpuRuntime, src: GpuStorage, view: StridedView, shape: readonly number[]): GpuStorage {
  const launch = stridedLaunch(shape, [view], { vec4: true });
  const out = rt.alloc(launch.size);
  rt.run(copyProgram({ kind: 'gather', form: launch.form }), [src], [out], launch.params, Math.ceil(launch.invocations / WG));
  return out;
}

export function scatter(rt: GpuRuntime, dst: GpuStorage, view: StridedView, src: GpuStorage, shape: readonly number[]): void {
  const launch = stridedLaunch(shape, [view]);
  rt.run(copyProgram({ kind: 'scatter', form: launch.form }), [src], [dst], launch.params, Math.ceil(launch.size / WG));
}
