/**
 * TF.js's WebGPU backend on the very device our engine uses (same Dawn instance,
 * adapter and GPUDevice), so side-by-side figures compare kernels, not adapters.
 */
import type * as tfType from '@tensorflow/tfjs-core';
import { getBackend } from '../../engine/internal.js';
import type { WebGpuBackend } from '../../engine/webgpu/backend.js';

/** TF.js registers its WebGPU kernels under this name, so our instance must take it over. */
export const TFJS_BACKEND = 'webgpu';

/** Loads tfjs-core and its WebGPU backend, registered on our device; returns tf. */
export async function tfjsOnOurDevice(): Promise<typeof tfType> {
  const ours = getBackend('webgpu') as WebGpuBackend;
  // TF.js refuses to construct its backend unless navigator.gpu exists, even when it is
  // handed a device: point it at our (Dawn) instance. Node 20 has no navigator at all.
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  if (!g.navigator!.gpu) Object.defineProperty(g.navigator!, 'gpu', { value: ours.ctx.instance, configurable: true });
  const tf = await import('@tensorflow/tfjs-core/dist/index');
  // tfjs-core alone has no gradients (the tfjs umbrella package registers them).
  await import('@tensorflow/tfjs-core/dist/register_all_gradients');
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  // Replace the self-registered factory (which would request its own adapter) with ours.
  if (tf.findBackendFactory(TFJS_BACKEND)) tf.removeBackend(TFJS_BACKEND);
  tf.registerBackend(TFJS_BACKEND, () => new WebGPUBackend(ours.ctx.device, ours.ctx.adapter.info));
  await tf.setBackend(TFJS_BACKEND);
  await tf.ready();
  return tf;
}
