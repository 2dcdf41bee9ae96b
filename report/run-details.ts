/**
 * The per-run detail table: for every run its weight sparsity, pruned units and accuracy
 * (right after pruning → final), then per format the bytes it stores, its output error against
 * the masked model and, per batch size, its median latency (min–max), the reference's median,
 * the speedup and the realization, and the kernel plans behind those timings where the results
 * record them. Skipped and failed formats show their reason, failed runs their error. Where the
 * study also used ONNX Runtime, a run's models there follow as '<format> on ORT' rows (timed
 * against ONNX Runtime's dense model).
 */
import { formatPlanCounts } from '../measure/plan-summary.js';
import type { FormatResult, LatencyRow, StudyResults, StudyRun } from '../study/results.js';
import { bytes, DASH, ms, percent, ratio, relError, sparsityLabel, times } from './numbers.js';
import { batchOrder, formatOrder } from './summary.js';
import type { Column, Row, Table } from './table.js';

function accuracyCell(run: StudyRun): string {
  const { pruned, final } = run.accuracy;
  if (pruned === null && final === null) return DASH;
  return `${percent(pruned)} → ${percent(final)}`;
}

function statusCell(f: FormatResult): string {
  if (f.status !== 'ok') return `${f.status}: ${f.reason ?? '(no reason given)'}`;
  const notes: string[] = [];
  if (f.reference === 'dense-fused') notes.push('vs fused dense');
  if (f.choices?.length) notes.push(`per layer: ${f.choices.map((c) => `${c.name} ${c.choice}`).join(', ')}`);
  return notes.length ? `ok (${notes.join('; ')})` : 'ok';
}

/** Per batch: median (min–max), the reference's median, speedup, realization. */
function latencyCells(latency: LatencyRow[], batches: number[]): string[] {
  return batches.flatMap((b) => {
    const l = latency.find((x) => x.batch === b);
    return l
      ? [`${ms(l.format.median)} (${ms(l.format.min)}–${ms(l.format.max)})`, ms(l.reference.median), times(l.speedup), ratio(l.realization)]
      : [DASH, DASH, DASH, DASH];
  });
}

/** True when any timing in the results names the kernel plans behind it. */
export function hasPlans(results: StudyResults): boolean {
  return results.runs.some((r) => r.formats.some((f) => f.latency.some((l) => l.plans !== undefined)));
}

/** A format's kernel plans: one text when every batch made the same plans, else per batch. */
function plansCell(latency: LatencyRow[]): string {
  const recorded = latency.filter((l) => l.plans !== undefined);
  if (!recorded.length) return DASH;
  const texts = recorded.map((l) => formatPlanCounts(l.plans!));
  if (recorded.length === latency.length && texts.every((t) => t === texts[0])) return texts[0]!;
  return recorded.map((l, i) => `batch ${l.batch}: ${texts[i]}`).join('; ');
}

export function runDetailsTable(results: StudyResults): Table {
  const batches = batchOrder(results);
  const order = formatOrder(results);
  const plans = hasPlans(results);
  const columns: Column[] = [
    { title: 'run' },
    { title: 'weights', align: 'right' },
    { title: 'units pruned', align: 'right' },
    { title: 'accuracy % (pruned → final)', align: 'right' },
    { title: 'format' },
    { title: 'status', wrap: true },
    { title: 'FLOP×', align: 'right' },
    { title: 'bytes', align: 'right' },
    { title: 'output error', align: 'right' },
    ...batches.flatMap((b): Column[] => [
      { title: 'ms (min–max)', align: 'right', group: `batch ${b}` },
      { title: 'ref. ms', align: 'right', group: `batch ${b}` },
      { title: 'speedup', align: 'right', group: `batch ${b}` },
      { title: 'realiz.', align: 'right', group: `batch ${b}` },
    ]),
    ...(plans ? [{ title: 'kernel plans', wrap: true }] : []),
  ];
  const rows: Row[] = [];
  for (const run of results.runs) {
    const lead = [
      run.id,
      run.status === 'ok' ? sparsityLabel(run.weightSparsity) : DASH,
      run.status === 'ok' ? `${run.units.pruned}/${run.units.total}` : DASH,
      accuracyCell(run),
    ];
    if (run.status === 'failed') {
      rows.push({ cells: [...lead, DASH, `run failed: ${run.error ?? '(no error recorded)'}`], startsBlock: true });
      continue;
    }
    const formats = [...run.formats].sort((a, b) => order.indexOf(a.format) - order.indexOf(b.format));
    formats.forEach((f, i) => {
      const cells = [...(i === 0 ? lead : lead.map(() => '')), f.format, statusCell(f)];
      if (f.status === 'ok') cells.push(times(f.flopSpeedup), bytes(f.bytes), relError(f.outputError), ...latencyCells(f.latency, batches), ...(plans ? [plansCell(f.latency)] : []));
      rows.push({ cells, startsBlock: i === 0 });
    });
    // The same models on ONNX Runtime (the second runtime), against its own dense model.
    for (const f of run.onnxruntime?.formats ?? []) {
      const cells = [...lead.map(() => ''), `${f.format} on ORT`, f.status === 'ok' ? 'ok (ONNX Runtime, vs its dense)' : `failed: ${f.reason ?? '(no reason given)'}`];
      if (f.status === 'ok') cells.push(times(f.flopSpeedup), bytes(f.onnxBytes), relError(f.outputError), ...latencyCells(f.latency, batches));
      rows.push({ cells });
    }
    if (!formats.length) rows.push({ cells: [...lead, DASH, 'no format results'], startsBlock: true });
  }
  return { columns, rows };
}
