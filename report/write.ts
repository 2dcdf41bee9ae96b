/** Writes a rendered report to a directory: report.md, report.html and plots/<name>.svg. */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StudyResults } from '../study/results.js';
import { PLOTS_DIR } from './markdown.js';
import { renderReport, type RenderedReport, type ReportOptions } from './render.js';

export interface WrittenReport {
  markdown: string;
  html: string;
  plots: string[];
  /** What was rendered (text for the terminal, skipped plots). */
  rendered: RenderedReport;
}

/** Writes through a temporary file in the same directory and renames it, so a reader never sees half a file. */
async function writeAtomically(path: string, content: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, content, 'utf8');
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export async function writeReport(dir: string, results: StudyResults, options: ReportOptions = {}): Promise<WrittenReport> {
  const rendered = await renderReport(results, options);
  const plotDir = join(dir, PLOTS_DIR);
  await mkdir(plotDir, { recursive: true });
  const plots: string[] = [];
  for (const [name, svg] of Object.entries(rendered.svgs)) {
    const path = join(plotDir, `${name}.svg`);
    await writeAtomically(path, svg);
    plots.push(path);
  }
  const markdown = join(dir, 'report.md'), html = join(dir, 'report.html');
  await writeAtomically(markdown, rendered.markdown);
  await writeAtomically(html, rendered.html);
  return { markdown, html, plots, rendered };
}
