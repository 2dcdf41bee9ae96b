/**
 * Backend registry: `init()` acquires a backend and makes it current; tensors
 * remember the backend they live on. Several backends can be live at once (tests
 * compare WebGPU against the CPU reference in one process).
 */
import type { Backend } from './backend.js';
import { CpuBackend } from './cpu/backend.js';
import { settleOnShutdown } from '../gpu/errors.js';
import { adapterKey, checkProfileName, type KernelOverrides, type ProfileName, type TuningTable } from '../gpu/profile.js';

export type BackendName = 'webgpu' | 'cpu';

export interface DeviceDescription {
  backend: BackendName;
  adapter: string;
  featureLevel: 'core' | 'compatibility' | 'cpu';
  limits: Record<string, number>;
  /** WebGPU: the device profile the kernel planners follow, and why. */
  profile?: { name: ProfileName; reason: string };
}

interface Entry {
  backend: Backend;
  description: DeviceDescription;
  /** Applies init options to a live backend. */
  configure?: (options: InitOptions) => void;
  /** Destroys the backend's free pooled memory. */
  trim?: () => void;
  /** True once its device was lost (it must be replaced). */
  isLost?: () => boolean;
}

const entries = new Map<BackendName, Entry>();
let current: BackendName | null = null;

/**
 * Where a WebGPU backend finds the tuning table measured on its adapter when `init()` is not
 * given one: called with the adapter's key (`adapterKey`), it returns the table or null. The
 * package's Node entry and CLI register a file cache here (`wgprune tune` writes it); its browser
 * entry registers IndexedDB (where a page's `tune()` results are stored). Without a source, or
 * without a table for the adapter, the profile's rules apply until `init({ tuning })` brings one.
 */
export type TuningSource = (adapter: string) => TuningTable | null | Promise<TuningTable | null>;
let tuningSource: TuningSource | null = null;

/** Registers (or with null removes) the tuning source read when a WebGPU backend starts. */
export function setTuningSource(source: TuningSource | null): void {
  tuningSource = source;
}

/** The registered source's table for an adapter; a failing source is reported and ignored (the rules apply). */
async function sourcedTuning(adapter: string): Promise<TuningTable | null> {
  if (!tuningSource) return null;
  try {
    return await tuningSource(adapter);
  } catch (e) {
    console.warn(`wgprune: no tuning table loaded: ${(e as Error).message}`);
    return null;
  }
}

export interface InitOptions {
  backend?: BackendName;
  /**
   * WebGPU: high-water mark of the free (released, unused) memory the buffer and texture pools
   * keep for reuse, in bytes. Past it, free memory nothing has reused for a while (64 submits
   * and 10 seconds) is destroyed, least recently used first; a loop's working set, reused every
   * few submits, stays however large it is. Default 64 MiB; `Infinity` keeps everything until
   * `trimMemory()` or `shutdown()`.
   */
  maxPooledBytes?: number;
  /**
   * WebGPU: the device profile kernel planners follow ('llvmpipe' for CPU rasterizers, 'gpu' for
   * GPUs). Default: chosen from the adapter's info, or `WGPRUNE_PROFILE`.
   */
  profile?: ProfileName;
  /**
   * WebGPU: force a kernel variant per family, e.g. `{ matmul: 'tiled-16x4' }` (the
   * `WGPRUNE_KERNEL=matmul=tiled-16x4` variable does the same); a variant that does not apply to
   * a problem is an error naming the candidates. `{}` clears what was forced.
   */
  kernels?: KernelOverrides;
  /** WebGPU: winners measured on this adapter by the tuner (`wgprune tune`); `null` drops them. */
  tuning?: TuningTable | null;
}

export async function init(options: InitOptions = {}): Promise<DeviceDescription> {
  const name = options.backend ?? 'webgpu';
  if (name !== 'webgpu' && name !== 'cpu') throw new Error(`init: unknown backend '${String(name)}' (expected 'webgpu' or 'cpu')`);
  const pooled = options.maxPooledBytes;
  if (pooled !== undefined && !(typeof pooled === 'number' && pooled >= 0)) {
    throw new Error(`init: maxPooledBytes must be a number of bytes >= 0 (or Infinity), got ${String(pooled)}`);
  }
  let entry = entries.get(name);
  if (entry?.isLost?.()) {
    // The device was lost: a new init() brings a new one.
    entry.backend.destroy();
    entry = undefined;
  }
  if (entry) entry.configure?.(options);
  else entry = name === 'cpu' ? cpuEntry() : await webgpuEntry(options);
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

async function webgpuEntry(options: InitOptions): Promise<Entry> {
  // Loaded lazily so CPU-only use never touches Dawn.
  const { acquireDevice } = await import('../gpu/device.js');
  const { WebGpuBackend } = await import('./webgpu/backend.js');
  const ctx = await acquireDevice();
  const limits: Record<string, number> = {};
  for (const key in ctx.device.limits) {
    const v = (ctx.device.limits as unknown as Record<string, unknown>)[key];
    if (typeof v === 'number') limits[key] = v;
  }
  const backend = new WebGpuBackend(ctx, { maxPooledBytes: options.maxPooledBytes });
  const description: DeviceDescription = { backend: 'webgpu', adapter: ctx.adapterName, featureLevel: ctx.featureLevel, limits };
  const configure = (o: InitOptions) => {
    if (o.maxPooledBytes !== undefined) backend.rt.maxPooledBytes = o.maxPooledBytes;
    const s = backend.rt.settings;
    if (o.profile !== undefined) {
      s.profile = checkProfileName(o.profile, 'init');
      s.profileReason = 'init({ profile })';
    }
    if (o.kernels !== undefined) s.forced = { ...o.kernels };
    if (o.tuning !== undefined) s.tuned = o.tuning;
    description.profile = { name: s.profile, reason: s.profileReason };
  };
  configure(options);
  if (options.tuning === undefined) backend.rt.settings.tuned = await sourcedTuning(adapterKey(ctx.facts));
  return {
    backend,
    description,
    configure,
    trim: () => backend.rt.trimMemory(),
    isLost: () => backend.rt.isLost,
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

/** Device memory: allocated in all, in use by live tensors, and pooled (free, kept for reuse). */
export function memoryStats(name?: BackendName) {
  return getBackend(name).memoryStats();
}

/** Gives back the free memory the backend keeps for reuse (WebGPU: destroys pooled buffers and textures). */
export function trimMemory(name?: BackendName): void {
  getBackend(name);
  entries.get(name ?? current!)?.trim?.();
}

/** Submits recorded GPU work without waiting. */
export function flush(name?: BackendName): void {
  getBackend(name).flush();
}

/**
 * Waits until all submitted work has completed (and surfaces device errors). If the backend is
 * shut down meanwhile it rejects with DeviceShutdownError, which never counts as unhandled.
 */
export function sync(name?: BackendName): Promise<void> {
  const backend = getBackend(name);
  return settleOnShutdown(() => backend.sync());
}
