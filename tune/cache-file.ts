/**
 * The tuning cache on disk (Node only): one JSON file holding the tables measured on several
 * adapters, each under its adapter key (`adapterKey`). `wgprune tune` merges what it measured
 * into it; a WebGPU backend started in Node loads its adapter's table from it.
 *
 * The document's format is shared with the browser's IndexedDB store (./cache-format.ts,
 * ./cache-browser.ts): a table tuned in a page can be copied here, and back.
 *
 * Where: `--cache FILE` (CLI) or `WGPRUNE_TUNING_CACHE`, else `$XDG_CACHE_HOME/wgprune/tuning.json`,
 * else `~/.cache/wgprune/tuning.json`. `WGPRUNE_TUNING_CACHE=off` turns the cache off (nothing is
 * read at start-up; `wgprune tune` needs `--cache` then).
 *
 * Writes go to a temporary file in the same folder, renamed over the cache (readers see the old
 * or the new file, never half of one). A file that is not a tuning cache is never overwritten:
 * reading it throws TuningCacheError naming the file and what is wrong.
 */
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTuningSource } from '../engine/registry.js';
import { cacheText, emptyCache, mergeTables, parseCache, type StoredTable, type TuningCache, TuningCacheError } from './cache-format.js';

export { CACHE_FORMAT, CACHE_VERSION, checkCache, emptyCache, mergeTables, TuningCacheError } from './cache-format.js';
export type { StoredTable, TuningCache } from './cache-format.js';

/** What a user can do about a malformed cache file. */
const FILE_ADVICE = 'It is left as it is; delete or move it (or name another file with --cache / WGPRUNE_TUNING_CACHE)';

type Env = Record<string, string | undefined>;

/** The cache file in use: the given one, else WGPRUNE_TUNING_CACHE, else the user's cache folder; null when turned off. */
export function cachePath(override?: string, env: Env = process.env): string | null {
  if (override) return override;
  const set = env.WGPRUNE_TUNING_CACHE;
  if (set === 'off') return null;
  if (set) return set;
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'wgprune', 'tuning.json');
}

/** Reads a cache file; a missing file is an empty cache, anything unreadable or malformed throws TuningCacheError. */
export function readCache(file: string): TuningCache {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyCache();
    throw new TuningCacheError(file, `it cannot be read (${(e as Error).message})`, FILE_ADVICE);
  }
  try {
    return parseCache(file, text);
  } catch (e) {
    if (e instanceof TuningCacheError) throw new TuningCacheError(file, e.why, FILE_ADVICE);
    throw e;
  }
}

/** The table measured on an adapter, or null (no file, or no table for that adapter). */
export function loadTable(file: string, adapter: string): StoredTable | null {
  return readCache(file).tables[adapter] ?? null;
}

/**
 * Merges a table into the cache file (other adapters' tables and this adapter's other problems
 * are kept) and writes it atomically. A malformed existing file throws TuningCacheError and is
 * left alone. Returns the merged table.
 */
export function writeTable(file: string, table: StoredTable): StoredTable {
  const cache = readCache(file);
  const merged = mergeTables(cache.tables[table.adapter], table);
  cache.tables[table.adapter] = merged;
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    writeFileSync(tmp, cacheText(cache));
    renameSync(tmp, file);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
    throw e;
  }
  return merged;
}

/**
 * Makes WebGPU backends started in this process load their adapter's table from the cache
 * (`file`, else the default location; nothing when WGPRUNE_TUNING_CACHE=off). A malformed
 * cache is reported once at start-up and the profile's rules apply.
 */
export function useTuningCache(file?: string): void {
  const path = cachePath(file);
  setTuningSource(path ? (adapter) => loadTable(path, adapter) : null);
}
