/**
 * Per-kernel microbenchmarks with benny: calls per second of one kernel call at the
 * project's standard shapes — dense matmul, linear and conv2d, and CSR / BSR (4×4) sparse
 * linear and conv at a few densities.
 *
 * Each case records one op (inputs made beforehand, its output freed by `tidy`) and waits
 * for the device (`await sync()`), so a call's time is the kernel's time on the device plus
 * the recording and submission. benny (benchmark.js underneath) chooses the number of
 * samples and reports ops/s with a margin of error; cases run one after another, so compare
 * them for orders of magnitude and regressions, not for ratios: the speedups and realization
 * ratios of `bench:sparse` come from measure/timing.ts's interleaved rounds.
 *
 * Writes benny's JSON (with every sample) and CSV to bench/results/kernels.{json,csv}
 * (kernels-quick.* for a quick run).
 *
 *   npm run bench:kernels [-- --quick] [-- --out-dir DIR]
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { add, complete, configure, cycle, save, suite } from 'benny';
import {
  BsrMatrix, conv2d, CsrMatrix, init, linear, matmul, noGrad, type SparseMatrix, sparseConv2d, sparseLinear, type SparseTensor,
  sparseTensor, sync, tensor, tidy, type Tensor,
} from '../engine/internal.js';
import { benchWeights, blockMask, randomMask } from './sparse-masks.js';

/** benny's summary of a suite: per case ops/s, margin of error, samples. */
export type KernelsSummary = Awaited<ReturnType<typeof suite>>;

export interface KernelsBenchOptions {
  /** Five cases instead of ten, sampled for at most half a second each. */
  quick?: boolean;
  /** Folder for the JSON and CSV results (default bench/results). */
  outDir?: string;
}

/** One timed kernel call: `run` records it; the suite frees its output and waits for the device. */
interface KernelCase {
  name: string;
  /** FLOPs of one call (multiply-add = 2; sparse: non-zero weights only). */
  flops: number;
  run: () => void;
}

/** Everything the cases read, created once and disposed after the suite. */
class Inputs {
  private readonly owned: Array<{ dispose(): void }> = [];
  private seed = 1;

  /** A [rows, cols] normal matrix as host data. */
  weights(rows: number, cols: number): Float32Array {
    return benchWeights(rows, cols, this.seed++, false);
  }

  tensor(shape: number[]): Tensor {
    const t = tensor(benchWeights(1, shape.reduce((a, b) => a * b, 1), this.seed++, false), shape);
    this.owned.push(t);
    return t;
  }

  /** CSR keeps a random `density` of the weights; BSR 4×4 a random `density` of whole blocks. */
  sparse(format: 'csr' | 'bsr', rows: number, cols: number, density: number): { weight: SparseTensor; nnz: number } {
    const w = this.weights(rows, cols);
    const m: SparseMatrix = format === 'csr'
      ? CsrMatrix.fromDense(randomMask(w, density, this.seed++), rows, cols)
      : BsrMatrix.fromDense(blockMask(w, rows, cols, [4, 4], density, this.seed++), rows, cols, [4, 4]);
    const weight = sparseTensor(m);
    this.owned.push(weight);
    return { weight, nnz: Math.round(m.density * rows * cols) };
  }

  dispose(): void {
    for (const t of this.owned) t.dispose();
    this.owned.length = 0;
  }
}

const pct = (d: number) => `${Math.round(d * 100)}%`;

