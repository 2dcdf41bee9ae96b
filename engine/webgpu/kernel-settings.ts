/** The kernel settings a backend plans with (WebGPU: the runtime's), or null for a backend without kernel variants. */
import type { Backend } from '../backend.js';
import type { KernelSettings } from '../../gpu/profile.js';

export function kernelSettingsOf(backend: Backend): KernelSettings | null {
  return backend.name === 'webgpu' ? (backend as unknown as { rt: { settings: KernelSettings } }).rt.settings : null;
}
