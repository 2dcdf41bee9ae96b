/**
 * Plot (c): where the time goes, per layer: grouped bars of each layer's time per execution
 * format (dense, sparse formats, compacted), for each method's run at its highest sparsity
 * (first seed) that has per-layer times.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { StudyResults, StudyRun } from '../../study/results.js';
import { sparsityLabel } from '../numbers.js';
import { formatOrder, methodOrder, seedOrder } from '../summary.js';
import { formatColorScale, PLOT_CONFIG, type Plot } from './plot.js';

const TITLE = 'Per-layer time by execution format';

/** Per method: the run with per-layer times at the highest sparsity, first seed in the configuration's order. */
export function layerTimeRuns(results: StudyResults): StudyRun[] {
  const seeds = seedOrder(results);
  const out: StudyRun[] = [];
  for (const method of methodOrder(results)) {
    const candidates = results.runs.filter((r) => r.method === method && r.status === 'ok' && r.layerTimes && r.layerTimes.layers.length);
    if (!candidates.length) continue;
    const top = Math.max(...candidates.map((r) => r.sparsity));
    const atTop = candidates.filter((r) => r.sparsity === top).sort((a, b) => seeds.indexOf(a.seed) - seeds.indexOf(b.seed));
    out.push(atTop[0]!);
  }
  return out;
}

export function layerTimesPlot(results: StudyResults): Plot {
  const name = 'layer-times';
  const runs = layerTimeRuns(results);
  if (!runs.length) return { name, title: TITLE, skipped: 'No per-layer time plot: the study recorded no per-layer times (enable layer times in the study configuration).' };
  const rows: Array<{ panel: string; layer: string; format: string; ms: number }> = [];
  const layers: string[] = [];
  const panels: string[] = [];
  const seen = new Set<string>();
  for (const run of runs) {
    const panel = `${run.method} @ ${sparsityLabel(run.sparsity)} (seed ${run.seed}, batch ${run.layerTimes!.batch})`;
    panels.push(panel);
    for (const l of run.layerTimes!.layers) {
      const layer = `${l.name} (${l.type})`;
      if (!layers.includes(layer)) layers.push(layer);
      for (const [format, v] of Object.entries(l.ms)) {
        if (v === undefined || !Number.isFinite(v)) continue;
        seen.add(format);
        rows.push({ panel, layer, format, ms: v });
      }
    }
  }
  const formats = ['dense', 'dense-fused', ...formatOrder(results)].filter((f, i, all) => seen.has(f) && all.indexOf(f) === i);
  for (const f of seen) if (!formats.includes(f)) formats.push(f);
  const batches = [...new Set(runs.map((r) => r.layerTimes!.batch))];
  return {
    name,
    title: TITLE,
    spec: {
      title: {
        text: `${TITLE}${batches.length === 1 ? ` at batch ${batches[0]}` : ''}`,
        subtitle: [
          'each layer timed alone on the previous layer\'s output: ms per forward pass, median over the protocol\'s repetitions',
          'one panel per method: its run at the highest sparsity, first seed',
        ],
      },
      config: PLOT_CONFIG,
      data: { values: rows },
      facet: {
        row: {
          field: 'panel', type: 'nominal', title: null, sort: panels,
          header: { labelAngle: 0, labelOrient: 'top', labelAnchor: 'start', labelFontWeight: 'bold' },
        },
      },
      spec: {
        width: Math.max(360, layers.length * formats.length * 10),
        height: 170,
        mark: { type: 'bar' },
        encoding: {
          x: { field: 'layer', type: 'nominal', sort: layers, title: 'layer (type)', axis: { labelAngle: -30, labelAlign: 'right', labelLimit: 240 } },
          xOffset: { field: 'format', type: 'nominal', sort: formats },
          y: { field: 'ms', type: 'quantitative', title: 'time (ms, median)' },
          color: { field: 'format', type: 'nominal', title: 'format', scale: formatColorScale(formats), legend: { orient: 'top', direction: 'horizontal' } },
        },
      },
    } as TopLevelSpec,
  };
}
