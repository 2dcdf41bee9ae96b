/**
 * Dense kernel benchmark: GFLOP/s of our matmul and conv2d kernels next to TF.js's
 * WebGPU backend running on the very same Dawn device in this process
 * (bench/peers/tfjs-device.ts), with the same protocol for both (measure/timing.ts).
 * A multiply-add counts as 2 FLOPs. Our outputs are spot-checked against float64.
 *
 *   npm run bench:dense [-- --json FILE] [-- --quick]      wgprune bench dense [--json FILE]
 */
import { writeFileSync } from 'node:fs';
import type { Conv2dGeometry, MatmulGeometry, Storage } from '../engine/backend.js';
import { getBackend, init, type DeviceDescription } from '../engine/internal.js';
import type { WebGpuBackend } from '../engine/webgpu/backend.js';
import { DEFAULT_PROTOCOL, describeProtocol, measure, type Measurement, type ProtocolOptions } from '../measure/index.js';
import { tfjsOnOurDevice } from './peers/tfjs-device.js';
import { formatPlans, type PlanUse, withPlans } from '../measure/plans.js';
import { formatRuleVsTuned, ruleVsTuned, type RuleVsTuned, sideBySideTable } from './plans.js';
import { seededValues } from '../tune/inputs.js';

type Tf = Awaited<ReturnType<typeof tfjsOnOurDevice>>;

export interface DenseCase {
  name: string;
  group: 'matmul' | 'linear' | 'conv';
  flops: number;
  shape: Record<string, number | string>;
}

export interface DenseRow extends DenseCase {
  ours: Measurement & { gflops: number };
  tfjs: (Measurement & { gflops: number }) | null;
  /** ours / TF.js GFLOP/s (median over median). */
  ratio: number | null;
  /** Largest |ours − float64| / (Σ|a·b| + 1e-6) over the sampled outputs. */
  checkError: number;
  /** The kernel plans behind our figure (variant, and whether forced, tuned or the profile's rule). */
  plans: PlanUse[];
  /** Ours as a percentage of the device's fp32 peak (when the peak was given). */
  percentOfPeak?: number;
  /** With `tuned`: ours timed with the rule's plans and with the tuned plans in the same rounds. */
  ruleVsTuned?: RuleVsTuned;
}

export interface DenseReport {
  date: string;
  device: DeviceDescription;
  tfjsDevice: string;
  protocol: string;
  flopsNote: string;
  /** The device's fp32 peak in GFLOP/s, when given. */
  peakGflops?: number;
  rows: DenseRow[];
}

interface Workload {
  ours: () => void;
  tfjs: () => void;
  /** Compares sampled outputs of ours with float64; returns the worst relative error. */
  check: () => Promise<number>;
  dispose: () => void;
}

const rand = seededValues;

/** Sample indices spread over an output of `size` elements. */
const samples = (size: number, count = 64) => Array.from({ length: Math.min(size, count) }, (_, i) => Math.floor(((i + 0.5) * size) / Math.min(size, count)));

function matmulWorkload(be: WebGpuBackend, tf: Tf, m: number, k: number, n: number, linear: boolean): Workload {
  const a = rand(m * k, 1), b = rand(k * n, 2), bias = rand(n, 3);
  const ga = be.upload(a), gb = be.upload(b), gbias = be.upload(bias);
  // linear: y = x·Wᵀ + b with W [n, k]; matmul: C = A·B with B [k, n].
  const g: MatmulGeometry = { batch: 1, m, k, n, transA: false, transB: linear, aBatchStride: 0, bBatchStride: 0 };
  const ta = tf.tensor2d(a, [m, k]), tb = tf.tensor2d(b, linear ? [n, k] : [k, n]), tbias = tf.tensor1d(bias);
  const run = () => be.matmul(ga, gb, g, linear ? { bias: gbias } : undefined);
  return {
    ours: () => be.release(run()),
    tfjs: () => (linear ? tf.fused.matMul({ a: ta, b: tb, transposeB: true, bias: tbias }) : tf.matMul(ta, tb)).dispose(),
    check: async () => {
      const out = run();
      const got = await be.read(out);
      be.release(out);
      let worst = 0;
      for (const idx of samples(m * n)) {
        const i = Math.floor(idx / n), j = idx % n;
        let acc = linear ? bias[j]! : 0, mag = linear ? Math.abs(bias[j]!) : 0;
        for (let p = 0; p < k; p++) {
          const v = a[i * k + p]! * (linear ? b[j * k + p]! : b[p * n + j]!);
          acc += v;
          mag += Math.abs(v);
        }
        worst = Math.max(worst, Math.abs(got[idx]! - acc) / (mag + 1e-6));
      }
      return worst;
    },
    dispose: () => {
      for (const s of [ga, gb, gbias]) be.release(s);
      tf.dispose([ta, tb, tbias]);
    },
  };
}

