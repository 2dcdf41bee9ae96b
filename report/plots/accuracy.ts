/**
 * Plot (a): final test accuracy against target sparsity, one line per method (mean over seeds,
 * error bars ± one sample standard deviation), random-criterion baselines dashed, the dense
 * model as a horizontal rule.
 */
import type { StudyResults } from '../../study/results.js';
import type { TopLevelSpec } from 'vega-lite';
import { hasAccuracy, isRandomMethod, methodOrder, summarizeSettings } from '../summary.js';
import { PLOT_CONFIG, type Plot } from './plot.js';

const TITLE = 'Final test accuracy vs target sparsity';
const Y_TITLE = 'final test accuracy (%)';
const X_TITLE = 'target sparsity (% of weights or units pruned)';
const KINDS = ['pruning criterion', 'random baseline'];

export function accuracyPlot(results: StudyResults): Plot {
  const name = 'accuracy';
  if (results.model.timingOnly) return { name, title: TITLE, skipped: 'No accuracy plot: timing-only study (synthetic inputs, accuracy not measured).' };
  if (!hasAccuracy(results)) return { name, title: TITLE, skipped: 'No accuracy plot: no completed run has an accuracy.' };
  const rows = summarizeSettings(results).filter((s) => s.accuracy).map((s) => {
    const a = s.accuracy!;
    const spread = Number.isFinite(a.std) ? a.std : 0;
    return {
      method: s.method,
      kind: KINDS[isRandomMethod(results, s.method) ? 1 : 0],
      sparsity: 100 * s.sparsity,
      mean: 100 * a.mean,
      lo: Math.max(0, 100 * (a.mean - spread)),
      hi: Math.min(100, 100 * (a.mean + spread)),
      n: a.n,
    };
  });
  const methods = methodOrder(results).filter((m) => rows.some((r) => r.method === m));
  const ns = rows.map((r) => r.n);
  const lo = Math.min(...ns), hi = Math.max(...ns);
  const seeds = lo === hi ? `${lo} seed${lo > 1 ? 's' : ''}` : `${lo}–${hi} seeds`;
  const x = { field: 'sparsity', type: 'quantitative' as const, title: X_TITLE, scale: { zero: false, nice: true, padding: 16 } };
  const color = { field: 'method', type: 'nominal' as const, title: 'method', sort: methods, scale: { domain: methods } };
  const base = results.baseline.accuracy;
  // Accuracy axis: the data and the dense model, a point of margin, never past 0–100 %.
  const shown = [...rows.flatMap((r) => [r.lo, r.hi]), ...(base !== null ? [100 * base] : [])];
  const domain = [Math.max(0, Math.floor(Math.min(...shown) - 1)), Math.min(100, Math.ceil(Math.max(...shown) + 1))];
  const y = (field: string) => ({ field, type: 'quantitative' as const, title: Y_TITLE, scale: { domain, nice: false } });
  const layers: object[] = [
    {
      data: { values: rows },
      layer: [
        { mark: { type: 'rule', strokeWidth: 1.5 }, encoding: { x, y: y('lo'), y2: { field: 'hi' }, color } },
        {
          mark: { type: 'line', strokeWidth: 2 },
          encoding: {
            x, y: y('mean'), color,
            strokeDash: { field: 'kind', type: 'nominal', title: 'criterion', scale: { domain: KINDS, range: [[1, 0], [6, 4]] } },
          },
        },
        { mark: { type: 'point', filled: true, size: 60 }, encoding: { x, y: y('mean'), color } },
      ],
    },
  ];
  if (base !== null) {
    layers.unshift(
      { data: { values: [{ acc: 100 * base }] }, mark: { type: 'rule', color: '#777', strokeDash: [2, 2], strokeWidth: 1.5 }, encoding: { y: y('acc') } },
      {
        data: { values: [{ acc: 100 * base, label: `dense model ${(100 * base).toFixed(2)}%` }] },
        mark: { type: 'text', align: 'left', baseline: 'bottom', dx: 4, dy: -3, color: '#555', fontSize: 11 },
        encoding: { y: y('acc'), x: { value: 0 }, text: { field: 'label' } },
      },
    );
  }
  return {
    name,
    title: TITLE,
    spec: {
      title: {
        text: TITLE,
        subtitle: [
          `${results.model.name}: accuracy after pruning and fine-tuning, mean over ${seeds} (completed runs), error bars ± 1 sample standard deviation`,
          `dashed: random-criterion baselines${base !== null ? '; grey dotted rule: the dense (unpruned) model' : ''}`,
        ],
      },
      width: 520,
      height: 320,
      config: PLOT_CONFIG,
      layer: layers,
    } as TopLevelSpec,
  };
}
