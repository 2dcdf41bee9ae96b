/** `wgprune report`: re-renders a study's results.json as report.md, report.html and plots/*.svg. */
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadResults, writeReport } from '../report/index.js';

export interface ReportCommandOptions {
  /** Other results files (e.g. from other devices) shown side by side. */
  compare?: string[];
  /** Output folder (default: the folder holding the results file). */
  out?: string;
}

/**
 * Loads and checks every results file first (a missing, unreadable or invalid one is refused
 * with exit code 2 naming it), then writes the report and prints the headline table.
 */
export async function reportCommand(file: string, o: ReportCommandOptions, log: (line: string) => void = console.log): Promise<void> {
  const results = await loadResults(file);
  const compare = [];
  for (const other of o.compare ?? []) compare.push(await loadResults(other));
  const dir = resolve(o.out ?? dirname(file));
  const written = await writeReport(dir, results, { compare });
  log(written.rendered.text);
  log('');
  for (const line of written.rendered.skipped) log(line);
  log(`wrote ${written.markdown}`);
  log(`wrote ${written.html}`);
  if (written.plots.length) log(`wrote ${written.plots.length} plot${written.plots.length === 1 ? '' : 's'} in ${dirname(written.plots[0]!)}`);
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('render a study\'s results.json as report.md, a self-contained report.html and plots/*.svg, and print the headline table')
    .argument('<results>', 'results.json written by wgprune study')
    .option('--compare <files...>', 'other results files (e.g. from other devices) to show side by side')
    .option('-o, --out <dir>', 'output folder (default: the folder holding the results file)')
    .action(async (file: string, opts: ReportCommandOptions) => {
      await reportCommand(file, opts);
    });
}
