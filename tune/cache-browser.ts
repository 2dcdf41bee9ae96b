/**
 * The tuning cache in a browser: tables measured by `tune()` kept in IndexedDB (database
 * `wgprune`, object store `tuning`, one record per adapter key), so a WebGPU backend started later
 * in the same browser profile loads its adapter's table (`useTuningStore`, registered by the
 * package's browser entry when IndexedDB exists). Each record is a tuning cache document holding
 * that adapter's table, the same format as `wgprune tune`'s cache file (./cache-format.ts): a
 * table exported here (`tuningFileText`) is a cache file a Node machine with the same adapter
 * reads, and a Node cache file imports here (`importTuningFile`).
 *
 * Storing merges problem by problem, as the file store does: the newer figure wins, other problems
 * stay. A file that is malformed, or holds no table for this adapter, is refused with a
 * TuningCacheError saying why, and nothing is stored.
 */
import { setTuningSource } from '../engine/registry.js';
import { adapterKey } from '../gpu/profile.js';
import { CACHE_FORMAT, CACHE_VERSION, cacheOf, cacheText, checkCache, mergeTables, parseCache, type StoredTable, type TuningCache, TuningCacheError } from './cache-format.js';
import { webgpuRuntime } from './tune.js';

const DB_NAME = 'wgprune';
const DB_VERSION = 1;
const STORE = 'tuning';
/** How records are named in messages. */
const STORE_NAME = `IndexedDB ${DB_NAME}/${STORE}`;

function factory(): IDBFactory {
  const f = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (!f) throw new Error('the tuning store needs IndexedDB, which this environment lacks (in Node, the package keeps tables in a cache file instead)');
  return f;
}

/** True when this environment has IndexedDB (browsers, workers). */
export function hasTuningStore(): boolean {
  return !!(globalThis as { indexedDB?: IDBFactory }).indexedDB;
}

let opened: Promise<IDBDatabase> | null = null;

function openDb(): Promise<IDBDatabase> {
  opened ??= new Promise<IDBDatabase>((resolve, reject) => {
    const r = factory().open(DB_NAME, DB_VERSION);
    // Records are keyed by the adapter key (out-of-line keys).
    r.onupgradeneeded = () => r.result.createObjectStore(STORE);
    r.onsuccess = () => {
      const db = r.result;
      // Another page upgrading or deleting the database: let it, and reopen on the next use.
      db.onversionchange = () => {
        db.close();
        opened = null;
      };
      resolve(db);
    };
    r.onerror = () => reject(r.error ?? new Error(`${STORE_NAME} could not be opened`));
  }).catch((e) => {
    opened = null;
    throw e;
  });
  return opened;
}

/** Runs `fn` in one transaction on the store; resolves, once the transaction committed, with what `fn` passed to `done`. */
async function transact<T>(mode: IDBTransactionMode, fn: (store: IDBObjectStore, done: (value: T) => void) => void): Promise<T> {
  const db = await openDb();
  return new Promise<T>((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    let value: T;
    tx.oncomplete = () => resolve(value);
    tx.onerror = () => reject(tx.error ?? new Error(`${STORE_NAME}: the transaction failed`));
    tx.onabort = () => reject(tx.error ?? new Error(`${STORE_NAME}: the transaction was aborted`));
    fn(tx.objectStore(STORE), (v) => (value = v));
  });
}

/** The table in a stored record (a one-table cache document), checked; throws TuningCacheError. */
function recordTable(adapter: string, record: unknown): StoredTable {
  const table = checkCache(`${STORE_NAME} record '${adapter}'`, record).tables[adapter];
  if (!table) throw new TuningCacheError(`${STORE_NAME} record '${adapter}'`, 'it holds no table for its own adapter key');
  return table;
}

/** The key of the initialised WebGPU backend's adapter (what tables are stored under). */
export function currentAdapterKey(): string {
  return adapterKey(webgpuRuntime().ctx.facts);
}

/**
 * The table stored for an adapter (default: the initialised WebGPU backend's), or null. A record
 * another version of the package wrote in a shape this one cannot read throws TuningCacheError.
 */
