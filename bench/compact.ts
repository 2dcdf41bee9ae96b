/**
 * `wgprune bench compact`: what structured compaction buys on this device.
 *
 * For LeNet-5, the two-conv MNIST CNN (mnist-cnn2) and the Conv-4 CIFAR CNN
 * (synthetic CIFAR-shaped inputs: no CIFAR-10 is reachable offline), at 25/50/75%
 * filter sparsity with the L1 and L2 filter norm (pruning/'s `prune`, local scope,
 * head excluded, bias and following BatchNorm masked with the filter):
 *   - latency at batch 1 and batch 256 of the dense, masked and compacted model
 *     (measure/timing.ts: warm-up, then timed repetitions each ending in a device sync;
 *     median, min–max);
 *   - measured speedup dense/compacted and dense/masked, FLOP speedup
 *     (dense FLOPs / compacted FLOPs; multiply-add = 2 FLOPs, Conv2d/Linear only,
 *     measure/profile.ts) and realization ratio = measured / FLOP speedup;
 *   - parameters, non-zero parameters and checkpoint bytes (safetensors via
 *     nn/checkpoint.ts) of the dense, masked and compacted models;
 *   - MNIST models: test accuracy of the trained baseline, of the compacted model
 *     right after pruning and after a short fine-tune (fine-tuning the compacted
 *     model is the masked model's fine-tune: the removed filters are exactly the
 *     ones whose weights the masks hold at zero); plus the seed's configuration,
 *     mnist-cnn2 pruned to 6 and 2 filters (6,130 → 3,052 parameters).
 * The masked and compacted outputs are checked against each other on every run.
 * With `fuse`, the dense and the compacted models are also timed after nn/fuse.ts's
 * fuseForInference (BatchNorm folded into the conv before it, ReLU in the conv / matmul
 * epilogue, a max pooling into the conv before it) — both fused, so their speedup and realization compare like for like — and
 * each fused model's output is checked against its unfused source.
 *
 * Training on llvmpipe is slow: epochs, subsets and batch sizes are options;
 * `quick` is a small sanity run (subsets, one sparsity, small CIFAR batch).
 */
import { writeFileSync } from 'node:fs';
import type { TuningTable } from '../gpu/profile.js';
import { Adam, createModel, evaluate, fuseForInference, loadMnist, MODELS, type MnistDataset, type Module, trainEpoch } from '../nn/node.js';
import { type DeviceDescription, Generator, init, noGrad, sync, tensor, tidy, type Tensor } from '../engine/internal.js';
import { compactWithPlan, prune } from '../pruning/index.js';
import { layerTimes, type LayerTimes } from './layer-times.js';
import { formatPlans, type PlanUse, withPlans } from '../measure/plans.js';
import { formatRuleVsTuned, ruleVsTuned, type RuleVsTuned, sideBySideTable } from './plans.js';
import { DEFAULT_PROTOCOL, describeProtocol, measureInterleaved, type Measurement, type ModelProfile, profile, type ProtocolOptions } from '../measure/index.js';

export interface CompactBenchOptions {
  /** Write the full report as JSON here. */
  json?: string;
  /** Small sanity run. */
  quick?: boolean;
  models?: string[];
  sparsities?: number[];
  criteria?: Array<'l1' | 'l2'>;
  /** Batch sizes timed for the MNIST models (default [1, 256]). */
  batches?: number[];
  /** Batch sizes timed for conv4 (default [1, 256]; quick: [1, 4]). */
  cifarBatches?: number[];
  /** MNIST training subset for the baseline and fine-tuning (default: all 60,000). */
  trainLimit?: number;
  /** MNIST test subset (default: all 10,000). */
  testLimit?: number;
  epochs?: number;
  finetuneEpochs?: number;
  lr?: number;
  finetuneLr?: number;
  batchSize?: number;
  /** conv4: masked latency only for the first criterion (same dense work for every criterion); default true. */
  maskedOnce?: boolean;
  /** Time the masked models at all (default true; false for a compacted-only run at large batch). */
  timeMasked?: boolean;
  /** Also time every layer of the dense and compacted models at the largest batch (bench/layer-times.ts). */
  layerTimes?: boolean;
  /** Also time the dense and compacted models after fuseForInference (nn/fuse.ts); default false. */
  fuse?: boolean;
  /** Also time the dense and compacted models with the profile's rule plans and with tuned plans, side by side. */
  tuned?: boolean;
  protocol?: Partial<ProtocolOptions>;
  seed?: number;
  log?: (line: string) => void;
}

