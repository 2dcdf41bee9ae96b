/** How a results file is named when several are compared: its device adapter and the date it started. */
import type { StudyResults } from '../study/results.js';

export interface Source {
  label: string;
  results: StudyResults;
}

/** 'adapter — YYYY-MM-DD' per results; repeated labels get ' (2)', ' (3)', … so each is unique. */
export function labelSources(all: StudyResults[]): Source[] {
  const seen = new Map<string, number>();
  return all.map((results) => {
    const base = `${results.device.adapter || results.device.backend} — ${results.startedAt.slice(0, 10)}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return { label: n === 1 ? base : `${base} (${n})`, results };
  });
}
