/**
 * The tuning cache format, shared by every store (browser-safe: no I/O here). A cache is one JSON
 * document holding the tables measured on several adapters, each under its adapter key
 * (`adapterKey`):
 *
 *     { "format": "wgprune-tuning", "version": 1,
 *       "tables": { "<adapter key>": { "adapter": "<adapter key>", "updated": "…", "profile": "llvmpipe",
 *                                      "entries": { "matmul": { "<problem key>": { "variant", "ms", "candidates" } } } } } }
 *
 * The Node file store (`wgprune tune`'s cache file) and the browser's IndexedDB store read and
 * write this same document, so a table tuned in a page can be copied to a Node machine with the
 * same adapter, and back. Tables merge problem by problem: the newer figure wins.
 */
import { KERNEL_FAMILIES, type KernelFamily, type TunedEntry, type TuningTable } from '../gpu/profile.js';

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

/** A tuning cache that cannot be used: `file` names where it came from, `why` what is wrong. */
export class TuningCacheError extends Error {
  override name = 'TuningCacheError';
  constructor(readonly file: string, readonly why: string, advice = '') {
    super(`${file} is not a usable wgprune tuning cache: ${why}.${advice ? ` ${advice}` : ''}`);
  }
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

/** Checks a parsed cache's structure (every table, family and entry); throws TuningCacheError naming `file`. */
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

/** Parses and checks a cache document's text; throws TuningCacheError naming `file`. */
export function parseCache(file: string, text: string): TuningCache {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new TuningCacheError(file, `it is not valid JSON (${(e as Error).message})`);
  }
  return checkCache(file, data);
}

/** A cache document's text (what the stores write and what a downloaded tuning.json holds). */
export function cacheText(cache: TuningCache): string {
  return JSON.stringify(cache, null, 2) + '\n';
}

/** A cache holding the given tables (each under its own adapter key). */
export function cacheOf(tables: Iterable<StoredTable>): TuningCache {
  const cache = emptyCache();
  for (const t of tables) cache.tables[t.adapter] = mergeTables(cache.tables[t.adapter], t);
  return cache;
}

/** `table`'s entries laid over `base`'s, family by family and problem by problem (the newer figure wins). */
export function mergeTables(base: StoredTable | undefined, table: StoredTable): StoredTable {
  const entries: StoredTable['entries'] = {};
  for (const f of new Set([...Object.keys(base?.entries ?? {}), ...Object.keys(table.entries)]) as Set<KernelFamily>) {
    entries[f] = { ...(base?.entries[f] ?? {}), ...(table.entries[f] ?? {}) };
  }
  return { ...base, ...table, entries };
}

/** The number of problems a table has entries for. */
export function tableSize(table: TuningTable): number {
  return Object.values(table.entries).reduce((n, problems) => n + Object.keys(problems ?? {}).length, 0);
}
