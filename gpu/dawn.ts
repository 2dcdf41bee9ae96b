/**
 * WebGPU in Node: Dawn, from the `webgpu` npm package (Node only; the package's Node entry
 * registers it with `useDawn()` when imported).
 *
 * On Linux the candidates are a core adapter (Vulkan) and a compatibility adapter on Dawn's
 * OpenGL ES backend, which on a machine without a GPU runs on Mesa llvmpipe (EGL_PLATFORM is set
 * to 'surfaceless' when unset, so no display is needed).
 *
 * Dawn writes warnings straight to the process's stderr while it looks for adapters. The one
 * about a missing Vulkan loader is avoided by not probing Vulkan when its loader is not
 * installed (on Linux it is the only source of core adapters); `WGPRUNE_VERBOSE=1` probes
 * anyway and also says which adapter was picked.
 */
import { type GpuCandidate, type GpuProvider, noteGpu, setGpuProvider, verboseGpu } from './device.js';

const INSTALL_HINT =
  'No WebGPU adapter found. On Linux without a GPU, install Mesa (EGL + GLES on llvmpipe): ' +
  '`sudo apt-get install -y libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri` and keep EGL_PLATFORM=surfaceless ' +
  '(wgprune sets it when unset); or run `scripts/setup.sh`. With a GPU, install its Vulkan driver. ' +
  "Or use the CPU backend: init({ backend: 'cpu' }). Set WGPRUNE_VERBOSE=1 to see Dawn's own messages.";

const MULTIARCH: Partial<Record<string, string>> = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };

/**
 * False when, on Linux, the Vulkan loader (libvulkan.so.1) is certainly not installed: not in
 * LD_LIBRARY_PATH, the standard library folders nor the dynamic linker's cache. Without a cache
 * to consult (musl, NixOS) it answers true and Dawn's own probe decides.
 */
export async function vulkanLoaderMayExist(): Promise<boolean> {
  if (process.platform !== 'linux') return true;
  const { existsSync, readFileSync } = await import('node:fs');
  const lib = 'libvulkan.so.1';
  const multiarch = MULTIARCH[process.arch];
  const dirs = [
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/lib', '/usr/lib', '/lib64', '/usr/lib64', '/usr/local/lib',
    ...(multiarch ? [`/lib/${multiarch}`, `/usr/lib/${multiarch}`] : []),
  ];
  if (dirs.some((d) => existsSync(`${d}/${lib}`))) return true;
  try {
    return readFileSync('/etc/ld.so.cache').includes(lib);
  } catch {
    return true;
  }
}

type DawnModule = { create: (flags: string[]) => GPU; globals: Record<string, unknown> };

/** Dawn as a GPU provider: core adapter (when a Vulkan loader may exist), then OpenGL ES compatibility. */
export const dawnProvider: GpuProvider = {
  name: "Dawn (the 'webgpu' package)",
  async candidates() {
    if (process.platform === 'linux' && !process.env.EGL_PLATFORM) process.env.EGL_PLATFORM = 'surfaceless';
    let mod: DawnModule;
    try {
      mod = (await import('webgpu')) as unknown as DawnModule;
    } catch (e) {
      throw new Error(`webgpu: the 'webgpu' npm package (Dawn for Node) could not be loaded: ${(e as Error).message}. Run \`npm install\`.`);
    }
    // WebGPU constants such as GPUBufferUsage live on the globals object.
    for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    const core = (): GpuCandidate => ({ instance: mod.create([]), featureLevel: 'core' });
    const compatibility = (): GpuCandidate => ({ instance: mod.create(['backend=opengles']), featureLevel: 'compatibility' });
    if (verboseGpu() || (await vulkanLoaderMayExist())) return [core, compatibility];
    noteGpu('no Vulkan loader (libvulkan.so.1) installed: not probing for a core adapter');
    return [compatibility];
  },
  noAdapterHint: INSTALL_HINT,
};

/** Makes `init()` get WebGPU from Dawn. The Node entry calls it on import; repeated calls do nothing more. */
export function useDawn(): void {
  setGpuProvider(dawnProvider);
}
