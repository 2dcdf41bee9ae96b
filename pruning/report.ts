/**
 * Sparsity reporting: per parameter and overall, counted on the effective
 * values (orig × mask for pruned parameters), under the parameter's plain key
 * ('classifier.0.weight', not '…weight_orig').
 */
import type { Module } from '../nn/index.js';
import { effectiveValues, isPruned, prunedNames } from './masked.js';
import { isPrunableLayer } from './target.js';

export interface SparsityRow {
  key: string;
  shape: number[];
  size: number;
  nonzero: number;
  /** 1 − nonzero / size. */
  sparsity: number;
  /** Whether the parameter is masked (pruned and not yet `remove`d). */
  masked: boolean;
  /** A Linear/Conv2d weight (what the default pruning targets). */
  prunable: boolean;
}

export interface SparsityTotals {
  size: number;
  nonzero: number;
  sparsity: number;
}

export interface SparsityReport {
  rows: SparsityRow[];
  /** Every parameter. */
  total: SparsityTotals;
  /** Linear/Conv2d weights only. */
  weights: SparsityTotals;
  /** A fixed-width table of the rows and both totals. */
  text: string;
}

function totals(rows: SparsityRow[]): SparsityTotals {
  const size = rows.reduce((a, r) => a + r.size, 0);
  const nonzero = rows.reduce((a, r) => a + r.nonzero, 0);
  return { size, nonzero, sparsity: size ? 1 - nonzero / size : 0 };
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

export async function sparsityReport(model: Module): Promise<SparsityReport> {
  const rows: SparsityRow[] = [];
  for (const [prefix, m] of model.namedModules()) {
    const pruned = new Set(prunedNames(m));
    for (const [local] of m.namedParameters('', false)) {
      const name = local.endsWith('_orig') && pruned.has(local.slice(0, -5)) ? local.slice(0, -5) : local;
      const values = await effectiveValues(m, name);
      let nonzero = 0;
      for (const v of values) if (v !== 0) nonzero++;
      const shape = [...(m.parameter(local)!.shape)];
      rows.push({
        key: prefix ? `${prefix}.${name}` : name, shape, size: values.length, nonzero,
        sparsity: values.length ? 1 - nonzero / values.length : 0, masked: isPruned(m, name), prunable: name === 'weight' && isPrunableLayer(m),
      });
    }
  }
  const total = totals(rows);
  const weights = totals(rows.filter((r) => r.prunable));
  const head = ['parameter', 'shape', 'size', 'non-zero', 'sparsity', 'masked'];
  const body = rows.map((r) => [r.key, `[${r.shape.join(', ')}]`, String(r.size), String(r.nonzero), pct(r.sparsity), r.masked ? 'yes' : '']);
  body.push(['weights (Linear/Conv2d)', '', String(weights.size), String(weights.nonzero), pct(weights.sparsity), '']);
  body.push(['all parameters', '', String(total.size), String(total.nonzero), pct(total.sparsity), '']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const sep = widths.map((w) => '-'.repeat(w)).join('  ');
  const text = [line(head), sep, ...body.slice(0, -2).map(line), sep, ...body.slice(-2).map(line)].join('\n');
  return { rows, total, weights, text };
}