function convGeometry(n: number, c: number, h: number, w: number, oc: number, kh: number, pad: number, stride = 1): Conv2dGeometry {
  const oh = Math.floor((h + 2 * pad - kh) / stride) + 1, ow = Math.floor((w + 2 * pad - kh) / stride) + 1;
  return { n, c, h, w, oc, kh, kw: kh, sh: stride, sw: stride, ph: pad, pw: pad, dh: 1, dw: 1, oh, ow };
}

function convWorkload(be: WebGpuBackend, tf: Tf, g: Conv2dGeometry): Workload {
  const x = rand(g.n * g.c * g.h * g.w, 4), wt = rand(g.oc * g.c * g.kh * g.kw, 5);
  const gx = be.upload(x), gw = be.upload(wt);
  // TF.js in its native layouts: NHWC input, HWIO filter (transposed once, outside the timing).
  const tx = tf.tidy(() => tf.transpose(tf.tensor4d(x, [g.n, g.c, g.h, g.w]), [0, 2, 3, 1]));
  const tw = tf.tidy(() => tf.transpose(tf.tensor4d(wt, [g.oc, g.c, g.kh, g.kw]), [2, 3, 1, 0]));
  const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [g.ph, g.ph], [g.pw, g.pw], [0, 0]];
  const run = () => be.conv2d(gx, gw, null, g);
  return {
    ours: () => be.release(run()),
    tfjs: () => tf.conv2d(tx as Parameters<Tf['conv2d']>[0], tw as Parameters<Tf['conv2d']>[1], [g.sh, g.sw], g.ph === 0 ? 'valid' : pad).dispose(),
    check: async () => {
      const out = run();
      const got = await be.read(out);
      be.release(out);
      let worst = 0;
      for (const idx of samples(g.n * g.oc * g.oh * g.ow)) {
        const ox = idx % g.ow, oy = Math.floor(idx / g.ow) % g.oh, o = Math.floor(idx / (g.ow * g.oh)) % g.oc, b = Math.floor(idx / (g.ow * g.oh * g.oc));
        let acc = 0, mag = 0;
        for (let ci = 0; ci < g.c; ci++)
          for (let ky = 0; ky < g.kh; ky++)
            for (let kx = 0; kx < g.kw; kx++) {
              const iy = oy * g.sh - g.ph + ky * g.dh, ix = ox * g.sw - g.pw + kx * g.dw;
              if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
              const v = x[((b * g.c + ci) * g.h + iy) * g.w + ix]! * wt[((o * g.c + ci) * g.kh + ky) * g.kw + kx]!;
              acc += v;
              mag += Math.abs(v);
            }
        worst = Math.max(worst, Math.abs(got[idx]! - acc) / (mag + 1e-6));
      }
      return worst;
    },
    dispose: () => {
      be.release(gx);
      be.release(gw);
      tf.dispose([tx, tw]);
    },
  };
}

interface CaseDef extends DenseCase {
  make: (be: WebGpuBackend, tf: Tf) => Workload;
}

function cases(quick: boolean, matmulSizes?: number[]): CaseDef[] {
  const out: CaseDef[] = [];
  for (const s of matmulSizes ?? (quick ? [256, 1024] : [256, 512, 1024, 2048])) {
    out.push({ name: `matmul ${s}³`, group: 'matmul', flops: 2 * s ** 3, shape: { m: s, k: s, n: s }, make: (be, tf) => matmulWorkload(be, tf, s, s, s, false) });
  }
  // LeNet-300-100 layers, y = x·Wᵀ + b (bias fused in ours and in TF.js's fused.matMul).
  for (const batch of quick ? [128] : [128, 256]) {
    for (const [inF, outF] of [[784, 300], [300, 100], [100, 10]] as const) {
      out.push({ name: `linear ${inF}→${outF} (batch ${batch})`, group: 'linear', flops: 2 * batch * inF * outF + batch * outF, shape: { batch, in: inF, out: outF }, make: (be, tf) => matmulWorkload(be, tf, batch, inF, outF, true) });
    }
  }
  const convs: Array<[string, Conv2dGeometry]> = [
    ['LeNet-5 conv1 1→6 5×5, 28×28 pad 2 (batch 16)', convGeometry(16, 1, 28, 28, 6, 5, 2)],
    ['LeNet-5 conv2 6→16 5×5, 14×14 (batch 16)', convGeometry(16, 6, 14, 14, 16, 5, 0)],
    ['CIFAR conv 3→64 3×3, 32×32 pad 1 (batch 8)', convGeometry(8, 3, 32, 32, 64, 3, 1)],
    ['conv 64→64 3×3, 32×32 pad 1 (batch 8)', convGeometry(8, 64, 32, 32, 64, 3, 1)],
    ['conv 128→128 3×3, 16×16 pad 1 (batch 8)', convGeometry(8, 128, 16, 16, 128, 3, 1)],
    ['conv 64→128 1×1, 32×32 (batch 8)', convGeometry(8, 64, 32, 32, 128, 1, 0)],
  ];
  for (const [name, g] of quick ? convs.slice(3, 4) : convs) {
    out.push({ name, group: 'conv', flops: 2 * g.n * g.oc * g.oh * g.ow * g.c * g.kh * g.kw, shape: { ...g }, make: (be, tf) => convWorkload(be, tf, g) });
  }
  return out;
}

