/**
 * The page's results.json: the schema of `wgprune study` (study/results.schema.json), so
 * `wgprune report results.json --compare node-results.json` sets this browser's GPU next to a
 * Node run. The pruned-model runs are the study's runs; the density sweep and the peers, which
 * the schema has no place for, are summarised in its notes (the page's own JSON, from its second
 * download button, keeps every figure).
 */
import { describeProtocol, type DeviceDescription, type ModelProfile, type nn, type Protocol, type ProtocolOptions } from '../index.js';
import { RESULTS_SCHEMA_ID, type StudyResults, type StudyRun } from '../study/results.js';
import { resultsErrors } from '../study/validate.js';
import pkg from '../package.json' with { type: 'json' };
import { BSR_BLOCK, type ModelPlan } from './lenet.js';
import { RUNTIME_NAMES, type PeerCase } from './peers/index.js';
import type { SweepRow } from './sweep.js';

export interface ResultsInput {
  startedAt: Date;
  finishedAt: Date;
  complete: boolean;
  stopReason: string | null;
  device: DeviceDescription;
  protocol: ProtocolOptions;
  /** The protocol as run by the model's timing (null when it never ran). */
  ran: Protocol | null;
  plan: ModelPlan;
  spec: nn.ModelSpec;
  source: string;
  baseline: ModelProfile;
  runs: StudyRun[];
  sweep: SweepRow[];
  peers: PeerCase[];
  versions: Record<string, string>;
  notes: string[];
}

const f2 = (v: number) => (v >= 10 ? v.toFixed(1) : v.toFixed(2));

export function sweepNotes(rows: SweepRow[]): string[] {
  const layers = [...new Set(rows.map((r) => r.layer))];
  return layers.map((layer) => {
    const rs = rows.filter((r) => r.layer === layer);
    const dense = rs[0]!;
    const parts = rs.map((r) => `${r.format} @ ${r.density.toFixed(3)}: ${f2(r.speedup)}× (FLOP× ${f2(r.flopSpeedup)})`);
    return `Density sweep, ${layer}: dense ${(dense.dense.median * 1e3).toFixed(2)} ms (${(dense.flops / dense.dense.median / 1e9).toFixed(2)} GFLOP/s); speedup over dense from the same rounds: ${parts.join('; ')}.`;
  });
}

export function peerNotes(cases: PeerCase[]): string[] {
  return cases.map((c) => {
    const parts = c.rows.map((r) => {
      const name = RUNTIME_NAMES[r.runtime];
      if (!r.time) return `${name}: ${r.status}${r.reason ? ` (${r.reason})` : ''}`;
      const gf = r.gflops !== null ? `, ${r.gflops.toFixed(2)} GFLOP/s` : '';
      return `${name} ${(r.time.median * 1e3).toFixed(2)} ms${gf}${r.runtime === 'wgprune' ? '' : `, ours ${f2(r.oursFaster!)}× as fast`}`;
    });
    return `Peers, ${c.name}: ${parts.join('; ')}.`;
  });
}

export function buildResults(i: ResultsInput): { results: StudyResults; errors: string[] } {
  const protocol: Protocol = i.ran ?? {
    ...i.protocol, minSampleS: i.protocol.minSampleS ?? 0, interleaved: true, sync: 'the engine\'s sync() (WebGPU: queue.onSubmittedWorkDone())',
    description: describeProtocol(i.protocol),
  } as Protocol;
  const results: StudyResults = {
    schema: RESULTS_SCHEMA_ID,
    complete: i.complete,
    stopReason: i.stopReason,
    command: `wgprune browser page ${location.href}`,
    startedAt: i.startedAt.toISOString(),
    finishedAt: i.finishedAt.toISOString(),
    durationS: (i.finishedAt.getTime() - i.startedAt.getTime()) / 1000,
    versions: { wgprune: pkg.version, browser: navigator.userAgent, ...i.versions },
    device: i.device,
    protocol: { ...protocol, description: `${protocol.description}; at each batch size the dense model and every format of a run are timed in the same rounds; speedup = dense median / format median` },
    config: {
      model: i.spec.name, checkpoint: i.source, data: 'synthetic', methods: i.plan.methods, sparsities: i.plan.sparsities, formats: i.plan.formats,
      batches: i.plan.batches, seeds: [0], trainEpochs: 0, trainLimit: null, testLimit: null, batchSize: Math.max(...i.plan.batches),
      optimizer: 'sgd', lr: 0.01, momentum: 0.9, weightDecay: 0, bsrBlock: BSR_BLOCK,
      protocol: { warmup: i.protocol.warmup, reps: i.protocol.reps, minReps: i.protocol.minReps, budgetS: i.protocol.budgetS, minSampleS: i.protocol.minSampleS ?? 0 },
      layerTimes: false, preset: null, backend: 'webgpu',
    },
    model: { name: i.spec.name, inputShape: [...i.spec.inputShape], dataset: i.spec.dataset, timingOnly: true, source: i.source },
    baseline: { accuracy: null, profile: i.baseline },
    runs: i.runs,
    notes: [
      `Run in a web browser (${navigator.userAgent}) on its WebGPU adapter. Seeded random inputs of the model's shape: timing and output checks only; no accuracy is measured and nothing is fine-tuned (L1 pruning, one shot).`,
      ...i.notes, ...sweepNotes(i.sweep), ...peerNotes(i.peers),
    ],
  };
  // JSON round trip: what is written is what is checked.
  const plain = JSON.parse(JSON.stringify(results)) as StudyResults;
  return { results: plain, errors: resultsErrors(plain) };
}
