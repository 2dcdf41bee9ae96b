/**
 * Sparse kernel benchmark: dense (`linear` / `conv2d`, our engine's public ops, so
 * always our best dense kernel) against CSR and each BSR block shape, over densities
 * with random, block-structured and magnitude-pruned masks.
 *
 * Protocol (measure/timing.ts): per workload, warm-up runs, then
 * R repetitions each ending in a device sync; median with min–max spread. The sparse
 * matrix is uploaded once outside the timing (as a SparseLinear layer does). FLOPs
 * count a multiply-add as 2; FLOP speedup = 1/density (density = non-zero weights /
 * all weights); realization = measured speedup / FLOP speedup.
 *
 * Run: `npm run bench:sparse [-- --quick] [-- --json FILE]`; writes
 * bench/results/sparse.svg (speedup vs density with the ideal 1/density line),
 * bench/results/sparse.md (tables) and, with --json, every measurement.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BLOCK_SHAPES, type BlockShape, BsrMatrix, conv2d, CsrMatrix, init, linear, noGrad, type SparseMatrix, sparseConv2d, sparseLinear,
  sparseTensor, sync, tensor, type DeviceDescription,
} from '../index.js';
import { benchWeights, blockMask, magnitudeMask, type MaskKind, randomMask } from './sparse-masks.js';
import { type PlotPanel, speedupSvg } from './sparse-plot.js';
import { describeProtocol, type Measurement as Timing, measure, measureInterleaved, type ProtocolOptions } from '../measure/index.js';
import { formatPlans, type PlanUse, withPlans } from '../measure/plans.js';
import { formatRuleVsTuned, ruleVsTuned, type RuleVsTuned, sideBySideTable } from './plans.js';

export interface SparseBenchOptions {
  /** Write every measurement to this JSON file. */
  json?: string;
  /** A small sanity run (fewer layers, densities and formats). */
  quick?: boolean;
  /** Output folder for sparse.svg and sparse.md (default bench/results). */
  outDir?: string;
  /** Only the layers whose name contains one of these strings (case-insensitive). */
  layers?: string[];
  /** Also time each sparse row with the profile's rule plans and with tuned plans, side by side. */
  tuned?: boolean;
  log?: (line: string) => void;
}

export interface SparseRow {
  layer: string;
  op: 'linear' | 'conv';
  mask: MaskKind;
  /** 'csr' or 'bsr RxC'. */
  format: string;
  /** Non-zero weights / all weights (the FLOP fraction). */
  density: number;
  /** Stored values / all weights (BSR stores whole blocks). */
  storedDensity: number;
  denseMs: number;
  ms: number;
  minMs: number;
  maxMs: number;
  speedup: number;
  flopSpeedup: number;
  realization: number;
  /** The kernel plans behind the sparse figure (variant, and whether forced, tuned or the profile's rule). */
  plans: PlanUse[];
  /** With `tuned`: the sparse layer timed with the rule's plans and with tuned plans in the same rounds. */
  ruleVsTuned?: RuleVsTuned;
}

export interface BreakEven {
  layer: string;
  mask: MaskKind;
  format: string;
  /** Largest density at which the format is at least as fast as dense (log-interpolated); null: never. */
  density: number | null;
}

export interface SparseBenchResult {
  device: DeviceDescription;
  date: string;
  protocol: string;
  rows: SparseRow[];
  dense: Array<{ layer: string; ms: number; gflops: number; plans: PlanUse[] }>;
  breakEven: BreakEven[];
  markdown: string;
}

interface LinearSpec { name: string; out: number; inF: number; batch: number; densities: number[]; formats: 'all' | 'few' }
interface ConvSpec { name: string; n: number; c: number; hw: number; oc: number; k: number; pad: number; densities: number[] }

const ALL_DENSITIES = [1.0, 0.7, 0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01];
const fmtBlock = (b: BlockShape) => `bsr ${b[0]}x${b[1]}`;

