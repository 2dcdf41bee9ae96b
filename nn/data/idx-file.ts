/** IDX files (Node): read and parsed by ./idx.ts. */
import { readFile } from 'node:fs/promises';
import { type IdxArray, type IdxKind, parseIdx } from './idx.js';

/** Reads and parses an IDX file; errors name the path. */
export async function readIdxFile(path: string, expect?: IdxKind): Promise<IdxArray> {
  const bytes = await readFile(path);
  return parseIdx(bytes, { name: path, expect });
}
