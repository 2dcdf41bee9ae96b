/**
 * The pruned model on this GPU, run like one `wgprune study` run per method: copy the dense
 * model, prune it (L1, one shot, no fine-tuning), build its execution formats (study/formats.ts:
 * masked, CSR, BSR, compacted), check that each one's outputs equal the pruned dense model's
 * within 1e-4 (relative to the largest output), and time dense and every format in the same
 * interleaved rounds at each batch size. The figures are kept as the study's results runs
 * (study/results.ts), so the page's results.json reads like a Node study's.
 */
import { Generator, measure, type Measurement, type ModelProfile, nn, noGrad, profile, type Protocol, type ProtocolOptions, pruning, tensor, tidy } from '../index.js';
import { buildFormats, OUTPUT_TOLERANCE, probeInput } from '../study/formats.js';
import type { Format, FormatResult, StudyMethod, StudyRun } from '../study/results.js';

export const BSR_BLOCK: [number, number] = [4, 4];

export interface ModelPlan {
  methods: StudyMethod[];
  sparsities: number[];
  formats: Format[];
  batches: number[];
}

const method = (granularity: string): StudyMethod => ({ label: `l1 ${granularity}`, criterion: 'l1', granularity, scope: 'local', schedule: 'oneshot', rounds: 1, finetuneEpochs: 0 });

export function modelPlan(quick: boolean): ModelPlan {
  return {
    methods: [method('weight'), method('filter')],
    sparsities: quick ? [0.5] : [0.5, 0.9],
    formats: ['dense', 'masked', 'csr', 'bsr', 'compacted'],
    batches: quick ? [2] : [1, 64],
  };
}

/** One format's output check: max |y − y_masked| / max |y_masked| on a probe batch. */
export interface OutputCheck {
  run: string;
  format: Format;
  error: number | null;
  ok: boolean;
  status: string;
}

export interface ModelHooks {
  protocol: ProtocolOptions;
  onStep: (text: string) => void;
  onRun: (run: StudyRun, checks: OutputCheck[]) => void;
}

function copyOf(spec: nn.ModelSpec, dense: nn.Module): nn.Module {
  const m = nn.createModel(spec.name);
  m.loadStateDict(dense.stateDict());
  return m;
}

function formatBytes(f: Format, dense: ModelProfile, masked: ModelProfile, compacted: ModelProfile | null): number {
  if (f === 'dense') return dense.totals.denseBytes;
  if (f === 'masked') return masked.totals.denseBytes + (masked.totals.bufferBytes - dense.totals.bufferBytes);
  if (f === 'csr') return masked.totals.csrBytes;
  if (f === 'bsr') return masked.totals.bsrBytes;
  return compacted ? compacted.totals.denseBytes : 0;
}