function plan(quick: boolean): { linear: LinearSpec[]; conv: ConvSpec[]; timing: ProtocolOptions } {
  if (quick) {
    return {
      linear: [
        { name: 'LeNet-300 fc1 784→300 (batch 64)', out: 300, inF: 784, batch: 64, densities: [1, 0.3, 0.1], formats: 'few' },
        { name: '1024×1024 (batch 256)', out: 1024, inF: 1024, batch: 256, densities: [1, 0.3, 0.1, 0.05], formats: 'few' },
      ],
      conv: [{ name: 'CIFAR 3×3 16×16×128→128 (batch 1)', n: 1, c: 128, hw: 16, oc: 128, k: 3, pad: 1, densities: [1, 0.2, 0.1] }],
      timing: { warmup: 1, reps: 3, budgetS: 1, minReps: 3 },
    };
  }
  const few = [1, 0.3, 0.1, 0.05, 0.02, 0.01];
  return {
    linear: [
      { name: 'LeNet-300 fc1 784→300 (batch 128)', out: 300, inF: 784, batch: 128, densities: ALL_DENSITIES, formats: 'few' },
      { name: 'LeNet-300 fc2 300→100 (batch 128)', out: 100, inF: 300, batch: 128, densities: ALL_DENSITIES, formats: 'few' },
      { name: 'LeNet-300 fc3 100→10 (batch 128)', out: 10, inF: 100, batch: 128, densities: few, formats: 'few' },
      { name: 'LeNet-5 fc1 400→120 (batch 128)', out: 120, inF: 400, batch: 128, densities: ALL_DENSITIES, formats: 'few' },
      { name: 'LeNet-5 fc2 120→84 (batch 128)', out: 84, inF: 120, batch: 128, densities: few, formats: 'few' },
      { name: 'LeNet-5 fc3 84→10 (batch 128)', out: 10, inF: 84, batch: 128, densities: few, formats: 'few' },
      { name: '1024×1024 (batch 256)', out: 1024, inF: 1024, batch: 256, densities: ALL_DENSITIES, formats: 'all' },
      { name: '4096×4096 (batch 64)', out: 4096, inF: 4096, batch: 64, densities: [0.3, 0.1, 0.05, 0.02, 0.01], formats: 'few' },
    ],
    conv: [
      { name: 'LeNet-5 conv1 1→6 5×5, 28×28 (batch 64)', n: 64, c: 1, hw: 28, oc: 6, k: 5, pad: 2, densities: [1, 0.5, 0.2, 0.1] },
      { name: 'LeNet-5 conv2 6→16 5×5, 14×14 (batch 64)', n: 64, c: 6, hw: 14, oc: 16, k: 5, pad: 0, densities: [1, 0.5, 0.3, 0.2, 0.1, 0.05] },
      { name: 'CIFAR 3×3 32×32×64→64 (batch 1)', n: 1, c: 64, hw: 32, oc: 64, k: 3, pad: 1, densities: ALL_DENSITIES },
      { name: 'CIFAR 3×3 16×16×128→128 (batch 1)', n: 1, c: 128, hw: 16, oc: 128, k: 3, pad: 1, densities: ALL_DENSITIES },
    ],
    timing: { warmup: 1, reps: 5, budgetS: 1.5, minReps: 3 },
  };
}

/** The (mask, format, matrix builder) combinations measured at one density. */
function variants(spec: { formats: 'all' | 'few' }, density: number): Array<{ mask: MaskKind; format: string; block?: BlockShape }> {
  const blocks: BlockShape[] = spec.formats === 'all' ? [...BLOCK_SHAPES] : [[4, 4], [8, 8]];
  const out: Array<{ mask: MaskKind; format: string; block?: BlockShape }> = [{ mask: 'random', format: 'csr' }];
  if (density === 1) {
    for (const b of blocks) out.push({ mask: 'random', format: fmtBlock(b), block: b });
    return out;
  }
  if (spec.formats === 'all') out.push({ mask: 'random', format: 'bsr 4x4', block: [4, 4] });
  for (const b of blocks) out.push({ mask: 'block', format: fmtBlock(b), block: b }, { mask: 'block', format: `csr (${b[0]}x${b[1]} blocks)`, block: b });
  out.push({ mask: 'magnitude', format: 'csr' });
  return out;
}

function maskFor(mask: MaskKind, w: Float32Array, rows: number, cols: number, density: number, block: BlockShape | undefined, seed: number): Float32Array {
  if (density >= 1) return w;
  if (mask === 'random') return randomMask(w, density, seed);
  if (mask === 'block') return blockMask(w, rows, cols, block!, density, seed);
  return magnitudeMask(w, density);
}

function buildMatrix(format: string, data: Float32Array, rows: number, cols: number, block?: BlockShape): SparseMatrix {
  return format.startsWith('bsr') ? BsrMatrix.fromDense(data, rows, cols, block!) : CsrMatrix.fromDense(data, rows, cols);
}

