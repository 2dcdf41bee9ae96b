/**
 * Plot (d): accuracy against measured latency at the largest batch, one point per run × format
 * (plus the unpruned dense model), with the Pareto front: the points no other point beats on
 * both latency and accuracy. Colour = method (or the source, when results files are compared).
 */
import type { TopLevelSpec } from 'vega-lite';
import type { StudyResults } from '../../study/results.js';
import { median } from '../stats.js';
import { batchOrder, formatOrder, hasAccuracy, methodOrder } from '../summary.js';
import type { Source } from '../source.js';
import { PLOT_CONFIG, type Plot, sourceColor } from './plot.js';

const TITLE = 'Accuracy vs measured latency (Pareto front)';
const UNPRUNED = 'unpruned dense';

export interface ParetoPoint { source: string; method: string; format: string; run: string; latencyMs: number; accuracy: number }

/** Points of one results file at its largest timed batch (null when nothing was timed there). */
export function paretoPoints(label: string, results: StudyResults): { batch: number; points: ParetoPoint[] } | null {
  const batch = batchOrder(results).at(-1);
  if (batch === undefined) return null;
  const points: ParetoPoint[] = [];
  const references: number[] = [];
  for (const run of results.runs) {
    if (run.status !== 'ok' || run.accuracy.final === null) continue;
    for (const f of run.formats) {
      const l = f.status === 'ok' ? f.latency.find((x) => x.batch === batch) : undefined;
      if (!l) continue;
      if (f.reference === 'dense') references.push(l.reference.median);
      points.push({ source: label, method: run.method, format: f.format, run: run.id, latencyMs: 1000 * l.format.median, accuracy: 100 * run.accuracy.final });
    }
  }
  if (results.baseline.accuracy !== null && references.length) {
    points.push({ source: label, method: 'dense model', format: UNPRUNED, run: 'baseline', latencyMs: 1000 * median(references), accuracy: 100 * results.baseline.accuracy });
  }
  return points.length ? { batch, points } : null;
}

/** The Pareto front (lower latency, higher accuracy), by increasing latency. */
export function paretoFront<T extends { latencyMs: number; accuracy: number }>(points: T[]): T[] {
  const sorted = [...points].sort((a, b) => a.latencyMs - b.latencyMs || b.accuracy - a.accuracy);
  const front: T[] = [];
  for (const p of sorted) if (!front.length || p.accuracy > front.at(-1)!.accuracy) front.push(p);
  return front;
}

/** `compare`: colour by source (several results files), shape by format. */
export function paretoPlot(sources: Source[], compare = false): Plot {
  const name = compare ? 'compare-pareto' : 'pareto';
  if (!sources.some((s) => hasAccuracy(s.results))) {
    return { name, title: TITLE, skipped: `No accuracy–latency plot: ${sources.every((s) => s.results.model.timingOnly) ? 'timing-only study (synthetic inputs, accuracy not measured)' : 'no completed run has an accuracy'}.` };
  }
  const perSource = sources.filter((s) => hasAccuracy(s.results)).map((s) => ({ label: s.label, data: paretoPoints(s.label, s.results) })).filter((s) => s.data);
  if (!perSource.length) return { name, title: TITLE, skipped: 'No accuracy–latency plot: no format was timed.' };
  const points = perSource.flatMap((s) => s.data!.points);
  const front = perSource.flatMap((s) => paretoFront(s.data!.points).map((p, i) => ({ ...p, order: i })));
  const batches = [...new Set(perSource.map((s) => s.data!.batch))];
  const formats = [...new Set([...sources.flatMap((s) => formatOrder(s.results)), UNPRUNED])].filter((f) => points.some((p) => p.format === f));
  const methods = [...new Set([...sources.flatMap((s) => methodOrder(s.results)), 'dense model'])].filter((m) => points.some((p) => p.method === m));
  const batchText = batches.length === 1 ? `batch ${batches[0]}` : `each source's largest batch (${perSource.map((s) => `${s.data!.batch}`).join(', ')})`;
  const x = { field: 'latencyMs', type: 'quantitative' as const, title: `latency at ${batches.length === 1 ? `batch ${batches[0]}` : 'the largest batch'} (ms per forward pass, median, log)`, scale: { type: 'log' as const, nice: false, padding: 12 } };
  const y = { field: 'accuracy', type: 'quantitative' as const, title: 'final test accuracy (%)', scale: { zero: false } };
  const colour = compare
    ? sourceColor(sources.map((s) => s.label))
    : { field: 'method', type: 'nominal' as const, title: 'method', scale: { domain: methods } };
  const shape = { field: 'format', type: 'nominal' as const, title: 'format', scale: { domain: formats } };
  return {
    name,
    title: TITLE,
    spec: {
      title: {
        text: compare ? `${TITLE}, by source` : TITLE,
        subtitle: [
          `each run × format at ${batchText}: latency = median over the protocol's repetitions; accuracy after fine-tuning`,
          'line: Pareto front (no other point is both faster and more accurate)',
        ],
      },
      config: PLOT_CONFIG,
      width: 520,
      height: 340,
      layer: [
        {
          data: { values: front },
          mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.5, ...(compare ? {} : { color: '#444' }) },
          encoding: { x, y, order: { field: 'order', type: 'quantitative' }, detail: { field: 'source', type: 'nominal' }, ...(compare ? { color: colour } : {}) },
        },
        {
          data: { values: points },
          mark: { type: 'point', filled: true, size: 70, opacity: 0.85 },
          encoding: { x, y, color: colour, shape },
        },
      ],
    } as TopLevelSpec,
  };
}