/** Runs every method × sparsity on `dense`; returns the runs (seed 0) and each format's output check. */
export async function runModel(dense: nn.Module, spec: nn.ModelSpec, plan: ModelPlan, hooks: ModelHooks): Promise<{ baseline: ModelProfile; runs: StudyRun[]; checks: OutputCheck[]; protocol: Protocol | null }> {
  const inputShape = [...spec.inputShape];
  dense.eval();
  const baseline = await profile(dense, inputShape, { bsrBlock: BSR_BLOCK });
  const runs: StudyRun[] = [];
  const checks: OutputCheck[] = [];
  let protocol: Protocol | null = null;
  for (const m of plan.methods) {
    for (const sparsity of plan.sparsities) {
      const id = `${m.label} @ ${sparsity} seed 0`;
      hooks.onStep(`${spec.name}: ${id}: prune, convert and check`);
      const t0 = performance.now();
      const masked = copyOf(spec, dense);
      const built: Awaited<ReturnType<typeof buildFormats>> = [];
      try {
        const result = await pruning.prune(masked, { sparsity, criterion: m.criterion, granularity: m.granularity, scope: m.scope, generator: new Generator(3) });
        masked.eval();
        const t1 = performance.now();
        const report = await pruning.sparsityReport(masked);
        const maskedProfile = await profile(masked, inputShape, { bsrBlock: BSR_BLOCK });
        built.push(...await buildFormats(plan.formats, dense, masked, { inputShape, bsrBlock: BSR_BLOCK, autoBatch: Math.max(...plan.batches) }));
        const compactedModel = built.find((b) => b.format === 'compacted' && b.status === 'ok')?.model ?? null;
        const compactedProfile = compactedModel ? await profile(compactedModel, inputShape, { bsrBlock: BSR_BLOCK }) : null;
        const runChecks = built.filter((b) => b.format !== 'dense' && b.format !== 'masked').map((b): OutputCheck => ({
          run: id, format: b.format, error: b.outputError, ok: b.status === 'ok' && b.outputError !== null && b.outputError <= OUTPUT_TOLERANCE,
          status: b.status === 'ok' ? 'ok' : `${b.status}: ${b.reason ?? ''}`,
        }));
        checks.push(...runChecks);
        const t2 = performance.now();

        const timed = built.filter((b) => b.status === 'ok' && b.format !== 'dense');
        const latency = new Map<Format, FormatResult['latency']>();
        const denseFlops = baseline.totals.flops;
        const flopsOf = (f: Format) => (f === 'dense' ? denseFlops : f === 'compacted' ? (compactedProfile?.totals.flops ?? 0) : maskedProfile.totals.effectiveFlops);
        for (const batch of plan.batches) {
          hooks.onStep(`${spec.name}: ${id}: time dense and ${timed.length} formats at batch ${batch}`);
          const x = tensor(probeInput([batch, ...inputShape], batch), [batch, ...inputShape]);
          try {
            const works: Record<string, () => void> = { dense: () => noGrad(() => tidy(() => void dense.forward(x))) };
            for (const b of timed) works[b.format] = () => noGrad(() => tidy(() => void b.model!.forward(x)));
            const r = await measure(works, hooks.protocol);
            protocol = r.protocol;
            const d = r.results.dense!;
            const push = (f: Format, fm: Measurement) => {
              const speedup = d.median / fm.median;
              const flopSpeedup = flopsOf(f) > 0 ? denseFlops / flopsOf(f) : 0;
              const list = latency.get(f) ?? [];
              list.push({ batch, reference: d, format: fm, speedup, realization: flopSpeedup > 0 ? speedup / flopSpeedup : 0 });
              latency.set(f, list);
            };
            push('dense', d);
            for (const b of timed) push(b.format, r.results[b.format]!);
          } finally {
            x.dispose();
          }
        }
        const formats: FormatResult[] = built.map((b) => {
          const isCompacted = b.format === 'compacted';
          const p = b.format === 'dense' ? baseline : isCompacted ? compactedProfile : maskedProfile;
          const flops = flopsOf(b.format);
          return {
            format: b.format, status: b.status, ...(b.reason ? { reason: b.reason } : {}), reference: 'dense',
            flops, flopSpeedup: flops > 0 ? denseFlops / flops : 0,
            params: p?.totals.params ?? 0, nonzeroParams: p?.totals.nonzeroParams ?? 0,
            bytes: formatBytes(b.format, baseline, maskedProfile, compactedProfile),
            checkpointBytes: b.format === 'dense' || b.format === 'masked' || b.format === 'compacted' ? (p?.totals.checkpointBytes ?? null) : null,
            outputError: b.outputError,
            latency: latency.get(b.format) ?? [],
          };
        });
        const units = result.layers.reduce((a, l) => ({ pruned: a.pruned + l.pruned, total: a.total + l.units }), { pruned: 0, total: 0 });
        const run: StudyRun = {
          id, method: m.label, sparsity, seed: 0, status: 'ok',
          weightSparsity: report.weights.sparsity, units,
          accuracy: { pruned: null, final: null },
          steps: [{ target: sparsity, accuracy: null }],
          profile: { masked: maskedProfile.totals, compacted: compactedProfile?.totals ?? null },
          formats, layerTimes: null,
          seconds: { prune: (t1 - t0) / 1000, convert: (t2 - t1) / 1000, time: (performance.now() - t2) / 1000 },
        };
        runs.push(run);
        hooks.onRun(run, runChecks);
      } finally {
        for (const b of built) b.dispose();
        masked.dispose();
      }
    }
  }
  return { baseline, runs, checks, protocol };
}
