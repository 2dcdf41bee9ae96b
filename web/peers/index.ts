/**
 * Peers on the same adapter with the same protocol: our engine's dense matmul and convolution
 * next to TF.js's WebGPU backend (constructed on our GPUDevice) and ONNX Runtime Web (WebGPU
 * execution provider on our GPUDevice; its wasm execution provider as the CPU figure), and our
 * dense model next to the same model exported with toOnnx and run by ONNX Runtime Web. Every
 * runtime's output is checked against ours first (relative error ≤ 1e-3; one that differs is
 * not timed); the runtimes are then timed together in interleaved rounds (measure()), each call
 * ending in its own runtime's sync, so every ratio comes from the same rounds. A runtime that
 * cannot run on this adapter is listed with the reason.
 */
import { conv2d, getBackend, matmul, type Measurement, measure, nn, noGrad, type Protocol, type ProtocolOptions, sync, tensor, tidy } from '../../index.js';
import type { WebGpuBackend } from '../../engine/webgpu/backend.js';
import { benchWeights } from '../../bench/sparse-masks.js';
import { probeInput } from '../../study/formats.js';
import { outputError } from '../../measure/output-error.js';
import { loadOrt, ortInfo, ortWasm, ortWebGpu } from './ort.js';

export const PEER_TOLERANCE = 1e-3;

export type Runtime = 'wgprune' | 'tfjs-webgpu' | 'ort-webgpu' | 'ort-wasm';
export const RUNTIME_NAMES: Record<Runtime, string> = {
  'wgprune': 'wgprune (WebGPU)',
  'tfjs-webgpu': 'TF.js WebGPU backend',
  'ort-webgpu': 'ONNX Runtime Web, WebGPU EP',
  'ort-wasm': 'ONNX Runtime Web, wasm EP (CPU)',
};

export interface PeerRow {
  case: string;
  runtime: Runtime;
  status: 'ok' | 'unavailable' | 'differs' | 'failed';
  reason?: string;
  /** max |y − y_ours| / max |y_ours| (null: not run). */
  outputError: number | null;
  time: Measurement | null;
  /** FLOPs of one call / median seconds / 1e9. */
  gflops: number | null;
  /** This runtime's median / ours: how many times faster ours is (null: not timed). */
  oursFaster: number | null;
}

export interface PeerCase {
  name: string;
  kind: 'matmul' | 'conv' | 'model';
  flops: number;
  rows: PeerRow[];
}

export interface PeerHooks {
  protocol: ProtocolOptions;
  onStep: (text: string) => void;
  onCase: (c: PeerCase) => void;
}

interface Contender {
  runtime: Runtime;
  /** One call, ending in its runtime's sync. */
  run: () => Promise<void>;
  output: () => Promise<Float32Array>;
  release: () => Promise<void> | void;
}

type Tf = typeof import('@tensorflow/tfjs-core');

const why = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);

/** TF.js on our device, loaded once (its chunk only when the peers run). */
let tfjs: Promise<Tf> | null = null;
function loadTfjs(): Promise<Tf> {
  tfjs ??= import('../../bench/peers/tfjs-device.js').then((m) => m.tfjsOnOurDevice());
  return tfjs;
}

function tfSync(tf: Tf, device: GPUDevice): () => Promise<void> {
  const be = tf.backend() as unknown as { commandEncoder: unknown; endComputePassEncoder(): void; submitQueue(): void };
  return async () => {
    // TF.js records into its own encoder: end the pass and submit it, then wait for the queue.
    if (be.commandEncoder) {
      be.endComputePassEncoder();
      be.submitQueue();
    }
    await device.queue.onSubmittedWorkDone();
  };
}

export interface PeerSetup {
  quick: boolean;
  /** The page's dense model and its input shape (one sample). */
  model: { module: nn.Module; name: string; inputShape: readonly number[] };
}

