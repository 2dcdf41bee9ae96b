/** Reads a study's results.json, refusing anything that is not a valid results file with a message naming it. */
import { readFile } from 'node:fs/promises';
import type { StudyResults } from '../study/results.js';
import { validateResults } from '../study/validate.js';

/** Bad input to the report (missing file, invalid JSON, schema violation): the command exits with code 2. */
export class ResultsFileError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'ResultsFileError';
  }
}

export async function loadResults(path: string): Promise<StudyResults> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ResultsFileError(`cannot read results file '${path}': ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (e as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ResultsFileError(`'${path}' is not valid JSON: ${(e as Error).message}`);
  }
  try {
    return validateResults(data, `'${path}'`);
  } catch (e) {
    throw new ResultsFileError((e as Error).message);
  }
}
