/**
 * The tuning cache on disk (Node only): one JSON file holding the tables measured on several
 * adapters, each under its adapter key (`adapterKey`). `wgprune tune` merges what it measured
 * into it; a WebGPU backend started in Node loads its adapter's table from it.
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
import { KERNEL_FAMILIES, type KernelFamily, type TunedEntry, type TuningTable } from '../gpu/profile.js';
import { setTuningSource } from '../engine/registry.js';

export const CACHE_FORMAT = 'wgprune-tuning';
export const CACHE_VERSION = 1;

/** A table as stored: the tuner adds when it was measured and under which profile. */
export interface StoredTable extends TuningTable {
  /** ISO time of the last tuning run that wrote into this table. */
  updated?: string;
  /** The device profile in force when it was measured (its rules were the baseline). */
  profile?: string;
}

export interface TuningCache {
  format: typeof CACHE_FORMAT;
  version: number;
  tables: Record<string, StoredTable>;
}

export class TuningCacheError extends Error {
  override name = 'TuningCacheError';
  constructor(readonly file: string, why: string) {
    super(`${file} is not a usable wgprune tuning cache: ${why}. It is left as it is; delete or move it (or name another file with --cache / WGPRUNE_TUNING_CACHE)`);
  }
}

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

export function emptyCache(): TuningCache {
  return { format: CACHE_FORMAT, version: CACHE_VERSION, tables: {} };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkEntry(file: string, where: string, e: unknown): TunedEntry {
  if (!isObject(e) || typeof e.variant !== 'string' || typeof e.ms !== 'number' || !isObject(e.candidates)) {
    throw new TuningCacheError(file, `${where} is not { variant, ms, candidates }`);
  }
  for (const [v, ms] of Object.entries(e.candidates)) {
    if (typeof ms !== 'number') throw new TuningCacheError(file, `${where}.candidates.${v} is not a number`);
  }
  return e as unknown as TunedEntry;
}

/** Checks a parsed cache's structure (every table, family and entry); throws TuningCacheError. */
export function checkCache(file: string, data: unknown): TuningCache {
  if (!isObject(data) || data.format !== CACHE_FORMAT) throw new TuningCacheError(file, `it has no "format": "${CACHE_FORMAT}" field`);
  if (data.version !== CACHE_VERSION) throw new TuningCacheError(file, `version ${String(data.version)} (this wgprune reads version ${CACHE_VERSION})`);
  if (!isObject(data.tables)) throw new TuningCacheError(file, '"tables" is not an object');
  for (const [key, table] of Object.entries(data.tables)) {
    if (!isObject(table) || table.adapter !== key || !isObject(table.entries)) throw new TuningCacheError(file, `table '${key}' lacks its adapter key or entries`);
    for (const [family, problems] of Object.entries(table.entries)) {
      if (!(KERNEL_FAMILIES as readonly string[]).includes(family)) throw new TuningCacheError(file, `table '${key}' names an unknown kernel family '${family}'`);
      if (!isObject(problems)) throw new TuningCacheError(file, `table '${key}', family ${family} is not an object`);
      for (const [problem, e] of Object.entries(problems)) checkEntry(file, `table '${key}', ${family} ${problem}`, e);
    }
  }
  return data as unknown as TuningCache;
}

/** Reads a cache file; a missing file is an empty cache, anything unreadable or malformed throws TuningCacheError. */
export function readCache(file: string): TuningCache {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyCache();
    throw new TuningCacheError(file, `it cannot be read (${(e as Error).message})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new TuningCacheError(file, `it is not valid JSON (${(e as Error).message})`);
  }
  return checkCache(file, data);
}

/** The table measured on an adapter, or null (no file, or no table for that adapter). */
export function loadTable(file: string, adapter: string): StoredTable | null {
  return readCache(file).tables[adapter] ?? null;
}

/** `table`'s entries laid over `base`'s, family by family and problem by problem (the newer figure wins). */
export function mergeTables(base: StoredTable | undefined, table: StoredTable): StoredTable {
  const entries: StoredTable['entries'] = {};
  for (const f of new Set([...Object.keys(base?.entries ?? {}), ...Object.keys(table.entries)]) as Set<KernelFamily>) {
    entries[f] = { ...(base?.entries[f] ?? {}), ...(table.entries[f] ?? {}) };
  }
  return { ...base, ...table, entries };
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
    writeFileSync(tmp, JSON.stringify(cache, null, 2) + '\n');
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