/** Runs the peer comparisons; returns each case's rows, the protocol as run and the runtimes' versions. */
export async function runPeers(setup: PeerSetup, hooks: PeerHooks): Promise<{ cases: PeerCase[]; protocol: Protocol | null; versions: Record<string, string>; notes: string[] }> {
  const device = (getBackend('webgpu') as WebGpuBackend).ctx.device;
  const versions: Record<string, string> = {};
  const notes: string[] = [];
  const unavailable = new Map<Runtime, string>();

  hooks.onStep('load TF.js (WebGPU backend) on our device');
  let tf: Tf | null = null;
  try {
    tf = await loadTfjs();
    versions['@tensorflow/tfjs-core'] = tf.version_core;
  } catch (e) {
    unavailable.set('tfjs-webgpu', `TF.js's WebGPU backend could not start on this device: ${why(e)}`);
  }
  hooks.onStep('load ONNX Runtime Web');
  let ort: Awaited<ReturnType<typeof loadOrt>> | null = null;
  try {
    ort = await loadOrt(device);
    const info = ortInfo(ort);
    versions['onnxruntime-web'] = info.version;
    notes.push(`ONNX Runtime Web ${info.version}: WebGPU EP with its input in a GPU buffer and its output left on the GPU; wasm EP with ${info.threads} thread(s)${globalThis.crossOriginIsolated ? '' : ' (the page is not cross-origin isolated, so threads are off)'}; graph optimisation 'all'.`);
  } catch (e) {
    unavailable.set('ort-webgpu', `ONNX Runtime Web could not be loaded: ${why(e)}`);
    unavailable.set('ort-wasm', `ONNX Runtime Web could not be loaded: ${why(e)}`);
  }

  const n = setup.quick ? 64 : 1024;
  const conv = setup.quick ? { n: 1, c: 8, hw: 8, oc: 8, k: 3, pad: 1 } : { n: 1, c: 64, hw: 32, oc: 64, k: 3, pad: 1 };
  const batch = setup.quick ? 2 : 64;
  const specs: Array<{ name: string; kind: PeerCase['kind']; flops: number; make: () => Promise<{ ours: Contender; module: nn.Module; inputShape: number[]; input: Float32Array; batch: number; tf?: () => Contender; cleanup: () => void }> }> = [
    {
      name: `matmul ${n}×${n} · ${n}×${n}`, kind: 'matmul', flops: 2 * n * n * n,
      make: async () => {
        const a = benchWeights(n, n, 11, false), b = benchWeights(n, n, 12, false);
        const A = tensor(a, [n, n]), B = tensor(b, [n, n]);
        // ONNX: a Linear layer computes x·Wᵀ, so W = Bᵀ.
        const wt = new Float32Array(n * n);
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) wt[j * n + i] = b[i * n + j]!;
        const lin = new nn.Linear(n, n, { bias: false });
        const W = tensor(wt, [n, n]);
        lin.loadStateDict(new Map([['weight', W]]));
        W.dispose();
        return {
          module: lin, inputShape: [n], input: a, batch: n,
          ours: {
            runtime: 'wgprune', run: async () => { noGrad(() => matmul(A, B).dispose()); await sync(); },
            output: async () => { const y = noGrad(() => matmul(A, B)); try { return await y.toArray(); } finally { y.dispose(); } },
            release: () => undefined,
          },
          tf: () => {
            const ta = tf!.tensor2d(a, [n, n]), tb = tf!.tensor2d(b, [n, n]);
            const s = tfSync(tf!, device);
            return {
              runtime: 'tfjs-webgpu', run: async () => { tf!.matMul(ta, tb).dispose(); await s(); },
              output: async () => { const y = tf!.matMul(ta, tb); try { return (await y.data()) as Float32Array; } finally { y.dispose(); } },
              release: () => tf!.dispose([ta, tb]),
            };
          },
          cleanup: () => { A.dispose(); B.dispose(); lin.dispose(); },
        };
      },
    },
    {
      name: `conv 3×3 ${conv.hw}×${conv.hw}×${conv.c}→${conv.oc} (batch ${conv.n})`, kind: 'conv', flops: 2 * conv.n * conv.oc * conv.hw * conv.hw * conv.c * conv.k * conv.k,
      make: async () => {
        const { n: cn, c, hw, oc, k, pad } = conv;
        const x = benchWeights(1, cn * c * hw * hw, 13, false), w = benchWeights(oc, c * k * k, 14, false);
        const X = tensor(x, [cn, c, hw, hw]), Wt = tensor(w, [oc, c, k, k]);
        const layer = new nn.Conv2d(c, oc, k, { padding: pad, bias: false });
        layer.loadStateDict(new Map([['weight', Wt]]));
        return {
          module: layer, inputShape: [c, hw, hw], input: x, batch: cn,
          ours: {
            runtime: 'wgprune', run: async () => { noGrad(() => conv2d(X, Wt, null, { padding: pad }).dispose()); await sync(); },
            output: async () => { const y = noGrad(() => conv2d(X, Wt, null, { padding: pad })); try { return await y.toArray(); } finally { y.dispose(); } },
            release: () => undefined,
          },
          tf: () => {
            // TF.js in its native layouts: NHWC input, HWIO filter (transposed once, outside the timing).
            const tx = tf!.tidy(() => tf!.transpose(tf!.tensor4d(x, [cn, c, hw, hw]), [0, 2, 3, 1])) as import('@tensorflow/tfjs-core').Tensor4D;
            const tw = tf!.tidy(() => tf!.transpose(tf!.tensor4d(w, [oc, c, k, k]), [2, 3, 1, 0])) as import('@tensorflow/tfjs-core').Tensor4D;
            const padding: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [pad, pad], [pad, pad], [0, 0]];
            const s = tfSync(tf!, device);
            return {
              runtime: 'tfjs-webgpu', run: async () => { tf!.conv2d(tx, tw, 1, padding).dispose(); await s(); },
              output: async () => {
                const y = tf!.tidy(() => tf!.transpose(tf!.conv2d(tx, tw, 1, padding), [0, 3, 1, 2]));
                try { return (await y.data()) as Float32Array; } finally { y.dispose(); }
              },
              release: () => tf!.dispose([tx, tw]),
            };
          },
          cleanup: () => { X.dispose(); Wt.dispose(); layer.dispose(); },
        };
      },
    },
    {
      name: `${setup.model.name} dense (batch ${batch})`, kind: 'model', flops: 0,
      make: async () => {
        const inputShape = [...setup.model.inputShape];
        const x = probeInput([batch, ...inputShape], 7);
        const X = tensor(x, [batch, ...inputShape]);
        const m = setup.model.module;
        m.eval();
        return {
          module: m, inputShape, input: x, batch,
          ours: {
            runtime: 'wgprune', run: async () => { noGrad(() => tidy(() => void m.forward(X))); await sync(); },
            output: async () => { const y = noGrad(() => m.forward(X)); try { return await y.toArray(); } finally { y.dispose(); } },
            release: () => undefined,
          },
          cleanup: () => X.dispose(),
        };
      },
    },
  ];

  const cases: PeerCase[] = [];
  let protocol: Protocol | null = null;
  let ortDevice: string | null = null;
  for (const spec of specs) {
    hooks.onStep(`${spec.name}: build and check every runtime`);
    const made = await spec.make();
    const pc: PeerCase = { name: spec.name, kind: spec.kind, flops: spec.flops, rows: [] };
    const contenders: Contender[] = [made.ours];
    const rowOf = (runtime: Runtime, status: PeerRow['status'], reason?: string, outputError: number | null = null): PeerRow => ({ case: spec.name, runtime, status, ...(reason ? { reason } : {}), outputError, time: null, gflops: null, oursFaster: null });
    try {
      const reference = await made.ours.output();
      pc.rows.push(rowOf('wgprune', 'ok', undefined, 0));
      const consider = async (runtime: Runtime, make: (() => Promise<Contender>) | null, skip?: string) => {
        if (unavailable.has(runtime)) return pc.rows.push(rowOf(runtime, 'unavailable', unavailable.get(runtime)));
        if (!make) return pc.rows.push(rowOf(runtime, 'unavailable', skip));
        let c: Contender;
        try {
          c = await make();
        } catch (e) {
          return pc.rows.push(rowOf(runtime, 'failed', `could not start: ${why(e)}`));
        }
        try {
          const err = outputError(await c.output(), reference);
          if (!(err <= PEER_TOLERANCE)) {
            await c.release();
            return pc.rows.push(rowOf(runtime, 'differs', `outputs differ from ours by ${err.toExponential(2)} (relative; limit ${PEER_TOLERANCE}), so it is not timed`, err));
          }
          contenders.push(c);
          pc.rows.push(rowOf(runtime, 'ok', undefined, err));
        } catch (e) {
          await c.release();
          pc.rows.push(rowOf(runtime, 'failed', `its first run failed: ${why(e)}`));
        }
      };
      await consider('tfjs-webgpu', made.tf && tf ? async () => made.tf!() : null, made.tf ? 'TF.js did not load' : 'not run: TF.js has no importer for our models (the layers above compare its kernels)');
      let onnx: Uint8Array | null = null;
      if (ort) {
        try {
          onnx = await nn.toOnnx(made.module, { inputShape: made.inputShape });
        } catch (e) {
          for (const r of ['ort-webgpu', 'ort-wasm'] as const) unavailable.set(r, `the model could not be exported to ONNX: ${why(e)}`);
        }
      }
      const dims = [made.batch, ...made.inputShape];
      await consider('ort-webgpu', ort && onnx ? async () => {
        const p = await ortWebGpu(ort!, onnx!, made.input, dims);
        ortDevice ??= describeOrtDevice(p.device, device);
        return { runtime: 'ort-webgpu', run: p.run, output: p.output, release: p.release };
      } : null, 'ONNX Runtime Web did not load');
      await consider('ort-wasm', ort && onnx ? async () => {
        const p = await ortWasm(ort!, onnx!, made.input, dims);
        return { runtime: 'ort-wasm', run: p.run, output: p.output, release: p.release };
      } : null, 'ONNX Runtime Web did not load');

      hooks.onStep(`${spec.name}: time ${contenders.map((c) => RUNTIME_NAMES[c.runtime]).join(', ')} in interleaved rounds`);
      const works = Object.fromEntries(contenders.map((c) => [c.runtime, c.run]));
      const r = await measure(works, {
        ...hooks.protocol, sync: async () => {},
        syncName: 'each call ends in its own runtime\'s sync: ours sync(); TF.js its commands submitted, then queue.onSubmittedWorkDone(); ONNX Runtime WebGPU run() then queue.onSubmittedWorkDone(); ONNX Runtime wasm run() resolving with its outputs',
      });
      protocol = r.protocol;
      const ours = r.results.wgprune!;
      const flops = spec.kind === 'model' ? 0 : spec.flops;
      for (const row of pc.rows) {
        const t = r.results[row.runtime];
        if (!t) continue;
        row.time = t;
        row.gflops = flops ? flops / t.median / 1e9 : null;
        row.oursFaster = t.median / ours.median;
      }
    } catch (e) {
      pc.rows.push(rowOf('wgprune', 'failed', why(e)));
      throw e;
    } finally {
      for (const c of contenders.slice(1)) await c.release();
      made.cleanup();
    }
    cases.push(pc);
    hooks.onCase(pc);
  }
  if (ortDevice) notes.push(ortDevice);
  return { cases, protocol, versions, notes };
}

function describeOrtDevice(theirs: GPUDevice, ours: GPUDevice): string {
  if (theirs === ours) return 'ONNX Runtime Web\'s WebGPU EP ran on the page\'s own GPUDevice.';
  const info = (theirs as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  const name = info ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') : '';
  return `ONNX Runtime Web's WebGPU EP made its own GPUDevice${name ? ` on adapter '${name}'` : ''} (it does not take one from the page); each of its calls ends in that device's queue.onSubmittedWorkDone().`;
}
