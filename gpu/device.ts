/**
 * Device acquisition: core adapter first, then a compatibility adapter (Dawn's
 * OpenGL ES backend, which on a GPU-less Linux machine runs on Mesa llvmpipe).
 *
 * In Node the GPU instance returned by the `webgpu` package's `create()` must stay
 * strongly referenced for the whole life of the device: if only the device is kept,
 * V8 may collect the instance and Dawn later crashes (futex errors, segfaults, hangs).
 * `GpuContext` therefore holds instance, adapter and device together.
 *
 * Dawn writes warnings straight to the process's stderr while it looks for adapters. The one
 * about a missing Vulkan loader is avoided by not probing Vulkan when its loader is not
 * installed (on Linux it is the only source of core adapters); `WGPRUNE_VERBOSE=1` probes
 * anyway and also says which adapter was picked.
 */

import type { AdapterFacts } from './profile.js';

export interface GpuContext {
  /** The navigator.gpu-like instance; kept alive on purpose (see above). */
  readonly instance: GPU;
  readonly adapter: GPUAdapter;
  readonly device: GPUDevice;
  readonly featureLevel: 'core' | 'compatibility';
  readonly adapterName: string;
  /** The adapter's info as planners see it (device profile, tuning-table key). */
  readonly facts: AdapterFacts;
}

const INSTALL_HINT =
  'No WebGPU adapter found. On Linux without a GPU, install Mesa (EGL + GLES on llvmpipe): ' +
  '`sudo apt-get install -y libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri` and keep EGL_PLATFORM=surfaceless ' +
  '(wgprune sets it when unset); or run `scripts/setup.sh`. With a GPU, install its Vulkan driver. ' +
  "Or use the CPU backend: init({ backend: 'cpu' }). Set WGPRUNE_VERBOSE=1 to see Dawn's own messages.";

/** WGPRUNE_VERBOSE=1: Dawn's start-up warnings are not avoided, and the adapter search is logged. */
function verbose(): boolean {
  return typeof process !== 'undefined' && process.env?.WGPRUNE_VERBOSE === '1';
}

function note(line: string): void {
  if (verbose()) console.error(`wgprune: ${line}`);
}

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

/** Compute limits worth raising from the (low) defaults to what the adapter offers. */
const LIMITS = [
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
] as const;

type Candidate = { instance: GPU; featureLevel: 'core' | 'compatibility' };

async function nodeCandidates(): Promise<Array<() => Candidate>> {
  if (process.platform === 'linux' && !process.env.EGL_PLATFORM) process.env.EGL_PLATFORM = 'surfaceless';
  let mod: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    mod = (await import('webgpu')) as unknown as typeof mod;
  } catch (e) {
    throw new Error(`webgpu: the 'webgpu' npm package (Dawn for Node) could not be loaded: ${(e as Error).message}. Run \`npm install\`.`);
  }
  // WebGPU constants such as GPUBufferUsage live on the globals object.
  for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  const core = (): Candidate => ({ instance: mod.create([]), featureLevel: 'core' });
  const compatibility = (): Candidate => ({ instance: mod.create(['backend=opengles']), featureLevel: 'compatibility' });
  if (verbose() || (await vulkanLoaderMayExist())) return [core, compatibility];
  note('no Vulkan loader (libvulkan.so.1) installed: not probing for a core adapter');
  return [compatibility];
}

function browserCandidates(): Array<() => Candidate> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) throw new Error('webgpu: navigator.gpu is not available in this browser (enable WebGPU, e.g. --enable-unsafe-webgpu).');
  return [
    () => ({ instance: gpu, featureLevel: 'core' }),
    () => ({ instance: gpu, featureLevel: 'compatibility' }),
  ];
}

export async function acquireDevice(): Promise<GpuContext> {
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  const candidates = isNode ? await nodeCandidates() : browserCandidates();
  for (const make of candidates) {
    const { instance, featureLevel } = make();
    const adapter = await instance.requestAdapter({ featureLevel, powerPreference: 'high-performance' } as GPURequestAdapterOptions);
    if (!adapter) {
      note(`no ${featureLevel} adapter`);
      continue;
    }
    const requiredLimits: Record<string, number> = {};
    for (const name of LIMITS) {
      const v = (adapter.limits as unknown as Record<string, number>)[name];
      if (typeof v === 'number') requiredLimits[name] = v;
    }
    const device = await adapter.requestDevice({ requiredLimits, label: 'wgprune' });
    const info = adapter.info;
    const adapterName = [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(' ') || 'unknown adapter';
    note(`using ${adapterName} (${featureLevel})`);
    const facts: AdapterFacts = { vendor: info?.vendor ?? '', architecture: info?.architecture ?? '', device: info?.device ?? '', description: info?.description ?? '', featureLevel };
    return { instance, adapter, device, featureLevel, adapterName, facts };
  }
  throw new Error(INSTALL_HINT);
}
