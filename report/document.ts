/** The report as a list of blocks, written once and rendered to Markdown and to HTML. */
import type { Table } from './table.js';

export type Block =
  | { kind: 'heading'; level: 1 | 2 | 3; text: string; id?: string }
  | { kind: 'paragraph'; text: string; note?: boolean }
  | { kind: 'facts'; items: Array<[label: string, value: string]> }
  | { kind: 'code'; text: string }
  | { kind: 'list'; items: string[] }
  | { kind: 'table'; table: Table; caption?: string }
  | { kind: 'plot'; name: string; title: string; skipped?: string }
  | { kind: 'details'; summary: string; blocks: Block[] };

export type ReportDocument = Block[];