function nonzeroDensity(a: Float32Array): number {
  let n = 0;
  for (const v of a) if (v !== 0) n++;
  return n / a.length;
}

/** Largest density where speedup ≥ 1, interpolated in log-density between measured points. */
export function breakEvenDensity(points: Array<[number, number]>): number | null {
  const pts = [...points].sort((a, b) => b[0] - a[0]); // dense → sparse
  for (let i = 0; i < pts.length; i++) {
    const [d, s] = pts[i]!;
    if (s >= 1) {
      if (i === 0) return d;
      const [d0, s0] = pts[i - 1]!;
      const t = Math.log(s0) === Math.log(s) ? 0 : (0 - Math.log(s0)) / (Math.log(s) - Math.log(s0));
      return Math.exp(Math.log(d0) + t * (Math.log(d) - Math.log(d0)));
    }
  }
  return null;
}

const f2 = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

export async function runSparseBench(opts: SparseBenchOptions = {}): Promise<SparseBenchResult> {
  const log = opts.log ?? ((s: string) => console.log(s));
  const quick = !!opts.quick;
  const device = await init({ backend: 'webgpu' });
  const p = plan(quick);
  if (opts.layers?.length) {
    const wanted = opts.layers.map((s) => s.toLowerCase());
    const keep = <T extends { name: string }>(specs: T[]) => specs.filter((l) => wanted.some((w) => l.name.toLowerCase().includes(w)));
    p.linear = keep(p.linear);
    p.conv = keep(p.conv);
    if (!p.linear.length && !p.conv.length) throw new Error(`bench sparse: no layer matches --layers ${opts.layers.join(',')}`);
  }
  const protocol = `${describeProtocol(p.timing, 'queue.onSubmittedWorkDone')}; each sparse variant timed in interleaved rounds with the dense layer, its speedup against that paired dense median (the dense table: the layer timed alone)`;
  log(`sparse benchmark on ${device.adapter} (${device.featureLevel})${quick ? ' [quick]' : ''}; ${protocol}`);
  const rows: SparseRow[] = [];
  const dense: SparseBenchResult['dense'] = [];
  const time = async (work: () => void): Promise<Timing> => (await measure({ work }, { ...p.timing, sync: () => sync() })).results.work;
  // Each sparse format is timed in interleaved rounds with the dense layer, and its speedup taken
  // against that paired dense time: this host switches between two speeds, which a dense time
  // measured once per layer would carry into every ratio.
  const paired = async (dense: () => void, sparse: () => void): Promise<[Timing, Timing]> =>
    (await measureInterleaved([dense, sparse], () => sync(), p.timing)) as [Timing, Timing];
  let seed = 1;
  const table = opts.tuned ? sideBySideTable() : null;
  // A sparse row: its plans recorded on one call, its time paired with dense, optionally rule vs tuned.
  const sparseRow = async (dense: () => void, work: () => void, make: (td: Timing, t: Timing, plans: PlanUse[]) => SparseRow) => {
    const { plans } = await withPlans(work);
    const [tdPair, t] = await paired(dense, work);
    const r = make(tdPair, t, plans);
    if (table) r.ruleVsTuned = await ruleVsTuned(work, table, p.timing, () => sync());
    rows.push(r);
    log(fmtRow(r));
    log(`           plans: ${formatPlans(plans)}`);
    if (r.ruleVsTuned) log(`           ${formatRuleVsTuned(r.ruleVsTuned)}`);
  };

  for (const L of p.linear) {
    const w = benchWeights(L.out, L.inF, seed++, false);
    const wMag = benchWeights(L.out, L.inF, seed++, true);
    const x = tensor(benchWeights(L.batch, L.inF, seed++, false), [L.batch, L.inF]);
    const bias = tensor(benchWeights(1, L.out, seed++, false), [L.out]);
    const W = tensor(w, [L.out, L.inF]);
    const denseWork = () => noGrad(() => linear(x, W, bias).dispose());
    const densePlans = (await withPlans(denseWork)).plans;
    const td = await time(denseWork);
    const flops = 2 * L.out * L.inF * L.batch;
    dense.push({ layer: L.name, ms: td.median * 1e3, gflops: flops / td.median / 1e9, plans: densePlans });
    log(`\n${L.name}: dense ${(td.median * 1e3).toFixed(2)} ms (${(flops / td.median / 1e9).toFixed(2)} GFLOP/s; ${formatPlans(densePlans)})`);
    log('mask       format              density  stored    ms (min–max)           speedup  FLOP-speedup  realization');
    for (const d of L.densities) {
      for (const v of variants(L, d)) {
        const data = maskFor(v.mask, v.mask === 'magnitude' ? wMag : w, L.out, L.inF, d, v.block, seed++);
        const m = buildMatrix(v.format, data, L.out, L.inF, v.block);
        const density = nonzeroDensity(data);
        const sw = sparseTensor(m);
        await sparseRow(denseWork, () => noGrad(() => sparseLinear(x, sw, bias).dispose()), (tdPair, t, plans) => row(L.name, 'linear', v.mask, v.format, density, m, tdPair, t, plans));
        sw.dispose();
      }
    }
    W.dispose();
    x.dispose();
    bias.dispose();
  }

  for (const C of p.conv) {
    const cols = C.c * C.k * C.k;
    const w = benchWeights(C.oc, cols, seed++, false);
    const x = tensor(benchWeights(C.n, C.c * C.hw * C.hw, seed++, false), [C.n, C.c, C.hw, C.hw]);
    const bias = tensor(benchWeights(1, C.oc, seed++, false), [C.oc]);
    const W = tensor(w, [C.oc, C.c, C.k, C.k]);
    const denseWork = () => noGrad(() => conv2d(x, W, bias, { padding: C.pad }).dispose());
    const densePlans = (await withPlans(denseWork)).plans;
    const td = await time(denseWork);
    const oh = C.hw + 2 * C.pad - C.k + 1;
    const flops = 2 * C.n * C.oc * oh * oh * cols;
    dense.push({ layer: C.name, ms: td.median * 1e3, gflops: flops / td.median / 1e9, plans: densePlans });
    log(`\n${C.name}: dense conv ${(td.median * 1e3).toFixed(2)} ms (${(flops / td.median / 1e9).toFixed(2)} GFLOP/s; ${formatPlans(densePlans)})`);
    for (const d of C.densities) {
      const vs: Array<{ mask: MaskKind; format: string; block?: BlockShape }> = [{ mask: 'random', format: 'csr' }];
      if (!quick || d === 1) vs.push({ mask: d === 1 ? 'random' : 'block', format: 'bsr 4x4', block: [4, 4] });
      if (!quick && d < 1) vs.push({ mask: 'magnitude', format: 'csr' });
      for (const v of vs) {
        const data = maskFor(v.mask, w, C.oc, cols, d, v.block, seed++);
        const m = buildMatrix(v.format, data, C.oc, cols, v.block);
        const sw = sparseTensor(m);
        await sparseRow(denseWork, () => noGrad(() => sparseConv2d(x, sw, [C.k, C.k], bias, { padding: C.pad }).dispose()), (tdPair, t, plans) => row(C.name, 'conv', v.mask, v.format, nonzeroDensity(data), m, tdPair, t, plans));
        sw.dispose();
      }
    }
    W.dispose();
    x.dispose();
    bias.dispose();
  }

  // Break-even per (layer, mask, format); the density-1 point of each format is its 'random' row.
  const breakEven: BreakEven[] = [];
  const groups = new Map<string, SparseRow[]>();
  for (const r of rows) {
    if (r.density >= 0.999) continue;
    const key = `${r.layer}\u0000${r.mask}\u0000${r.format}`;
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(r);
  }
  for (const [key, rs] of groups) {
    const [layer, mask, format] = key.split('\u0000') as [string, MaskKind, string];
    const baseFormat = format.replace(/^csr \(.*\)$/, 'csr');
    const full = rows.find((r) => r.layer === layer && r.density >= 0.999 && r.format === baseFormat);
    const pts: Array<[number, number]> = rs.map((r) => [r.density, r.speedup]);
    if (full) pts.push([1, full.speedup]);
    breakEven.push({ layer, mask, format, density: breakEvenDensity(pts) });
  }

  const date = new Date().toISOString().slice(0, 10);
  const markdown = toMarkdown(device, protocol, dense, rows, breakEven);
  const outDir = opts.outDir ?? join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'sparse.svg'), speedupSvg(`Sparse speedup over dense vs density — ${device.adapter}`, panels(rows)));
  writeFileSync(join(outDir, 'sparse.md'), markdown);
  log(`\nwrote ${join(outDir, 'sparse.svg')} and sparse.md`);
  const result: SparseBenchResult = { device, date, protocol, rows, dense, breakEven, markdown };
  if (opts.json) {
    mkdirSync(dirname(opts.json), { recursive: true });
    writeFileSync(opts.json, JSON.stringify({ ...result, markdown: undefined }, null, 2));
    log(`wrote ${opts.json}`);
  }
  log('\nbreak-even densities (format at least as fast as dense at densities ≤ this):');
  for (const b of breakEven) log(`  ${b.layer} | ${b.mask} | ${b.format}: ${b.density === null ? 'never' : b.density.toFixed(3)}`);
  return result;
}