export interface Timed {
  batch: number;
  dense: Measurement;
  masked: Measurement | null;
  compacted: Measurement;
  /** dense / compacted (medians). */
  speedup: number;
  /** dense / masked (medians). */
  maskedSpeedup: number | null;
  /** speedup / FLOP speedup. */
  realization: number;
  /** With `fuse`: both models after fuseForInference. */
  fused?: FusedTimed;
  /** The kernel plans behind each model's figure, in the order timed (dense, compacted, masked, fused dense, fused compacted). */
  plans: PlanUse[][];
  /** With `tuned`: the dense and the compacted model timed with the rule's plans and with tuned plans in the same rounds. */
  ruleVsTuned?: { dense: RuleVsTuned; compacted: RuleVsTuned };
}

export interface FusedTimed {
  dense: Measurement;
  compacted: Measurement;
  /** fused dense / fused compacted (medians). */
  speedup: number;
  /** speedup / FLOP speedup (fusion leaves the Conv2d/Linear FLOPs as they are). */
  realization: number;
  /** unfused / fused medians: what fusion alone buys each model. */
  denseGain: number;
  compactedGain: number;
}

export interface CompactRow {
  model: string;
  criterion: string;
  sparsity: number;
  /** Output counts of the Conv2d/Linear layers after compaction. */
  widths: number[];
  params: { dense: number; compacted: number; nonzeroMasked: number };
  flops: { dense: number; masked: number; effectiveMasked: number; compacted: number; speedup: number };
  checkpointBytes: { dense: number; masked: number; compacted: number };
  /** max |masked − compacted| / max |masked| on a probe batch. */
  outputError: number;
  latency: Timed[];
  accuracy?: { baseline: number; pruned: number; finetuned: number };
  /** With `layerTimes`: ms per module type, dense and compacted, at the largest batch (and both fused, with `fuse`). */
  layerTimes?: { batch: number; dense: LayerTimes; compacted: LayerTimes; fused?: { dense: LayerTimes; compacted: LayerTimes } };
  /** With `fuse`: max |fused − unfused| / max |unfused| on a probe batch, dense and compacted. */
  fusedOutputError?: { dense: number; compacted: number };
}

export interface CompactReport {
  date: string;
  device: DeviceDescription;
  protocol: string;
  notes: string[];
  config: Record<string, unknown>;
  rows: CompactRow[];
  /** mnist-cnn2 at 6 and 2 filters (the seed's pruned model). */
  seed?: { paramsBefore: number; paramsAfter: number; baseline: number; pruned: number; finetuned: number };
  markdown: string;
}

interface Mnist {
  train: MnistDataset;
  test: MnistDataset;
}

function randomInput(shape: number[], seed: number): Float32Array {
  const g = new Generator(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => g.normal());
}

/**
 * Eval-mode forward latency of each model on one random batch, timed in interleaved rounds
 * (measure/timing.ts measureInterleaved), so that the models compared as a ratio see the
 * same machine state.
 */
