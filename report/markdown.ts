/** The report as Markdown (report.md); plots are linked as plots/<name>.svg next to it. */
import type { Block, ReportDocument } from './document.js';
import { escapeMarkdown } from './escape.js';
import { tableMarkdown } from './table.js';

/** The directory, relative to report.md, that holds the plot files. */
export const PLOTS_DIR = 'plots';

function block(b: Block): string {
  switch (b.kind) {
    case 'heading': return `${'#'.repeat(b.level)} ${escapeMarkdown(b.text)}`;
    case 'paragraph': return b.note ? `_${escapeMarkdown(b.text)}_` : escapeMarkdown(b.text);
    case 'facts': return b.items.map(([k, v]) => `- **${escapeMarkdown(k)}:** ${escapeMarkdown(v)}`).join('\n');
    case 'code': {
      const fence = '`'.repeat(Math.max(3, ...[...b.text.matchAll(/`+/g)].map((m) => m[0].length + 1)));
      return `${fence}sh\n${b.text}\n${fence}`;
    }
    case 'list': return b.items.map((i) => `- ${escapeMarkdown(i)}`).join('\n');
    case 'table': return [b.caption ? `_${escapeMarkdown(b.caption)}_\n` : '', tableMarkdown(b.table)].join('');
    case 'plot': return b.skipped ? `_${escapeMarkdown(b.skipped)}_` : `![${escapeMarkdown(b.title)}](${PLOTS_DIR}/${b.name}.svg)`;
    case 'details': return `**${escapeMarkdown(b.summary)}**\n\n${b.blocks.map(block).join('\n\n')}`;
  }
}

export function toMarkdown(doc: ReportDocument): string {
  return `${doc.map(block).join('\n\n')}\n`;
}
