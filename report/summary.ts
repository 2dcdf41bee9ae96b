/**
 * The study's runs grouped the way the report presents them: one setting per method × sparsity,
 * summarised over its seeds (accuracy: mean and sample standard deviation; speedups and
 * realizations: geometric means, so that the mean speedup / mean FLOP speedup is the mean
 * realization).
 */
import { FORMATS, type Format, type FormatResult, type StudyResults, type StudyRun } from '../study/results.js';
import { geomean, mean, sampleStd } from './stats.js';

export interface BatchSummary {
  batch: number;
  speedup: number;
  realization: number;
  /** Geometric mean over seeds of the format's median latency (seconds per forward pass). */
  latencyS: number;
  referenceS: number;
}

export interface FormatProblem {
  status: 'skipped' | 'failed';
  reason: string;
  seeds: number[];
}

export interface FormatSummary {
  format: Format;
  reference: FormatResult['reference'];
  /** Runs in which this format was timed. */
  okRuns: number;
  flopSpeedup: number;
  batches: BatchSummary[];
  problems: FormatProblem[];
}

export interface SettingSummary {
  method: string;
  sparsity: number;
  /** Completed runs (one per seed). */
  runs: StudyRun[];
  failed: StudyRun[];
  /** Final test accuracy over the completed runs; null when no run has one. */
  accuracy: { mean: number; std: number; n: number } | null;
  weightSparsity: number;
  formats: FormatSummary[];
}

/** Method labels in the configuration's order, then any others found in the runs. */
export function methodOrder(results: StudyResults): string[] {
  const labels = results.config.methods.map((m) => m.label);
  for (const r of results.runs) if (!labels.includes(r.method)) labels.push(r.method);
  return labels;
}

/** Whether a method is a random-criterion baseline. */
export function isRandomMethod(results: StudyResults, label: string): boolean {
  return results.config.methods.find((m) => m.label === label)?.criterion === 'random';
}

/** Formats in the configuration's order, then any others the runs hold. */
export function formatOrder(results: StudyResults): Format[] {
  const seen = new Set<Format>(results.config.formats);
  for (const r of results.runs) for (const f of r.formats) seen.add(f.format);
  return [...results.config.formats, ...FORMATS.filter((f) => seen.has(f) && !results.config.formats.includes(f))];
}

/** Batch sizes timed, ascending. */
export function batchOrder(results: StudyResults): number[] {
  const seen = new Set<number>(results.config.batches);
  for (const r of results.runs) for (const f of r.formats) for (const l of f.latency) seen.add(l.batch);
  return [...seen].sort((a, b) => a - b);
}

/** The seeds in the configuration's order (the first is "the first seed"), then any others. */
export function seedOrder(results: StudyResults): number[] {
  const seeds = [...results.config.seeds];
  for (const r of results.runs) if (!seeds.includes(r.seed)) seeds.push(r.seed);
  return seeds;
}

function summarizeFormat(format: Format, runs: StudyRun[], batches: number[]): FormatSummary {
  const results = runs.map((r) => ({ seed: r.seed, f: r.formats.find((x) => x.format === format) })).filter((x) => x.f);
  const ok = results.filter((x) => x.f!.status === 'ok').map((x) => x.f!);
  const problems: FormatProblem[] = [];
  for (const { seed, f } of results) {
    if (f!.status === 'ok') continue;
    const status = f!.status as 'skipped' | 'failed';
    const reason = f!.reason ?? '(no reason given)';
    const known = problems.find((p) => p.status === status && p.reason === reason);
    if (known) known.seeds.push(seed);
    else problems.push({ status, reason, seeds: [seed] });
  }
  const batchSummaries: BatchSummary[] = [];
  for (const batch of batches) {
    const rows = ok.map((f) => f.latency.find((l) => l.batch === batch)).filter((l) => l !== undefined);
    if (!rows.length) continue;
    batchSummaries.push({
      batch,
      speedup: geomean(rows.map((l) => l.speedup)),
      realization: geomean(rows.map((l) => l.realization)),
      latencyS: geomean(rows.map((l) => l.format.median)),
      referenceS: geomean(rows.map((l) => l.reference.median)),
    });
  }
  return {
    format,
    reference: ok[0]?.reference ?? results[0]?.f!.reference ?? 'dense',
    okRuns: ok.length,
    flopSpeedup: geomean(ok.map((f) => f.flopSpeedup)),
    batches: batchSummaries,
    problems,
  };
}

/** One summary per method × sparsity that has runs, methods in order, sparsities ascending. */
export function summarizeSettings(results: StudyResults): SettingSummary[] {
  const formats = formatOrder(results);
  const batches = batchOrder(results);
  const out: SettingSummary[] = [];
  for (const method of methodOrder(results)) {
    const mine = results.runs.filter((r) => r.method === method);
    const sparsities = [...new Set(mine.map((r) => r.sparsity))].sort((a, b) => a - b);
    for (const sparsity of sparsities) {
      const all = mine.filter((r) => r.sparsity === sparsity);
      const runs = all.filter((r) => r.status === 'ok');
      const accs = runs.map((r) => r.accuracy.final).filter((a): a is number => a !== null);
      out.push({
        method,
        sparsity,
        runs,
        failed: all.filter((r) => r.status === 'failed'),
        accuracy: accs.length ? { mean: mean(accs), std: sampleStd(accs), n: accs.length } : null,
        weightSparsity: mean(runs.map((r) => r.weightSparsity)),
        formats: formats.map((f) => summarizeFormat(f, runs, batches)).filter((f) => f.okRuns > 0 || f.problems.length > 0),
      });
    }
  }
  return out;
}

/** Whether the study measured accuracy (not timing-only data, and at least one accuracy present). */
export function hasAccuracy(results: StudyResults): boolean {
  return !results.model.timingOnly && results.runs.some((r) => r.status === 'ok' && r.accuracy.final !== null);
}
