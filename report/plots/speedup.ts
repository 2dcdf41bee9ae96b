/**
 * Plot (b): measured speedup against FLOP speedup, one panel per batch size, log–log, with the
 * line y = x (every promised FLOP turned into time) and the break-even line y = 1. One point per
 * run × format; colour = format (or the source, when results files are compared).
 */
import type { TopLevelSpec } from 'vega-lite';
import { formatOrder } from '../summary.js';
import type { Source } from '../source.js';
import { formatColorScale, PLOT_CONFIG, type Plot, sourceColor } from './plot.js';

const TITLE = 'Measured speedup vs FLOP speedup';
const X_TITLE = 'FLOP speedup (×, log)';
const Y_TITLE = 'measured speedup (×, log)';

interface Point { kind: 'point'; source: string; method: string; format: string; batch: number; x: number; y: number }

/** `compare`: colour by source (several results files), shape by format. */
export function speedupPlot(sources: Source[], compare = false): Plot {
  const name = compare ? 'compare-speedup' : 'speedup';
  const points: Point[] = [];
  for (const { label, results } of sources) {
    for (const run of results.runs) {
      if (run.status !== 'ok') continue;
      for (const f of run.formats) {
        if (f.status !== 'ok' || f.format === 'dense' || !(f.flopSpeedup > 0)) continue;
        for (const l of f.latency) {
          if (l.speedup > 0) points.push({ kind: 'point', source: label, method: run.method, format: f.format, batch: l.batch, x: f.flopSpeedup, y: l.speedup });
        }
      }
    }
  }
  if (!points.length) return { name, title: TITLE, skipped: 'No speedup plot: no sparse or compacted format was timed.' };
  const values = points.flatMap((p) => [p.x, p.y, 1]);
  const lo = Math.min(...values) / 1.15, hi = Math.max(...values) * 1.15;
  const batches = [...new Set(points.map((p) => p.batch))].sort((a, b) => a - b);
  const ideal = batches.flatMap((batch) => [{ kind: 'ideal', batch, x: lo, y: lo }, { kind: 'ideal', batch, x: hi, y: hi }]);
  const formats = [...new Set(sources.flatMap((s) => formatOrder(s.results)))].filter((f) => points.some((p) => p.format === f));
  const methods = [...new Set(points.map((p) => p.method))];
  const scale = { type: 'log' as const, domain: [lo, hi] };
  const x = { field: 'x', type: 'quantitative' as const, title: X_TITLE, scale };
  const y = { field: 'y', type: 'quantitative' as const, title: Y_TITLE, scale };
  const colour = compare
    ? sourceColor(sources.map((s) => s.label))
    : { field: 'format', type: 'nominal' as const, title: 'format', scale: formatColorScale(formats) };
  const shape = compare
    ? { field: 'format', type: 'nominal' as const, title: 'format', scale: { domain: formats } }
    : { field: 'method', type: 'nominal' as const, title: 'method', scale: { domain: methods } };
  const protocol = sources[0]!.results.protocol;
  return {
    name,
    title: TITLE,
    spec: {
      title: {
        text: compare ? `${TITLE}, by source` : TITLE,
        subtitle: [
          `speedup = dense median latency / format median latency per forward pass, timed in ${protocol.interleaved ? 'interleaved rounds' : 'rounds'} (medians over repetitions)`,
          'FLOP speedup = dense FLOPs / FLOPs left by pruning (non-zero weights; compacted: the smaller model), one multiply-add = 2 FLOPs; dashed: y = x (full realization); dotted: speedup 1',
        ],
      },
      config: PLOT_CONFIG,
      data: { values: [...points, ...ideal] },
      facet: { field: 'batch', type: 'ordinal', title: null, sort: batches, header: { labelExpr: "'batch ' + datum.value + ' (samples per forward pass)'", labelFontWeight: 'bold' } },
      columns: Math.min(3, batches.length),
      spec: {
        width: 300,
        height: 300,
        layer: [
          { transform: [{ filter: "datum.kind === 'ideal'" }], mark: { type: 'line', color: '#333', strokeDash: [5, 4], strokeWidth: 1 }, encoding: { x, y } },
          { mark: { type: 'rule', color: '#999', strokeDash: [1, 3] }, encoding: { y: { datum: 1, type: 'quantitative', scale, title: Y_TITLE } } },
          { transform: [{ filter: "datum.kind === 'point'" }], mark: { type: 'point', filled: true, size: 60, opacity: 0.85 }, encoding: { x, y, color: colour, shape } },
        ],
      },
    } as TopLevelSpec,
  };
}
