/**
 * Device acquisition: core adapter first, then a compatibility adapter.
 *
 * Where the WebGPU implementation comes from is a seam: a `GpuProvider` lists candidate
 * instances. In a browser the default provider is `navigator.gpu`; Node has no WebGPU of its
 * own, so the package's Node entry registers Dawn (the `webgpu` npm package) with
 * `setGpuProvider` when it is imported. This module itself imports nothing Node-specific, so it
 * bundles for browsers.
 *
 * In Node the GPU instance returned by the `webgpu` package's `create()` must stay strongly
 * referenced for the whole life of the device: if only the device is kept, V8 may collect the
 * instance and Dawn later crashes (futex errors, segfaults, hangs). `GpuContext` therefore holds
 * instance, adapter and device together.
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

/** One place to ask for an adapter: a navigator.gpu-like instance and the feature level to request. */
export interface GpuCandidate {
  instance: GPU;
  featureLevel: 'core' | 'compatibility';
}

/** Where WebGPU comes from: candidates tried in order, and what to tell the user when none has an adapter. */
export interface GpuProvider {
  /** Short name for messages, e.g. 'navigator.gpu' or 'Dawn (webgpu package)'. */
  readonly name: string;
  /** Candidate makers, tried in order until one gives an adapter; may throw when the implementation is missing. */
  candidates(): Promise<Array<() => GpuCandidate>>;
  /** The message of the error thrown when no candidate gives an adapter. */
  readonly noAdapterHint: string;
}

/** WGPRUNE_VERBOSE=1 (Node): the adapter search is logged. */
export function verboseGpu(): boolean {
  return typeof process !== 'undefined' && process.env?.WGPRUNE_VERBOSE === '1';
}

export function noteGpu(line: string): void {
  if (verboseGpu()) console.error(`wgprune: ${line}`);
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

const NO_WEBGPU =
  'webgpu: navigator.gpu is not available. In a browser, use one with WebGPU enabled (Chromium: --enable-unsafe-webgpu where it is off); ' +
  "in Node, import wgprune's Node entry ('wgprune' resolves to it under Node, or 'wgprune/node'), which brings Dawn (the 'webgpu' package). " +
  "Or use the CPU backend: init({ backend: 'cpu' }).";

/** The browser's own WebGPU: `navigator.gpu`, core adapter first, then compatibility. */
export const navigatorGpuProvider: GpuProvider = {
  name: 'navigator.gpu',
  async candidates() {
    const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
    if (!gpu) throw new Error(NO_WEBGPU);
    return [
      () => ({ instance: gpu, featureLevel: 'core' }),
      () => ({ instance: gpu, featureLevel: 'compatibility' }),
    ];
  },
  noAdapterHint:
    'No WebGPU adapter found: navigator.gpu exists but offers no adapter (is hardware acceleration or WebGPU disabled, or the GPU blocklisted?). ' +
    "Or use the CPU backend: init({ backend: 'cpu' }).",
};

let provider: GpuProvider = navigatorGpuProvider;

/**
 * Sets where `init()` gets WebGPU from (default: `navigator.gpu`). The Node entry sets Dawn;
 * pass another provider to use a different implementation, or `null` to go back to `navigator.gpu`.
 * Takes effect at the next device acquisition (a live backend keeps its device).
 */
export function setGpuProvider(next: GpuProvider | null): void {
  provider = next ?? navigatorGpuProvider;
}

/** The provider the next device acquisition will use. */
export function gpuProvider(): GpuProvider {
  return provider;
}

export async function acquireDevice(): Promise<GpuContext> {
  const source = provider;
  for (const make of await source.candidates()) {
    const { instance, featureLevel } = make();
    const adapter = await instance.requestAdapter({ featureLevel, powerPreference: 'high-performance' } as GPURequestAdapterOptions);
    if (!adapter) {
      noteGpu(`${source.name}: no ${featureLevel} adapter`);
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
    noteGpu(`using ${adapterName} (${featureLevel}) from ${source.name}`);
    const facts: AdapterFacts = { vendor: info?.vendor ?? '', architecture: info?.architecture ?? '', device: info?.device ?? '', description: info?.description ?? '', featureLevel };
    return { instance, adapter, device, featureLevel, adapterName, facts };
  }
  throw new Error(source.noAdapterHint);
}
