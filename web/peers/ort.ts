/**
 * ONNX Runtime Web, loaded from the page's ort/ folder (copied there by the build): its WebGPU
 * execution provider, offered our engine's GPUDevice (ONNX Runtime 1.31's WebGPU EP creates its
 * own device on the browser's default adapter instead; the page reports which), and its wasm
 * execution provider as the CPU figure. Models are ONNX bytes (our modules exported with toOnnx).
 *
 * WebGPU sessions take their input from a GPU buffer written once and leave their output on
 * the GPU (disposed after each call), so a call is the model's work, like ours; each call ends
 * in `device.queue.onSubmittedWorkDone()`. The wasm session's run() resolves with its outputs.
 */
import type * as OrtTypes from 'onnxruntime-web';

type Ort = typeof OrtTypes;

let loaded: Promise<Ort> | null = null;

/** The runtime module, once; `device` becomes its WebGPU EP's device (set before its first session). */
export function loadOrt(device: GPUDevice): Promise<Ort> {
  loaded ??= (async () => {
    const base = new URL('ort/', document.baseURI).href;
    const ort = (await import(/* @vite-ignore */ `${base}ort.webgpu.min.mjs`)) as Ort;
    ort.env.wasm.wasmPaths = base;
    // Threads need a cross-origin isolated page (SharedArrayBuffer); one thread otherwise.
    ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
    ort.env.wasm.proxy = false;
    ort.env.logLevel = 'error';
    ort.env.webgpu.device = device;
    return ort;
  })();
  return loaded;
}

export interface OrtPeer {
  /** One call; resolves when its work is done. */
  run(): Promise<void>;
  /** One call's output, read back. */
  output(): Promise<Float32Array>;
  release(): Promise<void>;
}

export interface OrtPeerInfo {
  version: string;
  threads: number;
}

export function ortInfo(ort: Ort): OrtPeerInfo {
  return { version: ort.env.versions?.web ?? ort.env.versions?.common ?? 'unknown', threads: ort.env.wasm.numThreads ?? 1 };
}

/**
 * A session of `model` on the WebGPU EP, fed `input` ([batch, ...] shape `dims`) from a GPU
 * buffer on the EP's device (ours when the EP took it; otherwise its own, on the adapter the
 * browser gives by default).
 */
export async function ortWebGpu(ort: Ort, model: Uint8Array, input: Float32Array, dims: number[]): Promise<OrtPeer & { device: GPUDevice }> {
  const session = await ort.InferenceSession.create(model, { executionProviders: ['webgpu'], preferredOutputLocation: 'gpu-buffer', graphOptimizationLevel: 'all' });
  const device = await ort.env.webgpu.device;
  const size = Math.ceil(input.byteLength / 16) * 16;
  const buffer = device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, label: 'ort-input' });
  device.queue.writeBuffer(buffer, 0, input as Float32Array<ArrayBuffer>);
  const x = ort.Tensor.fromGpuBuffer(buffer, { dataType: 'float32', dims });
  const [inName] = session.inputNames, [outName] = session.outputNames;
  const call = async () => (await session.run({ [inName!]: x }))[outName!]!;
  return {
    device,
    async run() {
      const y = await call();
      await device.queue.onSubmittedWorkDone();
      y.dispose();
    },
    async output() {
      const y = await call();
      const data = (await y.getData(true)) as Float32Array;
      return data;
    },
    async release() {
      await session.release();
      buffer.destroy();
    },
  };
}

/** A session of `model` on the wasm (CPU) EP. */
export async function ortWasm(ort: Ort, model: Uint8Array, input: Float32Array, dims: number[]): Promise<OrtPeer> {
  const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const x = new ort.Tensor('float32', input, dims);
  const [inName] = session.inputNames, [outName] = session.outputNames;
  return {
    async run() {
      await session.run({ [inName!]: x });
    },
    async output() {
      return (await session.run({ [inName!]: x }))[outName!]!.data as Float32Array;
    },
    release: () => session.release(),
  };
}