function row(layer: string, op: 'linear' | 'conv', mask: MaskKind, format: string, density: number, m: SparseMatrix, td: Timing, t: Timing, plans: PlanUse[]): SparseRow {
  const speedup = td.median / t.median;
  const flopSpeedup = density > 0 ? 1 / density : Infinity;
  return {
    layer, op, mask, format, density, storedDensity: m.density,
    denseMs: td.median * 1e3, ms: t.median * 1e3, minMs: t.min * 1e3, maxMs: t.max * 1e3,
    speedup, flopSpeedup, realization: speedup / flopSpeedup, plans,
  };
}

function fmtRow(r: SparseRow): string {
  return `${r.mask.padEnd(10)} ${r.format.padEnd(19)} ${r.density.toFixed(3).padStart(7)}  ${r.storedDensity.toFixed(3).padStart(6)}  ${`${r.ms.toFixed(2)} (${r.minMs.toFixed(1)}–${r.maxMs.toFixed(1)})`.padEnd(22)} ${f2(r.speedup).padStart(7)}  ${f2(r.flopSpeedup).padStart(12)}  ${r.realization.toFixed(2).padStart(11)}`;
}

function panels(rows: SparseRow[]): PlotPanel[] {
  const layers = [...new Set(rows.map((r) => r.layer))];
  return layers.map((layer) => {
    const rs = rows.filter((r) => r.layer === layer);
    const series = new Map<string, Array<[number, number]>>();
    for (const r of rs) {
      const label = r.density >= 0.999 ? null : `${r.format} · ${r.mask}`;
      if (!label) continue;
      (series.get(label) ?? series.set(label, []).get(label)!).push([r.density, r.speedup]);
    }
    for (const [label, pts] of series) {
      const base = label.split(' · ')[0]!.replace(/^csr \(.*\)$/, 'csr');
      const full = rs.find((r) => r.density >= 0.999 && r.format === base);
      if (full) pts.push([1, full.speedup]);
    }
    return { title: layer, series: [...series].map(([label, points]) => ({ label, points })) };
  });
}

