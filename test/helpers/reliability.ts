/**
 * Reliability entries: what a test tried (a property and its cases, a fault injected, a bad
 * input, a soak's figures) and how it came out, for RELIABILITY.md. Any test may call
 * `record(category, name, detail)`; the entry rides on the running test's metadata to the
 * reporter (test/helpers/reliability-reporter.ts), which writes RELIABILITY.md at the end of a
 * run started by `npm run reliability`. Outside such a run the entries cost nothing and go nowhere.
 */
import { TestRunner } from 'vitest';

export type Category = 'property' | 'fault' | 'bad-input' | 'soak';

export interface ReliabilityEntry {
  category: Category;
  /** What was tried, in a few words. */
  name: string;
  /** JSON-serialisable facts: seeds, run counts, figures, the outcome seen. */
  detail: Record<string, unknown>;
}

declare module 'vitest' {
  interface TaskMeta {
    reliability?: ReliabilityEntry[];
  }
}

/** Adds an entry to the running test (call it from inside a test, not from a hook). */
export function record(category: Category, name: string, detail: Record<string, unknown> = {}): void {
  const test = TestRunner.getCurrentTest();
  if (!test) throw new Error(`reliability record '${name}': not inside a running test`);
  (test.meta.reliability ??= []).push({ category, name, detail: JSON.parse(JSON.stringify(detail)) as Record<string, unknown> });
}
