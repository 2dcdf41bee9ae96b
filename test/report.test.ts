/**
 * The study report: a small but realistic results object (two methods incl. a random baseline,
 * two sparsities, two seeds, dense/masked/CSR/compacted with BSR skipped, per-layer times) is
 * valid against the schema and renders to a headline with the right means, plots with marks and
 * axis titles, Markdown that links its plots, and one offline HTML page with every string escaped;
 * comparing two results files shows both devices; invalid files are refused naming them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportCommand } from '../cli/report.js';
import { headlineTable, loadResults, paretoFront, renderReport, ResultsFileError, writeReport, type RenderedReport } from '../report/index.js';
import { accuracyPlot, layerTimesPlot, paretoPlot, renderSvg, speedupPlot } from '../report/plots/index.js';
import { labelSources } from '../report/source.js';
import { validateResults } from '../study/validate.js';
import { countPlans, formatPlans, type PlanUse } from '../measure/index.js';
import { FIXTURE_PROFILE, FIXTURE_SEEDS, fixtureAccuracy, makeStudyResults, ortSpeedup, SKIPPED_BSR_REASON } from './helpers/study-results.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wgprune-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Drawn elements per Vega mark group, by mark type (symbol, line, rect, rule, …). */
function marks(svg: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of svg.matchAll(/<g class="mark-(\w+) role-mark[^"]*"[^>]*>(.*?)<\/g>/gs)) {
    const n = (m[2]!.match(/<(path|line)\b/g) ?? []).length;
    out[m[1]!] = (out[m[1]!] ?? 0) + n;
  }
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
const std = (xs: number[]) => Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1));