function toMarkdown(device: DeviceDescription, protocol: string, dense: SparseBenchResult['dense'], rows: SparseRow[], be: BreakEven[]): string {
  const out: string[] = [];
  out.push(`Device: ${device.adapter} (${device.featureLevel}). Protocol: ${protocol}. FLOPs: multiply-add = 2.`);
  out.push('');
  out.push('| layer | dense ms | dense GFLOP/s |', '|---|---:|---:|');
  for (const d of dense) out.push(`| ${d.layer} | ${d.ms.toFixed(2)} | ${d.gflops.toFixed(2)} |`);
  for (const layer of [...new Set(rows.map((r) => r.layer))]) {
    const side = rows.some((x) => x.ruleVsTuned);
    out.push('', `#### ${layer}`, '', `| mask | format | density | stored | ms (min–max) | speedup | FLOP speedup | realization | plans |${side ? ' rule / tuned |' : ''}`, `|---|---|---:|---:|---:|---:|---:|---:|---|${side ? '---:|' : ''}`);
    for (const r of rows.filter((x) => x.layer === layer)) {
      out.push(`| ${r.mask} | ${r.format} | ${r.density.toFixed(3)} | ${r.storedDensity.toFixed(3)} | ${r.ms.toFixed(2)} (${r.minMs.toFixed(1)}–${r.maxMs.toFixed(1)}) | ${f2(r.speedup)} | ${f2(r.flopSpeedup)} | ${r.realization.toFixed(2)} | ${formatPlans(r.plans)} |${side ? ` ${r.ruleVsTuned ? `${r.ruleVsTuned.ratio.toFixed(2)}×` : '—'} |` : ''}`);
    }
  }
  out.push('', '#### Break-even densities', '', '| layer | mask | format | break-even density |', '|---|---|---|---:|');
  for (const b of be) out.push(`| ${b.layer} | ${b.mask} | ${b.format} | ${b.density === null ? 'never' : b.density.toFixed(3)} |`);
  return out.join('\n') + '\n';
}
