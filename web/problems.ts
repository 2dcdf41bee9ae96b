/**
 * What can stop the page, as messages a visitor understands: no WebGPU in this browser, no
 * adapter, a device limit the benchmarks need, the device lost mid-run, or any other failure.
 * Each is shown on the page (never only in the console).
 */

/** A failure with a title and advice for the visitor; `kind` is what tests and the results read. */
export class PageProblem extends Error {
  constructor(readonly kind: 'no-webgpu' | 'no-adapter' | 'missing-limit' | 'device-lost' | 'failed', readonly title: string, message: string) {
    super(message);
    this.name = 'PageProblem';
  }
}

/** The device limits the page's benchmarks rely on (the WebGPU compatibility-mode defaults or less). */
export const REQUIRED_LIMITS: ReadonlyArray<{ name: string; min: number; why: string }> = [
  { name: 'maxComputeInvocationsPerWorkgroup', min: 128, why: 'the matmul and convolution kernels use workgroups of up to 128 invocations' },
  { name: 'maxComputeWorkgroupSizeX', min: 128, why: 'workgroups are laid out along x' },
  { name: 'maxStorageBuffersPerShaderStage', min: 4, why: 'a sparse kernel binds its values, indices, input and output' },
  { name: 'maxStorageBufferBindingSize', min: 16 << 20, why: 'the largest tensor of the sweep is 4 MiB, the convolution scratch up to 16 MiB' },
  { name: 'maxTextureDimension2D', min: 2048, why: 'gathered operands of the sparse kernels go through 2D textures' },
];

export function noWebGpu(): PageProblem {
  if (!globalThis.isSecureContext) {
    return new PageProblem('no-webgpu', 'WebGPU needs a secure page',
      `This page was opened from ${location.origin || location.protocol}, which is not a secure context, so the browser hides WebGPU. ` +
      'Open it over https://, or from http://127.0.0.1 or http://localhost (npm run web serves it there); a file:// page cannot use WebGPU.');
  }
  return new PageProblem('no-webgpu', 'This browser does not offer WebGPU',
    'navigator.gpu is missing. Recent Chrome and Edge (113 or later) have WebGPU on Windows, macOS and ChromeOS; on Linux, Chrome needs ' +
    'chrome://flags/#enable-unsafe-webgpu (or the --enable-unsafe-webgpu switch). Recent Firefox and Safari versions have it on some platforms. ' +
    'Nothing was measured.');
}

export function noAdapter(): PageProblem {
  return new PageProblem('no-adapter', 'No WebGPU adapter',
    'The browser has WebGPU, but requestAdapter() found no adapter, neither core nor compatibility. The GPU may be blocklisted, ' +
    'its driver missing, or hardware acceleration turned off in the browser\'s settings (check chrome://gpu). Nothing was measured.');
}

export function missingLimit(missing: Array<{ name: string; min: number; has: number | undefined; why: string }>): PageProblem {
  const list = missing.map((m) => `${m.name} is ${m.has === undefined ? 'not reported' : m.has.toLocaleString('en-US')}, at least ${m.min.toLocaleString('en-US')} is needed (${m.why})`).join('; ');
  return new PageProblem('missing-limit', 'This GPU lacks a limit the benchmarks need', `${list}. Nothing was measured.`);
}

export function deviceLost(reason: string, message: string, stage: string): PageProblem {
  return new PageProblem('device-lost', 'The GPU device was lost',
    `The device went away during ${stage} (${reason}${message ? `: ${message}` : ''}). This happens when the GPU driver resets, ` +
    'the tab is starved of GPU memory, or the browser reclaims the GPU. The figures above this point are kept; reload the page to measure again.');
}

/** Any other error, kept as it is, with the stage it happened in. */
export function failed(e: unknown, stage: string): PageProblem {
  if (e instanceof PageProblem) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new PageProblem('failed', `The benchmark failed during ${stage}`, message);
}

/**
 * Checks navigator.gpu, an adapter (core first, then compatibility) and the required limits
 * (with `extra` ones) before the engine starts; throws a PageProblem.
 */
export async function checkWebGpu(extra: ReadonlyArray<{ name: string; min: number }> = []): Promise<GPUAdapter> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) throw noWebGpu();
  let adapter: GPUAdapter | null = null;
  for (const featureLevel of ['core', 'compatibility']) {
    try {
      adapter = await gpu.requestAdapter({ featureLevel, powerPreference: 'high-performance' } as GPURequestAdapterOptions);
    } catch {
      adapter = null;
    }
    if (adapter) break;
  }
  if (!adapter) throw noAdapter();
  const limits = adapter.limits as unknown as Record<string, number | undefined>;
  const wanted = [...REQUIRED_LIMITS, ...extra.map((e) => ({ ...e, why: 'asked for with ?need=' }))];
  const missing = wanted.map((w) => ({ ...w, has: limits[w.name] })).filter((w) => !(typeof w.has === 'number' && w.has >= w.min));
  if (missing.length) throw missingLimit(missing);
  return adapter;
}