function kernelCases(inputs: Inputs, quick: boolean): KernelCase[] {
  // A quick run keeps dense linear and conv, CSR and BSR linear at 10%, CSR conv.
  const cases: KernelCase[] = [];

  if (!quick) {
    const a = inputs.tensor([1024, 1024]);
    const b = inputs.tensor([1024, 1024]);
    cases.push({ name: 'dense matmul 1024×1024×1024', flops: 2 * 1024 ** 3, run: () => matmul(a, b) });
  }

  // Linear layers: 1024×1024 weights applied to a batch of 256 rows (256 columns of the SpMM).
  const x = inputs.tensor([256, 1024]);
  const bias = inputs.tensor([1024]);
  const w = inputs.tensor([1024, 1024]);
  cases.push({ name: 'dense linear 1024→1024, batch 256', flops: 2 * 256 * 1024 * 1024, run: () => linear(x, w, bias) });
  for (const format of ['csr', 'bsr'] as const) {
    for (const density of [0.5, 0.1]) {
      if (quick && density !== 0.1) continue;
      const s = inputs.sparse(format, 1024, 1024, density);
      const label = format === 'csr' ? `csr linear 1024→1024 at ${pct(density)}` : `bsr 4×4 linear 1024→1024 at ${pct(density)} of blocks`;
      cases.push({ name: `${label}, batch 256`, flops: 2 * 256 * s.nnz, run: () => sparseLinear(x, s.weight, bias) });
    }
  }

  // CIFAR conv: 3×3, 64→64 channels on 32×32, padding 1, batch 1.
  const cx = inputs.tensor([1, 64, 32, 32]);
  const cw = inputs.tensor([64, 64, 3, 3]);
  const cb = inputs.tensor([64]);
  const convFlops = (nnz: number) => 2 * 32 * 32 * nnz;
  cases.push({ name: 'dense conv2d CIFAR 3×3 32×32×64→64, batch 1', flops: convFlops(64 * 64 * 9), run: () => conv2d(cx, cw, cb, { padding: 1 }) });
  for (const format of ['csr', 'bsr'] as const) {
    if (quick && format !== 'csr') continue;
    const s = inputs.sparse(format, 64, 64 * 9, 0.1);
    const label = format === 'csr' ? 'csr conv CIFAR 3×3 32×32×64→64 at 10%' : 'bsr 4×4 conv CIFAR 3×3 32×32×64→64 at 10% of blocks';
    cases.push({ name: `${label}, batch 1`, flops: convFlops(s.nnz), run: () => sparseConv2d(cx, s.weight, [3, 3], cb, { padding: 1 }) });
  }

  // LeNet-5's second conv: 5×5, 6→16 channels on 14×14 (10×10 out), batch 64.
  if (!quick) {
    const lx = inputs.tensor([64, 6, 14, 14]);
    const lw = inputs.tensor([16, 6, 5, 5]);
    const lb = inputs.tensor([16]);
    cases.push({ name: 'dense conv2d LeNet-5 5×5 14×14×6→16, batch 64', flops: 2 * 64 * 10 * 10 * 16 * 6 * 25, run: () => conv2d(lx, lw, lb) });
  }
  return cases;
}

/** One line per case: ops/s as benny measured it, with the time per call and GFLOP/s it implies. */
function rates(cases: KernelCase[], summary: KernelsSummary): string {
  const lines = summary.results.map((r) => {
    const c = cases.find((k) => k.name === r.name)!;
    return `  ${r.name.padEnd(62)} ${(1e3 / r.ops).toFixed(2).padStart(8)} ms/call  ${(r.ops * c.flops / 1e9).toFixed(2).padStart(7)} GFLOP/s`;
  });
  return ['Per call (1 / ops/s; multiply-add = 2 FLOPs, sparse: non-zero weights only):', ...lines].join('\n');
}

export async function runKernelsBench(opts: KernelsBenchOptions = {}): Promise<KernelsSummary> {
  const quick = !!opts.quick;
  const device = await init({ backend: 'webgpu' });
  const outDir = opts.outDir ?? join(dirname(fileURLToPath(import.meta.url)), 'results');
  const file = quick ? 'kernels-quick' : 'kernels';
  const inputs = new Inputs();
  try {
    const cases = kernelCases(inputs, quick);
    // benny calls each case twice while preparing it: those calls compile the pipelines and
    // fill the buffer pool, the warm-up.
    const timed = cases.map((c) =>
      add(c.name, async () => {
        noGrad(() => tidy(() => void c.run()));
        await sync();
      }));
    return await suite(
      `wgprune kernels on ${device.adapter} (${device.featureLevel})${quick ? ' [quick]' : ''}`,
      // benny's defaults are 5 s per case; a quick run samples each case for half a second.
      // Kernel calls take milliseconds: keep two decimals of ops/s.
      configure({ cases: quick ? { maxTime: 0.5, minSamples: 3 } : { maxTime: 5, minSamples: 5 }, minDisplayPrecision: 2 }),
      ...timed,
      cycle(),
      complete(),
      complete((summary) => console.log(rates(cases, summary))),
      save({ file, folder: outDir, format: 'json', details: true }),
      save({ file, folder: outDir, format: 'csv', details: true }),
    );
  } finally {
    inputs.dispose();
  }
}
