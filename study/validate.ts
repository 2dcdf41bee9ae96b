/**
 * Checks a study's `results.json` against the JSON Schema shipped with the package
 * (`results.schema.json`), so a file from another machine or version is refused with the
 * paths of what is wrong rather than half-read.
 */
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import schema from './results.schema.json' with { type: 'json' };
import type { StudyResults } from './results.js';

export { schema as resultsSchema };

let compiled: ((data: unknown) => boolean) & { errors?: Array<{ instancePath: string; message?: string }> | null } | null = null;

/** The schema's complaints about `data` (empty when it is valid): 'path: message' each. */
export function resultsErrors(data: unknown): string[] {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
    addFormats(ajv);
    compiled = ajv.compile(schema);
  }
  if (compiled(data)) return [];
  return (compiled.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? 'invalid'}`);
}

/** Returns `data` typed as study results, or throws naming every schema violation (`what` names the source). */
export function validateResults(data: unknown, what = 'results'): StudyResults {
  const errors = resultsErrors(data);
  if (errors.length) {
    const shown = errors.slice(0, 12);
    throw new Error(`${what} is not a valid wgprune study results file:\n  ${shown.join('\n  ')}${errors.length > shown.length ? `\n  … and ${errors.length - shown.length} more` : ''}`);
  }
  return data as StudyResults;
}
