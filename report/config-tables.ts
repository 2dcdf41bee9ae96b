/** The study's setting as tables: the methods, the rest of the configuration, the device's limits. */
import type { StudyResults } from '../study/results.js';
import type { Table } from './table.js';

export function methodsTable(results: StudyResults): Table {
  const methods = results.config.methods;
  const perLayer = methods.some((m) => m.perLayer && Object.keys(m.perLayer).length);
  return {
    columns: [
      { title: 'method' }, { title: 'criterion' }, { title: 'granularity' }, { title: 'scope' },
      { title: 'schedule' }, { title: 'rounds', align: 'right' }, { title: 'fine-tune epochs', align: 'right' },
      ...(perLayer ? [{ title: 'per-layer sparsity', wrap: true }] : []),
    ],
    rows: methods.map((m) => ({
      cells: [
        m.label, m.criterion, m.granularity, m.scope, m.schedule, String(m.rounds), String(m.finetuneEpochs),
        ...(perLayer ? [Object.entries(m.perLayer ?? {}).map(([name, s]) => `${name} ${s}`).join(', ')] : []),
      ],
    })),
  };
}

function value(v: unknown): string {
  if (v === null) return 'none';
  if (Array.isArray(v)) return v.join(', ');
  if (typeof v === 'object') return Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k} ${value(x)}`).join(', ');
  return String(v);
}

/** Every configuration entry except the methods (which have their own table). */
export function configTable(results: StudyResults): Table {
  const { methods: _methods, ...rest } = results.config;
  return {
    columns: [{ title: 'setting' }, { title: 'value', wrap: true }],
    rows: Object.entries(rest).map(([k, v]) => ({ cells: [k, value(v)] })),
  };
}

export function deviceLimitsTable(results: StudyResults): Table {
  return {
    columns: [{ title: 'limit' }, { title: 'value', align: 'right' }],
    rows: Object.entries(results.device.limits).map(([k, v]) => ({ cells: [k, String(v)] })),
  };
}