async function latencies(models: Module[], inputShape: readonly number[], batch: number, protocol: ProtocolOptions, table: TuningTable | null): Promise<{ times: Measurement[]; plans: PlanUse[][]; sideBySide: RuleVsTuned[] }> {
  for (const m of models) m.eval();
  const x = tensor(randomInput([batch, ...inputShape], batch), [batch, ...inputShape]);
  try {
    const works = models.map((m) => () => noGrad(() => tidy(() => void m.forward(x))));
    const plans: PlanUse[][] = [];
    for (const w of works) plans.push((await withPlans(w)).plans);
    const times = await measureInterleaved(works, () => sync(), protocol);
    // Side by side: the dense and the compacted model (the first two), each rule vs tuned.
    const sideBySide = table ? [await ruleVsTuned(works[0]!, table, protocol, () => sync()), await ruleVsTuned(works[1]!, table, protocol, () => sync())] : [];
    return { times, plans, sideBySide };
  } finally {
    x.dispose();
  }
}

async function outputError(a: Module, b: Module, inputShape: readonly number[]): Promise<number> {
  a.eval();
  b.eval();
  const x = tensor(randomInput([2, ...inputShape], 99), [2, ...inputShape]);
  const [ya, yb] = noGrad(() => [a.forward(x), b.forward(x)] as [Tensor, Tensor]);
  const [va, vb] = await Promise.all([ya.toArray(), yb.toArray()]);
  for (const t of [x, ya, yb]) t.dispose();
  let scale = 0, worst = 0;
  for (let i = 0; i < va.length; i++) {
    scale = Math.max(scale, Math.abs(va[i]!));
    worst = Math.max(worst, Math.abs(va[i]! - vb[i]!));
  }
  return scale > 0 ? worst / scale : worst;
}

async function train(model: Module, data: Mnist, epochs: number, lr: number, batchSize: number, seed: number): Promise<number> {
  const opt = new Adam(model.parameters(), { lr });
  const generator = new Generator(seed);
  for (let e = 1; e <= epochs; e++) await trainEpoch(model, data.train, opt, { batchSize, generator, epoch: e });
  return (await evaluate(model, data.test)).accuracy;
}

function copyOf(name: string, src: Module, seed: number): Module {
  const m = createModel(name, { seed });
  m.loadStateDict(src.stateDict());
  return m;
}

const ms = (m: Measurement) => `${(m.median * 1000).toFixed(1)}`;
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

