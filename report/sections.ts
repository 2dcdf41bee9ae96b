/** What the report says, in order: setup, notes, headline, plots, comparison, runs, profile, configuration. */
import type { StudyResults } from '../study/results.js';
import type { Block, ReportDocument } from './document.js';
import { headline } from './headline.js';
import { duration, percent, shape } from './numbers.js';
import { profileTable } from './profile-table.js';
import { hasPlans, runDetailsTable } from './run-details.js';
import { kernelSetupText } from '../study/kernel-setup.js';
import type { Source } from './source.js';
import { configTable, deviceLimitsTable, methodsTable } from './config-tables.js';
import type { Plot } from './plots/plot.js';

const plotBlock = (p: Plot): Block => ({ kind: 'plot', name: p.name, title: p.title, ...('skipped' in p ? { skipped: p.skipped } : {}) });

function headlineBlocks(results: StudyResults): Block[] {
  const h = headline(results);
  return [
    { kind: 'paragraph', text: h.baseline },
    { kind: 'table', table: h.table },
    ...(h.problems.length ? [{ kind: 'list', items: h.problems } as Block] : []),
    ...(h.secondRuntime ? [{ kind: 'table', table: h.secondRuntime.table, caption: h.secondRuntime.caption } as Block] : []),
  ];
}

function statusText(r: StudyResults): string {
  const runs = r.runs.length, failed = r.runs.filter((x) => x.status === 'failed').length;
  const done = r.complete ? 'Complete' : `Incomplete (${r.stopReason ?? 'stopped'}): the runs below are the ones that finished`;
  return `${done}. ${runs} run${runs === 1 ? '' : 's'}${failed ? `, ${failed} failed` : ''}, ${duration(r.durationS)}.`;
}

export interface SectionInput {
  results: StudyResults;
  plots: Plot[];
  /** All sources, the main results first (only when comparing). */
  compare: Source[];
  comparePlots: Plot[];
}

export function reportDocument({ results: r, plots, compare, comparePlots }: SectionInput): ReportDocument {
  const kernels = kernelSetupText(r.device);
  const doc: Block[] = [
    { kind: 'heading', level: 1, text: `wgprune study: ${r.model.name} on ${r.device.adapter || r.device.backend}` },
    { kind: 'paragraph', text: statusText(r) },
  ];
  if (r.model.timingOnly) {
    doc.push({ kind: 'paragraph', text: 'Timing only: the model ran on synthetic inputs, so accuracies are not measured and the accuracy plots are left out.', note: true });
  }
  doc.push(
    { kind: 'heading', level: 2, text: 'Setup', id: 'setup' },
    {
      kind: 'facts',
      items: [
        ['device', `${r.device.adapter} (backend ${r.device.backend}, ${r.device.featureLevel} feature level)`],
        ...(kernels ? [['kernel planning', kernels] as [string, string]] : []),
        ['model', `${r.model.name}, input ${shape(r.model.inputShape)}, ${r.model.dataset}${r.model.timingOnly ? ' (synthetic inputs)' : ''}; ${r.model.source}`],
        ['dense accuracy', r.baseline.accuracy === null ? 'not measured' : `${percent(r.baseline.accuracy)} %`],
        ['started', r.startedAt],
        ['finished', `${r.finishedAt} (${duration(r.durationS)})`],
        ['versions', Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(', ')],
        ['timing protocol', r.protocol.description],
        ['FLOPs and bytes', r.baseline.profile.conventions],
      ],
    },
    { kind: 'paragraph', text: 'Command:' },
    { kind: 'code', text: r.command },
    { kind: 'details', summary: 'Device limits', blocks: [{ kind: 'table', table: deviceLimitsTable(r) }] },
  );
  if (r.notes.length) doc.push({ kind: 'heading', level: 2, text: 'Notes', id: 'notes' }, { kind: 'list', items: r.notes });
  doc.push(
    { kind: 'heading', level: 2, text: 'Headline', id: 'headline' },
    ...headlineBlocks(r),
    { kind: 'paragraph', text: headline(r).legend, note: true },
    { kind: 'heading', level: 2, text: 'Plots', id: 'plots' },
    ...plots.map(plotBlock),
  );
  if (compare.length > 1) {
    doc.push({ kind: 'heading', level: 2, text: 'Comparison', id: 'comparison' });
    doc.push({ kind: 'paragraph', text: `${compare.length} results files side by side: ${compare.map((s) => s.label).join('; ')}.` });
    for (const s of compare) {
      const planning = kernelSetupText(s.results.device);
      doc.push(
        { kind: 'heading', level: 3, text: s.label },
        { kind: 'paragraph', text: `${s.results.model.name}; ${planning ? `kernel planning: ${planning}; ` : ''}command: ${s.results.command}`, note: true },
        ...headlineBlocks(s.results),
      );
    }
    doc.push(...comparePlots.map(plotBlock));
  }
  doc.push(
    { kind: 'heading', level: 2, text: 'Runs', id: 'runs' },
    {
      kind: 'paragraph',
      text: `Per run (method @ target sparsity, seed) and format: bytes of the parameters as the format stores them; output error = max |y − y_masked| / max |y_masked| on a probe batch; latency per forward pass, median over the protocol's repetitions with min–max; ref. = the reference (dense) model timed in the same rounds; speedup = ref. / format median; realiz. = speedup / FLOP×.${r.runs.some((x) => x.onnxruntime) ? ' Rows marked "on ORT" are the same models exported to ONNX and run on ONNX Runtime: bytes = the .onnx file; output error against our dense model (dense) or masked model (masked, compacted); ref. = ONNX Runtime\'s dense model in the same rounds.' : ''}${hasPlans(r) ? ' kernel plans: the kernel variants the planners chose while the format was timed, per family, with what decided each (rule: the device profile\'s rule; tuned: the tuning table; forced) and ×N where one variant served N problems (shapes).' : ''}`,
      note: true,
    },
    { kind: 'table', table: runDetailsTable(r) },
    { kind: 'heading', level: 2, text: 'Dense model profile', id: 'profile' },
    { kind: 'paragraph', text: `Per sample: ${r.baseline.profile.conventions}.`, note: true },
    { kind: 'table', table: profileTable(r.baseline.profile) },
    { kind: 'heading', level: 2, text: 'Configuration', id: 'configuration' },
    { kind: 'table', table: methodsTable(r) },
    { kind: 'table', table: configTable(r) },
  );
  return doc;
}
