/**
 * The headline table: per method × sparsity the final accuracy over seeds, then per format the
 * FLOP speedup it promises and, per batch size, the speedup measured against the dense model
 * and the realization (measured / FLOP speedup). One row per method × sparsity × format.
 */
import type { StudyResults } from '../study/results.js';
import { escapeMarkdown } from './escape.js';
import { DASH, ms, percent, ratio, sparsityLabel, times } from './numbers.js';
import { secondRuntime, type SecondRuntime } from './second-runtime.js';
import { batchOrder, summarizeSettings, type SettingSummary } from './summary.js';
import { type Column, type Row, type Table, tableMarkdown, tableText } from './table.js';

export interface Headline {
  /** One line: the dense model's accuracy and latency per batch. */
  baseline: string;
  table: Table;
  /** Skipped and failed formats with their reasons, failed runs with their errors. */
  problems: string[];
  /** What the columns mean. */
  legend: string;
  /** wgprune's speedups next to ONNX Runtime's, when the study timed its models there too. */
  secondRuntime: SecondRuntime | null;
}

function accuracyCell(s: SettingSummary): string {
  if (!s.accuracy) return DASH;
  return s.accuracy.n > 1 ? `${percent(s.accuracy.mean)} ± ${percent(s.accuracy.std)}` : percent(s.accuracy.mean);
}

function seedList(seeds: number[]): string {
  return `seed${seeds.length > 1 ? 's' : ''} ${seeds.join(', ')}`;
}

/** The dense model's median latency per batch: the median over runs of the dense reference. */
function denseLatencies(results: StudyResults): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const batch of batchOrder(results)) {
    const medians = results.runs.flatMap((r) => r.formats)
      .filter((f) => f.status === 'ok' && f.reference === 'dense')
      .flatMap((f) => f.latency.filter((l) => l.batch === batch).map((l) => l.reference.median))
      .sort((a, b) => a - b);
    if (medians.length) out.push([batch, medians[medians.length >> 1]!]);
  }
  return out;
}

export function headline(results: StudyResults): Headline {
  const batches = batchOrder(results);
  const settings = summarizeSettings(results);
  const columns: Column[] = [
    { title: 'method' },
    { title: 'sparsity', align: 'right' },
    { title: 'weights', align: 'right' },
    { title: results.model.timingOnly ? 'acc. (n/a)' : 'accuracy %', align: 'right' },
    { title: 'runs', align: 'right' },
    { title: 'format' },
    { title: 'FLOP×', align: 'right' },
    ...batches.flatMap((b): Column[] => [
      { title: 'speedup', align: 'right', group: `batch ${b}` },
      { title: 'realiz.', align: 'right', group: `batch ${b}` },
    ]),
  ];
  const rows: Row[] = [];
  const problems: string[] = [];
  const formatProblems = new Map<string, { text: string; reason: string; where: string[] }>();
  for (const s of settings) {
    const first = [
      s.method,
      sparsityLabel(s.sparsity),
      s.runs.length ? sparsityLabel(s.weightSparsity) : DASH,
      accuracyCell(s),
      s.failed.length ? `${s.runs.length}/${s.runs.length + s.failed.length}` : String(s.runs.length),
    ];
    const setting = `${s.method} @ ${sparsityLabel(s.sparsity)}`;
    for (const r of s.failed) problems.push(`run ${r.id} failed: ${r.error ?? '(no error recorded)'}`);
    if (!s.formats.length) rows.push({ cells: [...first, DASH], startsBlock: true });
    s.formats.forEach((f, i) => {
      const lead = i === 0 ? first : first.map(() => '');
      const cells = [...lead, f.format];
      if (f.okRuns === 0) {
        cells.push(f.problems.map((p) => p.status).join('/'));
      } else {
        cells.push(times(f.flopSpeedup));
        for (const b of batches) {
          const m = f.batches.find((x) => x.batch === b);
          cells.push(m ? times(m.speedup) : DASH, m ? ratio(m.realization) : DASH);
        }
      }
      rows.push({ cells, startsBlock: i === 0 });
      for (const p of f.problems) {
        const key = `${f.format}\0${p.status}\0${p.reason}`;
        const where = p.seeds.length === s.runs.length ? setting : `${setting} (${seedList(p.seeds)})`;
        const known = formatProblems.get(key);
        if (known) known.where.push(where);
        else formatProblems.set(key, { text: `${f.format} ${p.status}`, reason: p.reason, where: [where] });
      }
    });
  }
  for (const p of formatProblems.values()) problems.push(`${p.text} in ${p.where.join(', ')}: ${p.reason}`);
  const acc = results.model.timingOnly
    ? 'accuracy not measured (timing-only study on synthetic inputs)'
    : `accuracy ${percent(results.baseline.accuracy)} %`;
  const lat = denseLatencies(results).map(([b, s]) => `${ms(s)} ms at batch ${b}`).join(', ');
  const fused = settings.some((s) => s.formats.some((f) => f.reference === 'dense-fused'));
  const legend = [
    'sparsity: target; weights: fraction of prunable weights that are zero.',
    results.model.timingOnly
      ? 'Accuracy: not measured (synthetic inputs).'
      : 'accuracy: final test accuracy, mean ± sample standard deviation over the completed runs (one per seed).',
    'FLOP×: dense FLOPs / the FLOPs pruning leaves (the non-zero weights\' FLOPs for masked/CSR/BSR/auto — what an ideal zero-skipping kernel would execute; the compacted model\'s FLOPs for compacted formats), one multiply-add = 2 FLOPs.',
    `speedup: dense median latency / format median latency, timed in the same interleaved rounds${fused ? ' (compacted-fused: against the dense model after the same fusion)' : ''}; realiz. = speedup / FLOP×. Ratios are geometric means over seeds.`,
  ].join(' ');
  return {
    baseline: `dense model: ${acc}${lat ? `; median latency ${lat}` : ''}`,
    table: { columns, rows },
    problems,
    legend,
    secondRuntime: secondRuntime(results),
  };
}

/** The headline as fixed-width text for the terminal. */
export function headlineTable(results: StudyResults): string {
  const h = headline(results);
  return [
    h.baseline,
    '',
    tableText(h.table),
    ...(h.problems.length ? ['', ...h.problems.map((p) => `* ${p}`)] : []),
    ...(h.secondRuntime ? ['', h.secondRuntime.caption, '', tableText(h.secondRuntime.table)] : []),
  ].join('\n');
}

/** The headline as Markdown: baseline line, table, reasons for skipped formats and failed runs, legend. */
export function headlineMarkdown(results: StudyResults): string {
  const h = headline(results);
  const esc = escapeMarkdown;
  return [
    esc(h.baseline),
    '',
    tableMarkdown(h.table),
    ...(h.problems.length ? ['', ...h.problems.map((p) => `- ${esc(p)}`)] : []),
    '',
    `_${esc(h.legend)}_`,
    ...(h.secondRuntime ? ['', `_${esc(h.secondRuntime.caption)}_`, '', tableMarkdown(h.secondRuntime.table)] : []),
  ].join('\n');
}