function toMarkdown(r: Omit<CompactReport, 'markdown'>): string {
  const out: string[] = [];
  const models = [...new Set(r.rows.map((x) => x.model))];
  for (const model of models) {
    const rows = r.rows.filter((x) => x.model === model);
    const batches = rows[0]!.latency.map((t) => t.batch);
    out.push(`#### ${model}${MODELS.get(model)?.dataset === 'cifar10' ? ' (synthetic CIFAR-shaped inputs)' : ''}`, '');
    const dense0 = rows[0]!;
    out.push(`Dense: ${dense0.params.dense.toLocaleString('en-US')} parameters, ${(dense0.flops.dense / 1e6).toFixed(2)} MFLOPs/sample, checkpoint ${dense0.checkpointBytes.dense.toLocaleString('en-US')} B; ` +
      batches.map((b, i) => `batch ${b}: ${ms(dense0.latency[i]!.dense)} ms`).join(', ') + '.', '');
    const head = ['criterion', 'sparsity', 'widths', 'params', 'FLOP speedup', ...batches.flatMap((b) => [`masked ms (b${b})`, `compacted ms (b${b})`, `speedup (b${b})`, `realization (b${b})`]), 'ckpt B masked / compacted', 'max rel. Δ'];
    if (rows[0]!.accuracy) head.push('acc. pruned → fine-tuned (baseline)');
    out.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
    for (const x of rows) {
      const cells = [x.criterion, pct(x.sparsity), x.widths.join('-'), x.params.compacted.toLocaleString('en-US'), `${x.flops.speedup.toFixed(2)}×`];
      for (const t of x.latency) {
        cells.push(t.masked ? `${ms(t.masked)} (${t.maskedSpeedup!.toFixed(2)}×)` : '—', ms(t.compacted), `${t.speedup.toFixed(2)}×`, t.realization.toFixed(2));
      }
      cells.push(`${x.checkpointBytes.masked.toLocaleString('en-US')} / ${x.checkpointBytes.compacted.toLocaleString('en-US')}`, x.outputError.toExponential(1));
      if (x.accuracy) cells.push(`${pct(x.accuracy.pruned)} → ${pct(x.accuracy.finetuned)} (${pct(x.accuracy.baseline)})`);
      out.push(`| ${cells.join(' | ')} |`);
    }
    out.push('');
    if (rows[0]!.latency[0]!.fused) {
      out.push('Fused for inference (nn/fuse.ts fuseForInference on both models: BatchNorm folded into the conv, ReLU in the conv / matmul epilogue, max pooling in the conv before it); ' +
        'gain = unfused / fused time of the same model:', '');
      out.push(`Dense fused: ${batches.map((b, i) => { const f = dense0.latency[i]!.fused!; return `batch ${b}: ${ms(f.dense)} ms (gain ${f.denseGain.toFixed(2)}×)`; }).join(', ')}.`, '');
      const fhead = ['criterion', 'sparsity', 'FLOP speedup', ...batches.flatMap((b) => [`compacted fused ms (b${b})`, `gain (b${b})`, `fused speedup (b${b})`, `fused realization (b${b})`, `unfused realization (b${b})`]), 'max rel. Δ fused (dense / compacted)'];
      out.push(`| ${fhead.join(' | ')} |`, `|${fhead.map(() => '---').join('|')}|`);
      for (const x of rows) {
        const cells = [x.criterion, pct(x.sparsity), `${x.flops.speedup.toFixed(2)}×`];
        for (const t of x.latency) cells.push(ms(t.fused!.compacted), `${t.fused!.compactedGain.toFixed(2)}×`, `${t.fused!.speedup.toFixed(2)}×`, t.fused!.realization.toFixed(2), t.realization.toFixed(2));
        cells.push(x.fusedOutputError ? `${x.fusedOutputError.dense.toExponential(1)} / ${x.fusedOutputError.compacted.toExponential(1)}` : '—');
        out.push(`| ${cells.join(' | ')} |`);
      }
      out.push('');
    }
    const timed = rows.filter((x) => x.layerTimes);
    if (timed.length) {
      const all = (x: CompactRow) => [x.layerTimes!.dense, x.layerTimes!.compacted, ...(x.layerTimes!.fused ? [x.layerTimes!.fused.dense, x.layerTimes!.fused.compacted] : [])];
      const types = [...new Set(timed.flatMap((x) => all(x).flatMap((t) => Object.keys(t))))];
      const total = (t: LayerTimes) => Object.values(t).reduce((a, b) => a + b, 0);
      out.push(`Time per layer type at batch ${timed[0]!.layerTimes!.batch} (ms, each layer timed alone; bench/layer-times.ts):`, '');
      out.push(`| model | ${types.join(' | ')} | sum |`, `|---|${types.map(() => '---:').join('|')}|---:|`);
      const line = (label: string, t: LayerTimes) => `| ${label} | ${types.map((k) => (t[k] ?? 0).toFixed(1)).join(' | ')} | ${total(t).toFixed(1)} |`;
      out.push(line('dense', timed[0]!.layerTimes!.dense));
      for (const x of timed) out.push(line(`compacted ${x.criterion} ${pct(x.sparsity)}`, x.layerTimes!.compacted));
      const fused = timed.filter((x) => x.layerTimes!.fused);
      if (fused.length) {
        out.push(line('dense fused', fused[0]!.layerTimes!.fused!.dense));
        for (const x of fused) out.push(line(`compacted ${x.criterion} ${pct(x.sparsity)} fused`, x.layerTimes!.fused!.compacted));
      }
      out.push('');
    }
  }
  if (r.seed) {
    out.push(`Seed configuration (mnist-cnn2 → 6 and 2 filters, L1): ${r.seed.paramsBefore.toLocaleString('en-US')} → ${r.seed.paramsAfter.toLocaleString('en-US')} parameters; ` +
      `accuracy ${pct(r.seed.baseline)} (baseline) → ${pct(r.seed.pruned)} (pruned) → ${pct(r.seed.finetuned)} (fine-tuned).`, '');
  }
  return out.join('\n');
}

