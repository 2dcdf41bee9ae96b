/**
 * The second-runtime table, for studies that also timed their models on ONNX Runtime: per method
 * × sparsity × format (dense, masked, compacted) and batch size, the speedup and realization
 * measured on wgprune next to ONNX Runtime's for the same models exported to ONNX (each runtime
 * against its own dense model; geometric means over seeds, as in the headline).
 */
import type { OrtRuntime } from '../measure/ort.js';
import type { LatencyRow, StudyResults } from '../study/results.js';
import { DASH, ratio, sparsityLabel, times } from './numbers.js';
import { geomean } from './stats.js';
import { batchOrder, summarizeSettings } from './summary.js';
import type { Column, Row, Table } from './table.js';

export interface SecondRuntime {
  /** What the runtime was and what the columns mean. */
  caption: string;
  table: Table;
}

/** The runtime as one phrase: 'ONNX Runtime 1.30.0 (onnxruntime-node, CPU, 2 intra-op threads, graph optimisation all)'. */
export function describeOrt(r: OrtRuntime | null): string {
  if (!r) return 'ONNX Runtime (CPU)';
  return `ONNX Runtime ${r.version} (${r.name}, ${r.executionProvider.toUpperCase()}, ${r.intraOpNumThreads} intra-op thread${r.intraOpNumThreads === 1 ? '' : 's'}, graph optimisation ${r.graphOptimizationLevel})`;
}

/** The table, or null when no run was timed on ONNX Runtime. */
export function secondRuntime(results: StudyResults): SecondRuntime | null {
  const timed = results.runs.filter((r) => r.status === 'ok' && r.onnxruntime);
  if (!timed.length) return null;
  const batches = batchOrder(results);
  const columns: Column[] = [
    { title: 'method' },
    { title: 'sparsity', align: 'right' },
    { title: 'format' },
    { title: 'FLOP×', align: 'right' },
    ...batches.flatMap((b): Column[] => [
      { title: 'wgprune ×', align: 'right', group: `batch ${b}` },
      { title: 'ORT ×', align: 'right', group: `batch ${b}` },
      { title: 'wgprune realiz.', align: 'right', group: `batch ${b}` },
      { title: 'ORT realiz.', align: 'right', group: `batch ${b}` },
    ]),
  ];
  const rows: Row[] = [];
  for (const s of summarizeSettings(results)) {
    const ort = s.runs.flatMap((r) => r.onnxruntime?.formats ?? []);
    const formats = [...new Set(ort.map((f) => f.format))];
    formats.forEach((format, i) => {
      const mine = ort.filter((f) => f.format === format);
      const ok = mine.filter((f) => f.status === 'ok');
      const ours = s.formats.find((f) => f.format === format);
      const cells = [i === 0 ? s.method : '', i === 0 ? sparsityLabel(s.sparsity) : '', format];
      if (!ok.length) {
        cells.push(`failed on ORT (${mine.length} run${mine.length === 1 ? '' : 's'}; see the runs)`);
      } else {
        cells.push(times(geomean(ok.map((f) => f.flopSpeedup))));
        for (const b of batches) {
          const rowsAt = ok.map((f) => f.latency.find((l) => l.batch === b)).filter((l): l is LatencyRow => l !== undefined);
          const o = ours?.batches.find((x) => x.batch === b);
          cells.push(
            o ? times(o.speedup) : DASH,
            rowsAt.length ? times(geomean(rowsAt.map((l) => l.speedup))) : DASH,
            o ? ratio(o.realization) : DASH,
            rowsAt.length ? ratio(geomean(rowsAt.map((l) => l.realization))) : DASH,
          );
        }
      }
      rows.push({ cells, startsBlock: i === 0 });
    });
  }
  const runtime = timed.map((r) => r.onnxruntime!.runtime).find((r) => r !== null) ?? null;
  const caption = `Second runtime: ${describeOrt(runtime)}, timing the same dense, masked (pruning made permanent) and compacted models exported to ONNX. `
    + 'wgprune × / ORT ×: each runtime\'s dense median latency / format median, timed in the same interleaved rounds on that runtime; realiz. = speedup / FLOP×; geometric means over seeds.';
  return { caption, table: { columns, rows } };
}
