/**
 * Backend registry: `init()` acquires a backend and makes it current; tensors
 * remember the backend they live on. Several backends can be live at once (tests
 * compare WebGPU against the CPU reference in one process).
 */
import type { Backend } from './backend.js';
import { CpuBackend } from './cpu/backend.js';

export type BackendName = 'webgpu' | 'cpu';

export interface DeviceDescription {
  backend: BackendName;
  adapter: string;
  featureLevel: 'core' | 'compatibility' | 'cpu';
  limits: Record<string, number>;
}

interface Entry {
  backend: Backend;
  description: DeviceDescription;
}

const entries = new Map<BackendName, Entry>();
let current: BackendName | null = null;

export interface InitOptions {
  backend?: BackendName;
}

export async function init(options: InitOptions = {}): Promise<DeviceDescription> {
  const name = options.backend ?? 'webgpu';
  if (name !== 'webgpu' && name !== 'cpu') throw new Error(`init: unknown backend '${String(name)}' (expected 'webgpu' or 'cpu')`);
  let entry = entries.get(name);
  if (!entry) entry = name === 'cpu' ? cpuEntry() : await webgpuEntry();
  entries.set(name, entry);
  current = name;
  return entry.description;
}

function cpuEntry(): Entry {
  return {
    backend: new CpuBackend(),
    description: { backend: 'cpu', adapter: 'TypeScript reference (float64)', featureLevel: 'cpu', limits: {} },
  };
}

async function webgpuEntry(): Promise<Entry> {
  // Loaded lazily so CPU-only use never touches Dawn.
  const { acquireDevice } = await import('./webgpu/device.js');
  const { WebGpuBackend } = await import('./webgpu/backend.js');
  const ctx = await acquireDevice();
  const limits: Record<string, number> = {};
  for (const key in ctx.device.limits) {
    const v = (ctx.device.limits as unknown as Record<string, unknown>)[key];
    if (typeof v === 'number') limits[key] = v;
  }
  return {
    backend: new WebGpuBackend(ctx),
    description: { backend: 'webgpu', adapter: ctx.adapterName, featureLevel: ctx.featureLevel, limits },
  };
}

/** The current backend, or the named one; throws when it was not initialised. */
export function getBackend(name?: BackendName): Backend {
  const key = name ?? current;
  const entry = key ? entries.get(key) : undefined;
  if (!entry) {
    throw new Error(key ? `backend '${key}' is not initialised: call await init({ backend: '${key}' })` : 'no backend initialised: call await init() first');
  }
  return entry.backend;
}

/** Makes an already initialised backend current. */
export function setBackend(name: BackendName): void {
  getBackend(name);
  current = name;
}

/** Releases every backend (GPU instance, adapter, device) so the process can exit. */
export function shutdown(): void {
  for (const { backend } of entries.values()) backend.destroy();
  entries.clear();
  current = null;
}

export function memoryStats(name?: BackendName) {
  return getBackend(name).memoryStats();
}

/** Submits recorded GPU work without waiting. */
export function flush(name?: BackendName): void {
  getBackend(name).flush();
}

/** Waits until all submitted work has completed (and surfaces device errors). */
export function sync(name?: BackendName): Promise<void> {
  return getBackend(name).sync();
}