export async function runCompactBench(opts: CompactBenchOptions = {}): Promise<CompactReport> {
  const quick = opts.quick ?? false;
  const log = opts.log ?? ((s: string) => console.log(s));
  const seed = opts.seed ?? 0;
  const models = opts.models ?? ['lenet5', 'mnist-cnn2', 'conv4'];
  const sparsities = opts.sparsities ?? (quick ? [0.5] : [0.25, 0.5, 0.75]);
  const criteria = opts.criteria ?? (quick ? ['l1'] : ['l1', 'l2']);
  const batches = opts.batches ?? (quick ? [1, 64] : [1, 256]);
  const cifarBatches = opts.cifarBatches ?? (quick ? [1, 4] : [1, 256]);
  const trainLimit = opts.trainLimit ?? (quick ? 1000 : undefined);
  const testLimit = opts.testLimit ?? (quick ? 500 : undefined);
  const epochs = opts.epochs ?? (quick ? 1 : 3);
  const finetuneEpochs = opts.finetuneEpochs ?? 1;
  const lr = opts.lr ?? 2e-3;
  const finetuneLr = opts.finetuneLr ?? 1e-3;
  const batchSize = opts.batchSize ?? 64;
  const maskedOnce = opts.maskedOnce ?? true;
  const fuse = opts.fuse ?? false;
  // Repetitions of at least 0.5 s for every model: the dense conv4 forward alone lasts 1.2-1.5 s at
  // batch 256, and this host's slow spells (20-30 % slower for a few hundred ms) must reach the
  // dense and the compacted models' repetitions alike (measure/timing.ts minSampleS).
  const protocol: ProtocolOptions = { ...DEFAULT_PROTOCOL, minSampleS: 0.5, ...(quick ? { warmup: 1, reps: 3, budgetS: 2, minSampleS: 0 } : {}), ...opts.protocol };

  const device = await init({ backend: 'webgpu' });
  log(`device: ${device.adapter} (${device.featureLevel})`);
  const table = opts.tuned ? sideBySideTable() : null;
  const config = { models, sparsities, criteria, batches, cifarBatches, trainLimit: trainLimit ?? 60000, testLimit: testLimit ?? 10000, epochs, finetuneEpochs, lr, finetuneLr, batchSize, optimizer: 'Adam', seed, quick, fuse, protocol };
  const notes = [
    'FLOPs: multiply-add = 2 FLOPs, Conv2d and Linear layers only, per sample (measure/profile.ts).',
    'Speedup = dense median / compacted median at the same batch; realization = speedup / FLOP speedup (FLOP speedup = dense FLOPs / compacted FLOPs).',
    'Each row\'s models (dense, compacted, masked where timed, fused dense and fused compacted) are timed in interleaved rounds, one repetition each per round, so their ratios see the same machine state (measure/timing.ts measureInterleaved); a repetition repeats the forward (each with its sync) until it lasts at least 0.5 s and reports the time per forward, so that short and long models average over the host\'s slow spells alike.',
    'Masked = filters zeroed through weight_orig × weight_mask (pruning/), same dense shapes; its speedup is dense / masked.',
    'conv4 runs on synthetic CIFAR-shaped inputs (no CIFAR-10 offline): latency only, no accuracy.',
    'Filter pruning excludes the output head (pruning/ default); widths list every Conv2d/Linear output count after compaction.',
    ...(fuse ? ['Fused = fuseForInference (nn/fuse.ts) applied to the dense and to the compacted model (eval mode): BatchNorm folded into the preceding conv/linear, ReLU in its kernel epilogue, a max pooling into the conv before it; fused speedup = fused dense / fused compacted, same FLOP speedup.'] : []),
  ];
  let mnist: Mnist | null = null;
  const rows: CompactRow[] = [];
  let seedRow: CompactReport['seed'];

  for (const name of models) {
    const spec = MODELS.get(name);
    if (!spec) throw new Error(`bench compact: unknown model '${name}'`);
    const isMnist = spec.dataset === 'mnist';
    const bs = isMnist ? batches : cifarBatches;
    const dense = createModel(name, { seed });
    let baseline = NaN;
    if (isMnist) {
      mnist ??= { train: await loadMnist('train', { limit: trainLimit }), test: await loadMnist('test', { limit: testLimit }) };
      log(`${name}: training the baseline (${epochs} epoch(s) on ${mnist.train.n} samples)`);
      baseline = await train(dense, mnist, epochs, lr, batchSize, seed);
      log(`${name}: baseline accuracy ${pct(baseline)}`);
    }
    const denseAcc = await profile(dense, spec.inputShape);
    const bigBatch = Math.max(...bs);
    const probe = randomInput([bigBatch, ...spec.inputShape], 5);
    const denseLayers = opts.layerTimes ? await layerTimes(dense, probe, [bigBatch, ...spec.inputShape], protocol) : null;
    // Fused for inference: the trained dense model in eval mode, fused once.
    const denseFused = fuse ? fuseForInference(dense.eval()) : null;
    const denseFusedError = denseFused ? await outputError(dense, denseFused, spec.inputShape) : NaN;
    const denseFusedLayers = denseFused && opts.layerTimes ? await layerTimes(denseFused, probe, [bigBatch, ...spec.inputShape], protocol) : null;
    if (denseFused) log(`${name}: fused for inference, max rel. Δ vs unfused ${denseFusedError.toExponential(1)}`);
    for (const sparsity of sparsities) {
      const maskedLat = new Map<number, Measurement>();
      for (const criterion of criteria) {
        const masked = copyOf(name, dense, seed);
        await prune(masked, { granularity: 'filter', criterion, sparsity });
        const maskedAcc: ModelProfile = await profile(masked, spec.inputShape);
        const { model: small, plan } = await compactWithPlan(masked, { inputShape: spec.inputShape });
        const smallAcc = await profile(small, spec.inputShape);
        const err = await outputError(masked, small, spec.inputShape);
        const flopSpeedup = denseAcc.totals.flops / smallAcc.totals.flops;
        const smallFused = fuse ? fuseForInference(small.eval()) : null;
        const smallFusedError = smallFused ? await outputError(small, smallFused, spec.inputShape) : NaN;
        const timed: Timed[] = [];
        for (const b of bs) {
          const measureMasked = (opts.timeMasked ?? true) && (!maskedOnce || isMnist || criterion === criteria[0]);
          // Every model of this row timed in the same rounds: dense, compacted, masked, fused dense, fused compacted.
          const set = [dense, small, ...(measureMasked ? [masked] : []), ...(smallFused ? [denseFused!, smallFused] : [])];
          const { times, plans, sideBySide } = await latencies(set, spec.inputShape, b, protocol, table);
          const [d, c] = times as [Measurement, Measurement];
          if (measureMasked) maskedLat.set(b, times[2]!);
          const m = maskedLat.get(b) ?? null;
          const speedup = d.median / c.median;
          const t: Timed = { batch: b, dense: d, masked: m, compacted: c, speedup, maskedSpeedup: m ? d.median / m.median : null, realization: speedup / flopSpeedup, plans };
          log(`${name} ${criterion} ${pct(sparsity)} batch ${b}: masked ${m ? ms(m) : '—'} ms, compacted ${ms(c)} ms, speedup ${speedup.toFixed(2)}× vs FLOPs ${flopSpeedup.toFixed(2)}×`);
          log(`  plans: dense ${formatPlans(plans[0]!)}; compacted ${formatPlans(plans[1]!)}`);
          if (sideBySide.length) {
            t.ruleVsTuned = { dense: sideBySide[0]!, compacted: sideBySide[1]! };
            log(`  dense ${formatRuleVsTuned(sideBySide[0]!)}`);
            log(`  compacted ${formatRuleVsTuned(sideBySide[1]!)}`);
          }
          if (smallFused) {
            const [fd, fc] = times.slice(-2) as [Measurement, Measurement];
            const fs = fd.median / fc.median;
            t.fused = { dense: fd, compacted: fc, speedup: fs, realization: fs / flopSpeedup, denseGain: d.median / fd.median, compactedGain: c.median / fc.median };
            log(`${name} ${criterion} ${pct(sparsity)} batch ${b} fused: dense ${ms(fd)} ms, compacted ${ms(fc)} ms, speedup ${fs.toFixed(2)}× (realization ${t.fused.realization.toFixed(2)}, unfused ${t.realization.toFixed(2)})`);
          }
          timed.push(t);
        }
        const row: CompactRow = {
          model: name, criterion, sparsity,
          widths: plan.layers.filter((l) => l.type === 'Conv2d' || l.type === 'Linear').map((l) => l.outAfter),
          params: { dense: denseAcc.totals.params, compacted: smallAcc.totals.params, nonzeroMasked: maskedAcc.totals.nonzeroParams },
          flops: { dense: denseAcc.totals.flops, masked: maskedAcc.totals.flops, effectiveMasked: maskedAcc.totals.effectiveFlops, compacted: smallAcc.totals.flops, speedup: flopSpeedup },
          checkpointBytes: { dense: denseAcc.totals.checkpointBytes, masked: maskedAcc.totals.checkpointBytes, compacted: smallAcc.totals.checkpointBytes },
          outputError: err, latency: timed,
          ...(denseLayers ? {
            layerTimes: {
              batch: bigBatch, dense: denseLayers, compacted: await layerTimes(small, probe, [bigBatch, ...spec.inputShape], protocol),
              ...(denseFusedLayers && smallFused ? { fused: { dense: denseFusedLayers, compacted: await layerTimes(smallFused, probe, [bigBatch, ...spec.inputShape], protocol) } } : {}),
            },
          } : {}),
          ...(smallFused ? { fusedOutputError: { dense: denseFusedError, compacted: smallFusedError } } : {}),
        };
        if (isMnist && mnist) {
          const pruned = (await evaluate(small, mnist.test)).accuracy;
          const finetuned = await train(small, mnist, finetuneEpochs, finetuneLr, batchSize, seed + 1);
          row.accuracy = { baseline, pruned, finetuned };
          log(`${name} ${criterion} ${pct(sparsity)}: accuracy ${pct(pruned)} → ${pct(finetuned)} after fine-tuning (baseline ${pct(baseline)})`);
        }
        rows.push(row);
        masked.dispose();
        small.dispose();
        smallFused?.dispose();
      }
    }
    if (name === 'mnist-cnn2' && mnist) {
      const masked = copyOf(name, dense, seed);
      await prune(masked, { granularity: 'filter', criterion: 'l1', sparsity: 0, perLayer: { 'features.0': 0.25, 'features.2': 0.5 } });
      const small = (await compactWithPlan(masked)).model;
      const pruned = (await evaluate(small, mnist.test)).accuracy;
      const finetuned = await train(small, mnist, finetuneEpochs, finetuneLr, batchSize, seed + 2);
      seedRow = { paramsBefore: denseAcc.totals.params, paramsAfter: small.parameters().reduce((a, p) => a + p.size, 0), baseline, pruned, finetuned };
      log(`mnist-cnn2 seed configuration: ${seedRow.paramsBefore} → ${seedRow.paramsAfter} parameters, accuracy ${pct(baseline)} → ${pct(finetuned)}`);
      masked.dispose();
      small.dispose();
    }
    dense.dispose();
    denseFused?.dispose();
  }
  const base = { date: new Date().toISOString(), device, protocol: describeProtocol(protocol, 'backend.sync(): queue.onSubmittedWorkDone()'), notes, config, rows, seed: seedRow };
  const report: CompactReport = { ...base, markdown: toMarkdown(base) };
  if (opts.json) writeFileSync(opts.json, JSON.stringify(report, null, 2));
  log(report.markdown);
  return report;
}
