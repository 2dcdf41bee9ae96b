/**
 * The study report: renders a `results.json` (and optionally others, e.g. from other devices) as
 * a terminal headline table, Markdown with SVG plots, and one self-contained HTML page.
 *
 *   const results = await loadResults('study/results.json');
 *   const { markdown, html, plots } = await writeReport('study', results, { compare: [other] });
 */
export { renderReport, type RenderedReport, type ReportOptions } from './render.js';
export { writeReport, type WrittenReport } from './write.js';
export { loadResults, ResultsFileError } from './load.js';
export { headline, headlineTable, headlineMarkdown, type Headline } from './headline.js';
export { summarizeSettings, type SettingSummary, type FormatSummary, type BatchSummary } from './summary.js';
export { labelSources, type Source } from './source.js';
export { accuracyPlot, speedupPlot, layerTimesPlot, paretoPlot, paretoFront, renderSvg, type Plot } from './plots/index.js';
export { tableText, tableMarkdown, tableHtml, type Table, type Column, type Row } from './table.js';
export { escapeHtml, escapeMarkdown } from './escape.js';
