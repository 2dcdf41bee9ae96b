/**
 * The density sweep: a dense layer against the same layer on the CSR and block-sparse (BSR 4×4)
 * kernels, at several densities, for a linear layer and a 3×3 convolution. At each density the
 * three are timed together in interleaved rounds (measure()), so each speedup (dense median /
 * sparse median) comes from the same rounds. CSR gets a random mask (unstructured pruning); BSR
 * a mask of whole 4×4 blocks (what block pruning leaves). The sparse weights are uploaded once,
 * outside the timing, as a sparse layer does.
 */
import {
  BsrMatrix, conv2d, CsrMatrix, linear, type Measurement, measure, noGrad, type Protocol, type ProtocolOptions, type SparseMatrix, sparseConv2d, sparseLinear,
  sparseTensor, type Tensor, tensor,
} from '../index.js';
import { benchWeights, blockMask, randomMask } from '../bench/sparse-masks.js';

export interface LinearCase { kind: 'linear'; name: string; out: number; inF: number; batch: number; densities: number[] }
export interface ConvCase { kind: 'conv'; name: string; n: number; c: number; hw: number; oc: number; k: number; pad: number; densities: number[] }
export type SweepCase = LinearCase | ConvCase;

export interface SweepRow {
  layer: string;
  op: 'linear' | 'conv';
  format: 'csr' | 'bsr 4x4';
  mask: 'random' | 'block 4x4';
  /** The density asked for. */
  target: number;
  /** Non-zero weights / all weights. */
  density: number;
  /** Stored values / all weights (BSR stores whole blocks). */
  storedDensity: number;
  dense: Measurement;
  sparse: Measurement;
  speedup: number;
  /** 1 / density. */
  flopSpeedup: number;
  /** speedup / flopSpeedup. */
  realization: number;
  /** Dense FLOPs of one call (multiply-add = 2). */
  flops: number;
}

export function sweepCases(quick: boolean): SweepCase[] {
  if (quick) {
    return [
      { kind: 'linear', name: 'linear 64×64 (batch 16)', out: 64, inF: 64, batch: 16, densities: [1, 0.3, 0.1] },
      { kind: 'conv', name: 'conv 3×3 8×8×8→8 (batch 1)', n: 1, c: 8, hw: 8, oc: 8, k: 3, pad: 1, densities: [1, 0.3] },
    ];
  }
  const densities = [1, 0.5, 0.3, 0.1, 0.05];
  return [
    { kind: 'linear', name: 'linear 1024×1024 (batch 256)', out: 1024, inF: 1024, batch: 256, densities },
    { kind: 'conv', name: 'conv 3×3 32×32×64→64 (batch 1)', n: 1, c: 64, hw: 32, oc: 64, k: 3, pad: 1, densities },
  ];
}

/** The number of timed points (density × format) of `cases`, for the progress bar. */
export const sweepSteps = (cases: SweepCase[]) => cases.reduce((n, c) => n + c.densities.length, 0);

function nonzeroDensity(a: Float32Array): number {
  let n = 0;
  for (const v of a) if (v !== 0) n++;
  return n / a.length;
}

export interface SweepHooks {
  protocol: ProtocolOptions;
  /** After each density: the rows measured so far. */
  onRows: (rows: SweepRow[]) => void;
  /** Before each density: what is measured next. */
  onStep: (text: string) => void;
  /** Called once, after the first density of the first case (the page's device-lost check uses it). */
  afterFirst?: () => void;
}

/** One density of one case: the dense layer and its CSR and BSR versions, ready to run. */
export interface SweepPoint {
  case: SweepCase;
  target: number;
  /** Dense FLOPs of one call (multiply-add = 2). */
  flops: number;
  /** One call of each workload (the output is disposed). */
  calls: { dense: () => void; csr: () => void; bsr: () => void };
  /** Each sparse format's mask, its masked dense values and its host matrix. */
  mats: Array<[SweepRow['format'], SweepRow['mask'], Float32Array, SparseMatrix]>;
}