export interface DenseOptions {
  json?: string;
  quick?: boolean;
  /** Square matmul sizes timed (default 256, 512, 1024, 2048; quick: 256, 1024), e.g. [4096] on a GPU. */
  matmulSizes?: number[];
  /** The device's fp32 peak in GFLOP/s: each row also reports its percentage. */
  peakGflops?: number;
  /** Also time each row's workload with the profile's rule plans and with tuned plans, side by side. */
  tuned?: boolean;
  protocol?: ProtocolOptions;
  log?: (line: string) => void;
}

export async function runDenseBench(o: DenseOptions = {}): Promise<DenseReport> {
  const log = o.log ?? ((l: string) => console.log(l));
  const protocol = o.protocol ?? DEFAULT_PROTOCOL;
  const device = await init({ backend: 'webgpu' });
  const be = getBackend('webgpu') as WebGpuBackend;
  const tf = await tfjsOnOurDevice();
  const tfBackend = tf.backend() as unknown as { commandEncoder: unknown; endComputePassEncoder(): void; submitQueue(): void };
  const syncOurs = () => be.sync();
  const syncTf = async () => {
    // TF.js records into its own encoder: end the pass and submit it, then wait for the queue.
    if (tfBackend.commandEncoder) {
      tfBackend.endComputePassEncoder();
      tfBackend.submitQueue();
    }
    await be.ctx.device.queue.onSubmittedWorkDone();
  };
  const protocolText = describeProtocol(protocol, 'ours: backend.sync(); TF.js: its pending commands submitted, then device.queue.onSubmittedWorkDone()');
  const report: DenseReport = {
    date: new Date().toISOString().slice(0, 10),
    device,
    tfjsDevice: 'TF.js WebGPUBackend constructed on our GPUDevice (same Dawn instance, adapter and device), registered as TF.js\'s "webgpu" backend',
    protocol: protocolText,
    flopsNote: 'multiply-add = 2 FLOPs; GFLOP/s = FLOPs / median seconds',
    ...(o.peakGflops ? { peakGflops: o.peakGflops } : {}),
    rows: [],
  };
  const table = o.tuned ? sideBySideTable() : null;
  const peak = (gflops: number) => (o.peakGflops ? ` (${((100 * gflops) / o.peakGflops).toFixed(1)} % of peak)` : '');
  log(`device: ${device.adapter} (${device.featureLevel})`);
  log(`TF.js: ${report.tfjsDevice}`);
  log(`protocol: ${protocolText}`);
  log(`FLOPs: ${report.flopsNote}`);
  log('');
  if (o.peakGflops) log(`device fp32 peak (given): ${o.peakGflops} GFLOP/s`);
  log('| workload | ours GFLOP/s (min–max) | TF.js GFLOP/s (min–max) | ours/TF.js | our plans |');
  log('|---|---:|---:|---:|---|');
  for (const c of cases(!!o.quick, o.matmulSizes)) {
    const w = c.make(be, tf);
    try {
      const { result: checkError, plans } = await withPlans(() => w.check());
      if (!(checkError < 1e-4)) throw new Error(`${c.name}: our output differs from the float64 reference (relative error ${checkError})`);
      const gf = (m: Measurement) => ({ ...m, gflops: c.flops / m.median / 1e9 });
      const ours = gf((await measure({ ours: w.ours }, { ...protocol, sync: syncOurs })).results.ours);
      let tfjs: DenseRow['tfjs'] = null;
      try {
        tfjs = gf((await measure({ tfjs: w.tfjs }, { ...protocol, sync: syncTf })).results.tfjs);
      } catch (e) {
        log(`  (TF.js failed on ${c.name}: ${(e as Error).message})`);
      }
      const ratio = tfjs ? ours.gflops / tfjs.gflops : null;
      const row: DenseRow = { name: c.name, group: c.group, flops: c.flops, shape: c.shape, ours, tfjs, ratio, checkError, plans };
      if (o.peakGflops) row.percentOfPeak = (100 * ours.gflops) / o.peakGflops;
      report.rows.push(row);
      const range = (m: Measurement) => `${(c.flops / m.max / 1e9).toFixed(2)}–${(c.flops / m.min / 1e9).toFixed(2)}`;
      log(`| ${c.name} | ${ours.gflops.toFixed(2)}${peak(ours.gflops)} (${range(ours)}) | ${tfjs ? `${tfjs.gflops.toFixed(2)} (${range(tfjs)})` : 'n/a'} | ${ratio ? `${ratio.toFixed(2)}×` : 'n/a'} | ${formatPlans(plans)} |`);
      if (table) {
        row.ruleVsTuned = await ruleVsTuned(w.ours, table, protocol, syncOurs);
        log(`|   ↳ rule vs tuned | ${formatRuleVsTuned(row.ruleVsTuned)} | | | |`);
      }
    } finally {
      w.dispose();
    }
  }
  if (o.json) {
    writeFileSync(o.json, JSON.stringify(report, null, 2));
    log(`\nwrote ${o.json}`);
  }
  return report;
}