export async function loadStoredTuning(adapter: string = currentAdapterKey()): Promise<StoredTable | null> {
  const record = await transact<unknown>('readonly', (s, done) => {
    const r = s.get(adapter);
    r.onsuccess = () => done(r.result);
  });
  return record === undefined ? null : recordTable(adapter, record);
}

/** Every stored table, as one tuning cache document. */
export async function storedTuning(): Promise<TuningCache> {
  const records = await transact<Array<[string, unknown]>>('readonly', (s, done) => {
    const out: Array<[string, unknown]> = [];
    const r = s.openCursor();
    r.onsuccess = () => {
      const c = r.result;
      if (!c) return done(out);
      out.push([String(c.key), c.value]);
      c.continue();
    };
  });
  return cacheOf(records.map(([adapter, record]) => recordTable(adapter, record)));
}

/**
 * Merges a table into the store under its adapter key (this adapter's other problems are kept;
 * the newer figure wins) and returns the merged table. The table is checked first: a malformed
 * one throws TuningCacheError and nothing is stored. A stored record this version cannot read
 * is replaced.
 */
export async function storeTuning(table: StoredTable): Promise<StoredTable> {
  checkCache(`the table for '${String(table?.adapter)}'`, { format: CACHE_FORMAT, version: CACHE_VERSION, tables: { [String(table?.adapter)]: table } });
  return transact<StoredTable>('readwrite', (s, done) => {
    const r = s.get(table.adapter);
    r.onsuccess = () => {
      let base: StoredTable | undefined;
      try {
        base = r.result === undefined ? undefined : recordTable(table.adapter, r.result);
      } catch {
        base = undefined;
      }
      const merged = mergeTables(base, table);
      s.put(cacheOf([merged]), table.adapter);
      done(merged);
    };
  });
}

/** Deletes the table stored for an adapter, or with no argument every stored table. */
export async function deleteStoredTuning(adapter?: string): Promise<void> {
  await transact<void>('readwrite', (s, done) => {
    if (adapter === undefined) s.clear();
    else s.delete(adapter);
    done();
  });
}

/** A tuning cache document holding `tables` (the text of a tuning.json a Node cache reader takes). */
export function tuningFileText(...tables: StoredTable[]): string {
  return cacheText(cacheOf(tables));
}

/**
 * The table for `adapter` in a tuning cache document's text (a downloaded tuning.json, or a Node
 * cache file); `file` names it in messages. A malformed document, or one without a table for this
 * adapter, throws TuningCacheError.
 */
export function readTuningFile(text: string, adapter: string, file = 'the tuning file'): StoredTable {
  const cache = parseCache(file, text);
  const table = cache.tables[adapter];
  if (!table) {
    const others = Object.keys(cache.tables);
    throw new TuningCacheError(file, `it holds no table for this adapter (${adapter})`,
      `${others.length ? `Its tables were measured on ${others.map((k) => `'${k}'`).join(', ')}` : 'It holds no tables at all'}; ` +
      'kernel timings only carry over to the same adapter and driver: tune on this one instead. Nothing was stored.');
  }
  return table;
}

/**
 * Reads a tuning file the user picked (a File, Blob or its text), checks it and merges this
 * adapter's table (default: the initialised WebGPU backend's) into the store; returns the merged
 * table. A malformed file, or one without a table for this adapter, throws TuningCacheError and
 * nothing is stored.
 */
export async function importTuningFile(file: Blob | string, adapter: string = currentAdapterKey()): Promise<StoredTable> {
  const name = typeof file === 'string' ? 'the tuning file' : ((file as Blob & { name?: string }).name || 'the tuning file');
  const text = typeof file === 'string' ? file : await file.text();
  return storeTuning(readTuningFile(text, adapter, name));
}

/**
 * Makes WebGPU backends started later load their adapter's table from the store (`false`: no
 * tuning source at all).
 * Returns whether the store is in use (false where IndexedDB is missing). The package's browser
 * entry calls it on import; `init({ tuning })` still overrides it.
 */
export function useTuningStore(enabled = true): boolean {
  if (!enabled || !hasTuningStore()) {
    if (!enabled) setTuningSource(null);
    return false;
  }
  setTuningSource((adapter) => loadStoredTuning(adapter));
  return true;
}