describe('report of one study', () => {
  const label = 'l1 <b>& filter';
  const results = makeStudyResults({ methodLabel: label, failedRun: true });
  let report: RenderedReport;

  beforeAll(async () => {
    report = await renderReport(validateResults(results, 'fixture'));
  });

  it('the fixture is a valid results file', () => {
    expect(() => validateResults(makeStudyResults(), 'fixture')).not.toThrow();
    expect(() => validateResults(makeStudyResults({ timingOnly: true }), 'fixture')).not.toThrow();
  });

  it('headline: mean ± sample std accuracy over seeds per method × sparsity, speedups per format and batch', () => {
    const accs = FIXTURE_SEEDS.map((s) => 100 * fixtureAccuracy(false, 0.75, s));
    const expected = `${mean(accs).toFixed(2)} ± ${std(accs).toFixed(2)}`;
    const random = FIXTURE_SEEDS.map((s) => 100 * fixtureAccuracy(true, 0.5, s));
    expect(report.markdown).toContain(`| l1 &lt;b&gt;&amp; filter | 75% | 76.5% | ${expected} | 2 | dense |`);
    expect(report.markdown).toContain(`| random filter | 50% | 51% | ${mean(random).toFixed(2)} ± ${std(random).toFixed(2)} | 2 | dense |`);
    // l1 at 75%: compacted FLOP speedup 1/0.25² = 16, measured 0.75 of it at both batches.
    expect(report.markdown).toMatch(/\| compacted \| 16\.00× \| 12\.00× \| 0\.75 \| 12\.00× \| 0\.75 \|/);
    // 2 of 3 runs completed at l1 50% (one failed), with its error listed.
    expect(report.markdown).toMatch(/\| 51% \| [\d.]+ ± [\d.]+ \| 2\/3 \|/);
    expect(report.markdown).toContain('compaction failed: layer features.3 has no filter left');
    const text = headlineTable(results);
    expect(text).toContain(expected);
    expect(text).toContain('batch 64');
    expect(Math.max(...text.split('\n').filter((l) => !l.startsWith('* ')).map((l) => [...l].length))).toBeLessThanOrEqual(140);
  });

  it('a skipped format shows its reason, and is never plotted', () => {
    expect(report.markdown).toContain(`| bsr | skipped |`);
    expect(report.markdown).toContain(SKIPPED_BSR_REASON);
    expect(report.html).toContain(SKIPPED_BSR_REASON);
    expect(report.text).toContain(SKIPPED_BSR_REASON);
    for (const svg of Object.values(report.svgs)) expect(svg).not.toMatch(/>bsr</);
  });

  it('four plots with marks and axis titles that give units and protocol', () => {
    expect(Object.keys(report.svgs).sort()).toEqual(['accuracy', 'layer-times', 'pareto', 'speedup']);
    const a = marks(report.svgs.accuracy!);
    expect(a.symbol).toBe(4); // 2 methods × 2 sparsities: one mean point each
    expect(a.line).toBeGreaterThanOrEqual(2);
    expect(a.rule).toBeGreaterThanOrEqual(5); // error bars + dense baseline rule
    expect(report.svgs.accuracy).toContain('final test accuracy (%)');
    expect(report.svgs.accuracy).toContain('target sparsity (% of weights or units pruned)');
    expect(report.svgs.accuracy).toContain('dense model 98.91%');
    expect(report.svgs.accuracy).toContain('stroke-dasharray'); // the random baseline is dashed
    const s = marks(report.svgs.speedup!);
    // 8 runs × 3 timed non-dense formats (masked, csr, compacted) × 2 batches.
    expect(s.symbol).toBe(48);
    expect(report.svgs.speedup).toContain('FLOP speedup (×, log)');
    expect(report.svgs.speedup).toContain('measured speedup (×, log)');
    expect(report.svgs.speedup).toContain('one multiply-add = 2 FLOPs');
    expect(report.svgs.speedup).toContain('median');
    const l = marks(report.svgs['layer-times']!);
    // 2 methods × 4 weighted layers × 4 formats.
    expect(l.rect).toBe(32);
    expect(report.svgs['layer-times']).toContain('time (ms, median)');
    expect(report.svgs['layer-times']).toContain('l1 &lt;b&gt;&amp; filter @ 75% (seed 0, batch 64)');
    const p = marks(report.svgs.pareto!);
    // 8 runs × 4 timed formats + the unpruned dense model.
    expect(p.symbol).toBe(33);
    expect(p.line).toBeGreaterThanOrEqual(1);
    expect(report.svgs.pareto).toContain('latency at batch 64 (ms per forward pass, median, log)');
    expect(report.svgs.pareto).toContain('final test accuracy (%)');
  });

  it('plots compile without Vega or Vega-Lite warnings', async () => {
    const sources = labelSources([results, makeStudyResults({ adapter: 'Other GPU' })]);
    for (const plot of [accuracyPlot(results), speedupPlot(sources.slice(0, 1)), layerTimesPlot(results), paretoPlot(sources.slice(0, 1)), speedupPlot(sources, true), paretoPlot(sources, true)]) {
      if (!('spec' in plot)) throw new Error(`${plot.name} skipped: ${plot.skipped}`);
      const warnings: string[] = [];
      await renderSvg(plot.spec, warnings);
      expect(warnings, plot.name).toEqual([]);
    }
  });

  it('the Pareto front keeps exactly the points nothing beats on both latency and accuracy', () => {
    const pts = [{ latencyMs: 1, accuracy: 90 }, { latencyMs: 2, accuracy: 95 }, { latencyMs: 3, accuracy: 94 }, { latencyMs: 4, accuracy: 97 }, { latencyMs: 1.5, accuracy: 89 }];
    expect(paretoFront(pts)).toEqual([pts[0], pts[1], pts[3]]);
  });

  it('Markdown links every plot file and holds the setup, run details and profile', () => {
    for (const name of Object.keys(report.svgs)) expect(report.markdown).toContain(`](plots/${name}.svg)`);
    expect(report.markdown).toContain(results.protocol.description);
    expect(report.markdown).toContain(results.command);
    expect(report.markdown).toContain(results.notes[0]);
    expect(report.markdown).toContain('94.31 → 98.31'); // l1 50% seed 0: pruned → final
    expect(report.markdown).toContain('| classifier.0 | Linear | 120 | 30,840 |');
    expect(report.markdown).not.toContain('<b>');
  });

  it('HTML: one offline page, every plot inline, labels escaped', () => {
    const html = report.html;
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    expect(html).not.toMatch(/url\(\s*["']?(?:https?:)?\/\//i);
    expect(html).not.toMatch(/@import/i);
    // The only URIs are SVG namespace names.
    for (const m of html.matchAll(/https?:\/\/[^\s"'<>]+/g)) expect(m[0]).toMatch(/^http:\/\/www\.w3\.org\/(2000\/svg|1999\/xlink)$/);
    expect(html.match(/<figure class="plot"/g)).toHaveLength(4);
    expect(html.match(/<svg\b/g)).toHaveLength(4);
    expect(html).toContain('l1 &lt;b&gt;&amp; filter');
    expect(html).not.toContain('<b>&');
    for (const s of [results.device.adapter, results.protocol.description, results.versions.webgpu!, 'features.3', 'Conv2d', '30,840']) expect(html).toContain(s);
  });

  it('timing-only data: accuracy not claimed, accuracy plots skipped with a note', async () => {
    const r = await renderReport(makeStudyResults({ timingOnly: true }));
    expect(Object.keys(r.svgs).sort()).toEqual(['layer-times', 'speedup']);
    expect(r.skipped.join('\n')).toMatch(/No accuracy plot: timing-only/);
    expect(r.skipped.join('\n')).toMatch(/No accuracy–latency plot: timing-only/);
    expect(r.markdown).toContain('Timing only');
    expect(r.markdown).toContain('accuracy not measured');
    expect(r.html).toContain('No accuracy plot: timing-only');
  });

  it('a second runtime (ONNX Runtime): its speedups next to ours in the headline, its rows in the run details; absent without it', async () => {
    const withOrt = makeStudyResults({ onnxruntime: true });
    expect(() => validateResults(withOrt, 'fixture')).not.toThrow();
    expect(report.markdown).not.toContain('Second runtime');
    expect(report.markdown).not.toContain('on ORT');
    const r = await renderReport(withOrt);
    // l1 filter at 75%: compacted FLOP× 16; ours 12× (0.75), ORT 0.9 of 16 = 14.4× (0.90), at both batches.
    const ort = ortSpeedup('compacted', 0.75);
    expect(ort).toBeCloseTo(14.4, 9);
    expect(r.markdown).toContain('| batch 1 wgprune × | batch 1 ORT × | batch 1 wgprune realiz. | batch 1 ORT realiz. |');
    expect(r.markdown).toContain('|  |  | compacted | 16.00× | 12.00× | 14.40× | 0.75 | 0.90 | 12.00× | 14.40× | 0.75 | 0.90 |');
    expect(r.markdown).toMatch(/Second runtime: ONNX Runtime 1\.30\.0 \(onnxruntime-node, CPU, 2 intra-op threads, graph optimisation all\)/);
    expect(r.text).toContain('Second runtime: ONNX Runtime 1.30.0');
    expect(r.text).toMatch(/compacted +16\.00× +12\.00× +14\.40× +0\.75 +0\.90/);
    // Run details: one row per ORT format with the .onnx file's size, its output error and latencies.
    expect(r.markdown).toMatch(/\| compacted on ORT \| ok \(ONNX Runtime, vs its dense\) \| 16\.00× \| 58\.6 KiB \| 2\.0e-7 \| [^|]+ \| [^|]+ \| 14\.40× \| 0\.90 \|/);
    expect(r.html).toContain('masked on ORT');
    expect(r.html).toContain('Second runtime: ONNX Runtime 1.30.0');
  });
});

describe('kernel plans behind the timings', () => {
  it('plans are grouped by family, variant and source, counting distinct problems, in first-seen order', () => {
    const plans: PlanUse[] = [
      { family: 'conv-fwd', problem: '1x6x24x24 k5', variant: 'window', source: 'rule' },
      { family: 'matmul', problem: '1x256x120', variant: 'texture-4x2', source: 'tuned' },
      { family: 'conv-fwd', problem: '1x16x8x8 k5', variant: 'window', source: 'rule' },
      // The same problem planned again (every launch plans) counts once.
      { family: 'conv-fwd', problem: '1x6x24x24 k5', variant: 'window', source: 'rule' },
      { family: 'matmul', problem: '1x120x10', variant: 'texture-4x2', source: 'rule' },
    ];
    expect(countPlans(plans)).toEqual([
      { family: 'conv-fwd', variant: 'window', source: 'rule', problems: 2 },
      { family: 'matmul', variant: 'texture-4x2', source: 'tuned', problems: 1 },
      { family: 'matmul', variant: 'texture-4x2', source: 'rule', problems: 1 },
    ]);
    expect(formatPlans(plans)).toBe('conv-fwd window (rule) ×2, matmul texture-4x2 (tuned), matmul texture-4x2 (rule)');
    expect(formatPlans([])).toBe('no planned kernels');
  });

  it('results with plans are valid; the report names the device profile and every timing\'s plans', async () => {
    const results = validateResults(makeStudyResults({ plans: true }), 'fixture');
    const r = await renderReport(results);
    const planning = `profile llvmpipe (${FIXTURE_PROFILE.reason}); tuning table in use (3 entries)`;
    expect(r.markdown).toContain(`- **kernel planning:** ${planning}`);
    expect(r.html).toContain(`<dt>kernel planning</dt><dd>${planning.replace(/'/g, '&#39;')}</dd>`);
    // The run details end with the plans column: per batch where the batches' plans differ, once where they agree.
    expect(r.markdown).toMatch(/\| batch 64 realiz\. \| kernel plans \|\n/);
    const dense = 'batch 1: conv-fwd window (rule) ×2, matmul gemv (rule) ×2; batch 64: conv-fwd window (rule) ×2, matmul tiled-16x4 (tuned) ×2';
    expect(r.markdown).toMatch(new RegExp(`\\| dense \\| ok \\| 1\\.00× \\|[^\\n]*\\| ${dense.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\|\n`));
    expect(r.markdown).toMatch(/\| sparse-conv csr-gather \(rule\) ×2, spmm-csr row-vec4 \(rule\) \|\n/);
    // A skipped format was not timed: its plans cell is empty.
    expect(r.markdown).toMatch(/\| bsr \| skipped: [^\n]*\|  \|\n/);
    expect(r.markdown).toContain('kernel plans: the kernel variants the planners chose while the format was timed');
    expect(r.html).toContain('<th class="wrap">kernel plans</th>');
    expect(r.html).toContain(`<td class="wrap">${dense}</td>`);
    // Compared with an older file (no plans, no profile): both render, each says what it recorded.
    const both = await renderReport(results, { compare: [makeStudyResults({ adapter: 'Other GPU' })] });
    expect(both.markdown).toContain(`_lenet5; kernel planning: ${planning}; command: `);
    expect(both.markdown).toMatch(/_lenet5; command: /);
  });

  it('a results file without plans (older files, the CPU backend) is valid and renders without the column', async () => {
    const plain = makeStudyResults();
    expect(plain.runs[0]!.formats[0]!.latency[0]!.plans).toBeUndefined();
    expect(plain.device.profile).toBeUndefined();
    const r = await renderReport(validateResults(plain, 'fixture'));
    expect(r.markdown).not.toContain('kernel plan');
    expect(r.html).not.toContain('kernel plan');
    expect(r.markdown).toContain('| dense | ok | 1.00× |');
  });

  it('the schema refuses malformed plans and device planning facts', () => {
    const bad = makeStudyResults({ plans: true });
    const latency = bad.runs[0]!.formats[1]!.latency[0]!;
    latency.plans = [{ ...latency.plans![0]!, source: 'guessed' as 'rule', problems: 0 }];
    (bad.device as { tuning?: unknown }).tuning = { inUse: 'yes', entries: 3 };
    const message = (() => {
      try {
        validateResults(bad, 'bad');
        return 'valid';
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(message).toContain('/runs/0/formats/1/latency/0/plans/0/source: must be equal to one of the allowed values');
    expect(message).toContain('/runs/0/formats/1/latency/0/plans/0/problems: must be >= 1');
    expect(message).toContain('/device/tuning/inUse: must be boolean');
  });
});

describe('comparing results files', () => {
  it('headline per source and the speedup and Pareto plots coloured by source', async () => {
    const a = makeStudyResults();
    const b = makeStudyResults({ adapter: 'NVIDIA H200 <core>', latencyScale: 0.05, startedAt: '2026-12-06T08:00:00.000Z' });
    const r = await renderReport(a, { compare: [b] });
    expect(Object.keys(r.svgs)).toEqual(expect.arrayContaining(['compare-speedup', 'compare-pareto']));
    const adapters = ['llvmpipe (LLVM 15.0.6, 256 bits) — 2026-12-04', 'NVIDIA H200 &lt;core&gt; — 2026-12-06'];
    for (const name of ['compare-speedup', 'compare-pareto']) {
      for (const s of adapters) expect(r.svgs[name]).toContain(s);
      expect(marks(r.svgs[name]!).symbol).toBeGreaterThan(0);
    }
    for (const s of adapters) expect(r.html).toContain(`<h3>${s}</h3>`);
    expect(r.markdown).toContain('### NVIDIA H200 &lt;core&gt; — 2026-12-06');
    expect(r.text).toContain('NVIDIA H200 <core> — 2026-12-06');
    expect(r.text).toContain('llvmpipe (LLVM 15.0.6, 256 bits) — 2026-12-04');
    // The faster device's dense latency at batch 64 (0.05 × 8.48 ms).
    expect(r.text).toContain('0.424 ms at batch 64');
  });
});

describe('files and the command', () => {
  it('writeReport writes report.md, report.html and every plot the Markdown links', async () => {
    const out = join(dir, 'written');
    const w = await writeReport(out, makeStudyResults());
    expect(existsSync(w.markdown) && existsSync(w.html)).toBe(true);
    const md = readFileSync(w.markdown, 'utf8');
    const links = [...md.matchAll(/\]\((plots\/[\w-]+\.svg)\)/g)].map((m) => m[1]!);
    expect(links).toHaveLength(4);
    for (const link of links) expect(readFileSync(join(out, link), 'utf8')).toMatch(/^<svg /);
    expect(w.plots).toHaveLength(4);
  });

  it('invalid input is refused naming the file (exit code 2)', async () => {
    const bad = makeStudyResults() as unknown as { runs: Array<{ sparsity: number }> };
    bad.runs[0]!.sparsity = 1.5;
    const badFile = join(dir, 'bad-results.json');
    writeFileSync(badFile, JSON.stringify(bad));
    const brokenFile = join(dir, 'broken.json');
    writeFileSync(brokenFile, '{"schema": "wgprune-study/1",');
    const missing = join(dir, 'missing.json');
    for (const [file, why] of [[badFile, /is not a valid wgprune study results file:\n {2}\/runs\/0\/sparsity: must be < 1/], [brokenFile, /is not valid JSON/], [missing, /no such file/]] as const) {
      const err = await loadResults(file).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ResultsFileError);
      expect((err as ResultsFileError).exitCode).toBe(2);
      expect((err as Error).message).toContain(file);
      expect((err as Error).message).toMatch(why);
    }
    const good = join(dir, 'results.json');
    writeFileSync(good, JSON.stringify(makeStudyResults()));
    await expect(reportCommand(good, { compare: [badFile], out: join(dir, 'never') }, () => undefined)).rejects.toThrow(badFile);
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('wgprune report (built CLI): writes next to results.json by default; bad input prints "wgprune: <file> …" and exits 2', () => {
    const study = join(dir, 'cli');
    const results = join(study, 'results.json');
    rmSync(study, { recursive: true, force: true });
    const other = join(dir, 'other.json');
    mkdirSync(study, { recursive: true });
    writeFileSync(results, JSON.stringify(makeStudyResults()));
    writeFileSync(other, JSON.stringify(makeStudyResults({ adapter: 'Other GPU', startedAt: '2026-12-07T00:00:00.000Z' })));
    const ok = spawnSync(process.execPath, ['dist/cli.js', 'report', results, '--compare', other], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('Other GPU — 2026-12-07');
    expect(existsSync(join(study, 'report.html'))).toBe(true);
    expect(existsSync(join(study, 'plots', 'compare-pareto.svg'))).toBe(true);
    const badFile = join(dir, 'not-results.json');
    writeFileSync(badFile, JSON.stringify({ hello: 'world' }));
    const bad = spawnSync(process.execPath, ['dist/cli.js', 'report', results, '--compare', badFile], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(new RegExp(`^wgprune: '${badFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}' is not a valid wgprune study results file`));
    const missing = spawnSync(process.execPath, ['dist/cli.js', 'report', join(dir, 'nope.json')], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain(`wgprune: cannot read results file '${join(dir, 'nope.json')}': no such file`);
  });
});