/**
 * Builds every case's tensors and, density by density, the sparse weights (uploaded once, as a
 * sparse layer does), and hands each point to `visit`; everything is released afterwards. The
 * seeds are fixed, so every visit of the same cases sees the same matrices (and plans the same
 * kernel problems: the page's tuner collects them this way).
 */
export async function forEachSweepPoint(cases: SweepCase[], visit: (p: SweepPoint) => Promise<void>): Promise<void> {
  let seed = 1;
  for (const c of cases) {
    const [wr, wc] = c.kind === 'linear' ? [c.out, c.inF] : [c.oc, c.c * c.k * c.k];
    const w = benchWeights(wr, wc, seed++, false);
    const inputSize = c.kind === 'linear' ? c.batch * c.inF : c.n * c.c * c.hw * c.hw;
    const x = tensor(benchWeights(1, inputSize, seed++, false), c.kind === 'linear' ? [c.batch, c.inF] : [c.n, c.c, c.hw, c.hw]);
    const bias = tensor(benchWeights(1, wr, seed++, false), [wr]);
    const W = tensor(w, c.kind === 'linear' ? [c.out, c.inF] : [c.oc, c.c, c.k, c.k]);
    const oh = c.kind === 'conv' ? c.hw + 2 * c.pad - c.k + 1 : 0;
    const flops = c.kind === 'linear' ? 2 * c.out * c.inF * c.batch : 2 * c.n * c.oc * oh * oh * wc;
    const denseCall = c.kind === 'linear'
      ? () => noGrad(() => linear(x, W, bias).dispose())
      : () => noGrad(() => conv2d(x, W, bias, { padding: c.pad }).dispose());
    const sparseCall = (sw: ReturnType<typeof sparseTensor>) => c.kind === 'linear'
      ? () => noGrad(() => sparseLinear(x, sw, bias).dispose())
      : () => noGrad(() => sparseConv2d(x, sw, [c.k, c.k], bias, { padding: c.pad }).dispose());
    try {
      for (const target of c.densities) {
        const csrData = target >= 1 ? w : randomMask(w, target, seed++);
        const bsrData = target >= 1 ? w : blockMask(w, wr, wc, [4, 4], target, seed++);
        const mats: SweepPoint['mats'] = [
          ['csr', 'random', csrData, CsrMatrix.fromDense(csrData, wr, wc)],
          ['bsr 4x4', 'block 4x4', bsrData, BsrMatrix.fromDense(bsrData, wr, wc, [4, 4])],
        ];
        const sws = mats.map((m) => sparseTensor(m[3]));
        try {
          await visit({ case: c, target, flops, calls: { dense: denseCall, csr: sparseCall(sws[0]!), bsr: sparseCall(sws[1]!) }, mats });
        } finally {
          for (const s of sws) s.dispose();
        }
      }
    } finally {
      for (const t of [x, W, bias] as Tensor[]) t.dispose();
    }
  }
}

/** Runs the sweep; returns every row and the protocol as run. */
export async function runSweep(cases: SweepCase[], hooks: SweepHooks): Promise<{ rows: SweepRow[]; protocol: Protocol | null }> {
  const rows: SweepRow[] = [];
  let protocol: Protocol | null = null;
  await forEachSweepPoint(cases, async ({ case: c, target, flops, calls, mats }) => {
    hooks.onStep(`${c.name}: dense vs CSR vs BSR 4×4 at density ${target}`);
    const r = await measure(calls, hooks.protocol);
    protocol = r.protocol;
    mats.forEach(([format, mask, data, m], i) => {
      const sparse = i === 0 ? r.results.csr : r.results.bsr;
      const density = nonzeroDensity(data);
      const speedup = r.results.dense.median / sparse.median;
      const flopSpeedup = density > 0 ? 1 / density : Infinity;
      rows.push({
        layer: c.name, op: c.kind, format, mask, target, density, storedDensity: m.density,
        dense: r.results.dense, sparse, speedup, flopSpeedup, realization: speedup / flopSpeedup, flops,
      });
    });
    hooks.onRows(rows);
    if (hooks.afterFirst) {
      const f = hooks.afterFirst;
      hooks.afterFirst = undefined;
      f();
    }
  });
  return { rows, protocol };
}
