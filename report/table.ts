/**
 * A table as data, rendered three ways: fixed-width text for the terminal, Markdown, and HTML.
 * Columns may be grouped (e.g. one group per batch size): text and HTML print the group over
 * its columns, Markdown prefixes it to each column title.
 */
import { escapeHtml, escapeMarkdown } from './escape.js';

export interface Column {
  title: string;
  /** Numbers are right-aligned. */
  align?: 'left' | 'right';
  group?: string;
  /** Long text (reasons, values): HTML lets it wrap; other columns keep each cell on one line. */
  wrap?: boolean;
}

export interface Row {
  cells: string[];
  /** First row of a block of related rows: a rule is drawn above it. */
  startsBlock?: boolean;
}

export interface Table {
  columns: Column[];
  rows: Row[];
}

const GAP = '  ';

function pad(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const fill = ' '.repeat(Math.max(0, width - [...text].length));
  return align === 'right' ? fill + text : text + fill;
}

/** Column groups as runs of consecutive columns: [group, first index, count]. */
function groupRuns(columns: Column[]): Array<[string | undefined, number, number]> {
  const runs: Array<[string | undefined, number, number]> = [];
  columns.forEach((c, i) => {
    const last = runs.at(-1);
    if (last && last[0] === c.group) last[2]++;
    else runs.push([c.group, i, 1]);
  });
  return runs;
}

/** Fixed-width text: a group line, the titles, a rule, and the rows (rules between blocks). */
export function tableText(t: Table): string {
  const len = (s: string) => [...s].length;
  const widths = t.columns.map((c, i) => Math.max(len(c.title), ...t.rows.map((r) => len(r.cells[i] ?? ''))));
  const runs = groupRuns(t.columns);
  // A group label wider than its columns widens the group's last column.
  for (const [group, first, n] of runs) {
    if (!group) continue;
    const span = widths.slice(first, first + n).reduce((a, w) => a + w, 0) + GAP.length * (n - 1);
    if (len(group) + 2 > span) widths[first + n - 1]! += len(group) + 2 - span;
  }
  const total = widths.reduce((a, w) => a + w, 0) + GAP.length * (widths.length - 1);
  const lines: string[] = [];
  if (runs.some(([g]) => g)) {
    lines.push(runs.map(([group, first, n]) => {
      const span = widths.slice(first, first + n).reduce((a, w) => a + w, 0) + GAP.length * (n - 1);
      return group ? `${group} ${'─'.repeat(Math.max(0, span - len(group) - 1))}` : ' '.repeat(span);
    }).join(GAP).trimEnd());
  }
  const line = (cells: string[]) => t.columns.map((c, i) => pad(cells[i] ?? '', widths[i]!, c.align)).join(GAP).trimEnd();
  lines.push(line(t.columns.map((c) => c.title)));
  lines.push('─'.repeat(total));
  t.rows.forEach((r, i) => {
    if (r.startsBlock && i > 0) lines.push('╌'.repeat(total));
    lines.push(line(r.cells));
  });
  return lines.join('\n');
}

/** A Markdown (GFM) table; every cell is escaped. */
export function tableMarkdown(t: Table): string {
  const title = (c: Column) => escapeMarkdown(c.group ? `${c.group} ${c.title}` : c.title);
  const lines = [
    `| ${t.columns.map(title).join(' | ')} |`,
    `|${t.columns.map((c) => (c.align === 'right' ? '---:' : ':---')).join('|')}|`,
    ...t.rows.map((r) => `| ${t.columns.map((_, i) => escapeMarkdown(r.cells[i] ?? '')).join(' | ')} |`),
  ];
  return lines.join('\n');
}

/** An HTML table (in a scrolling wrapper); every cell is escaped. */
export function tableHtml(t: Table, caption?: string): string {
  const runs = groupRuns(t.columns);
  const head: string[] = [];
  if (runs.some(([g]) => g)) {
    head.push(`<tr>${runs.map(([g, , n]) => `<th colspan="${n}"${g ? ' class="group"' : ''}>${escapeHtml(g ?? '')}</th>`).join('')}</tr>`);
  }
  const cls = (c: Column) => (c.align === 'right' ? ' class="num"' : c.wrap ? ' class="wrap"' : '');
  head.push(`<tr>${t.columns.map((c) => `<th${cls(c)}>${escapeHtml(c.title)}</th>`).join('')}</tr>`);
  const body = t.rows.map((r) => `<tr${r.startsBlock ? ' class="block"' : ''}>${t.columns.map((c, i) => `<td${cls(c)}>${escapeHtml(r.cells[i] ?? '')}</td>`).join('')}</tr>`);
  return [
    '<div class="table">',
    '<table>',
    caption ? `<caption>${escapeHtml(caption)}</caption>` : '',
    `<thead>${head.join('')}</thead>`,
    `<tbody>\n${body.join('\n')}\n</tbody>`,
    '</table>',
    '</div>',
  ].filter(Boolean).join('\n');
}
