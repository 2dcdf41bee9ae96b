/** Renders a study's results (and optionally others to compare) to Markdown, HTML, SVG plots and terminal text. */
import type { StudyResults } from '../study/results.js';
import { headlineTable } from './headline.js';
import { toHtml } from './html.js';
import { toMarkdown } from './markdown.js';
import { accuracyPlot, layerTimesPlot, paretoPlot, renderSvg, speedupPlot, type Plot } from './plots/index.js';
import { reportDocument } from './sections.js';
import { labelSources } from './source.js';

export interface ReportOptions {
  /** Other results files (typically other devices) to show side by side with the main one. */
  compare?: StudyResults[];
}

export interface RenderedReport {
  /** report.md: links its plots as plots/<name>.svg. */
  markdown: string;
  /** report.html: one self-contained page. */
  html: string;
  /** Every rendered plot by name (the file name without .svg). */
  svgs: Record<string, string>;
  /** The headline table(s) for the terminal. */
  text: string;
  /** One line per plot left out for lack of data. */
  skipped: string[];
}

async function renderPlots(plots: Plot[]): Promise<Record<string, string>> {
  const svgs: Record<string, string> = {};
  for (const p of plots) if ('spec' in p) svgs[p.name] = await renderSvg(p.spec);
  return svgs;
}

export async function renderReport(results: StudyResults, options: ReportOptions = {}): Promise<RenderedReport> {
  const others = options.compare ?? [];
  const sources = labelSources([results, ...others]);
  const main = sources.slice(0, 1);
  const plots = [accuracyPlot(results), speedupPlot(main), layerTimesPlot(results), paretoPlot(main)];
  const comparePlots = others.length ? [speedupPlot(sources, true), paretoPlot(sources, true)] : [];
  const svgs = await renderPlots([...plots, ...comparePlots]);
  const doc = reportDocument({ results, plots, compare: others.length ? sources : [], comparePlots });
  const skipped = [...plots, ...comparePlots].filter((p): p is Extract<Plot, { skipped: string }> => 'skipped' in p).map((p) => p.skipped);
  const heading = (label: string, r: StudyResults) => `${r.model.name} — ${label}${r.complete ? '' : ` (incomplete: ${r.stopReason ?? 'stopped'})`}`;
  const text = (others.length ? sources : main).map((s) => `${heading(s.label, s.results)}\n${headlineTable(s.results)}`).join('\n\n');
  return { markdown: toMarkdown(doc), html: toHtml(doc, svgs), svgs, text, skipped };
}
