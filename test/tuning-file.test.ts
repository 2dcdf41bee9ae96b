/**
 * The tuning file shared by the browser store and the Node cache file: a table exported for a
 * download (`tuningFileText`) is a cache file the Node store reads and merges into, a Node cache
 * file is read back for an adapter (`readTuningFile`), and malformed or other adapters' files are
 * refused with the reason (the browser's message gives no Node advice; the Node store's keeps its
 * own). Without IndexedDB (Node) the browser store says so and registers nothing. Pure: no device.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCache, TuningCacheError as FileError, writeTable } from '../tune/cache-file.js';
import { cacheOf, mergeTables, type StoredTable, tableSize, TuningCacheError } from '../tune/cache-format.js';
import { hasTuningStore, loadStoredTuning, readTuningFile, storeTuning, tuningFileText, useTuningStore } from '../tune/cache-browser.js';

const A = 'vendor|arch|device|desc|core';
const B = 'other|-|-|-|compatibility';
const entry = (variant: string, ms: number) => ({ variant, ms, candidates: { [variant]: ms, rival: ms * 2 } });
const table = (adapter: string, entries: StoredTable['entries'], extra: Partial<StoredTable> = {}): StoredTable => ({ adapter, entries, ...extra });

describe('the tuning file (browser export, Node cache)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wgprune-tuning-file-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('an exported table is a cache file the Node store reads and merges into, and reads back', () => {
    const t = table(A, { matmul: { p1: entry('tiled-16x4', 1.5) } }, { updated: '2026-12-03T13:00:00.000Z', profile: 'llvmpipe' });
    const file = join(dir, 'tuning.json');
    writeFileSync(file, tuningFileText(t));
    expect(readCache(file).tables).toEqual({ [A]: t });
    // The Node store merges into it (another problem, another adapter), and the browser reads its adapter's table back.
    writeTable(file, table(A, { 'conv-fwd': { c1: entry('window', 2) } }));
    writeTable(file, table(B, { matmul: { p1: entry('gemv', 3) } }));
    const text = JSON.stringify(readCache(file));
    const back = readTuningFile(text, A, 'tuning.json');
    expect(back.entries).toEqual({ matmul: { p1: entry('tiled-16x4', 1.5) }, 'conv-fwd': { c1: entry('window', 2) } });
    expect(tableSize(back)).toBe(2);
    expect(readTuningFile(text, B).entries.matmul!.p1!.variant).toBe('gemv');
  });

  it('merges problem by problem: the newer figure wins, other problems stay', () => {
    const old = table(A, { matmul: { p1: entry('a', 2), p2: entry('b', 2) } }, { updated: 'then' });
    const merged = mergeTables(old, table(A, { matmul: { p1: entry('c', 1) }, 'spmm-csr': { s: entry('d', 1) } }, { updated: 'now' }));
    expect(merged).toEqual(table(A, { matmul: { p1: entry('c', 1), p2: entry('b', 2) }, 'spmm-csr': { s: entry('d', 1) } }, { updated: 'now' }));
    expect(cacheOf([old, table(B, {})]).tables[B]).toEqual(table(B, {}));
  });

  it('refuses a malformed file or another adapter\'s file, naming the file and the reason', () => {
    const refused = (text: string) => {
      try {
        readTuningFile(text, A, 'picked.json');
      } catch (e) {
        expect(e).toBeInstanceOf(TuningCacheError);
        return (e as Error).message;
      }
      throw new Error('not refused');
    };
    expect(refused('{"format": ')).toMatch(/^picked\.json is not a usable wgprune tuning cache: it is not valid JSON/);
    expect(refused('{"format": "wgprune-tuning", "version": 1, "tables": []}')).toMatch(/"tables" is not an object/);
    expect(refused('{"format": "something-else"}')).toMatch(/it has no "format": "wgprune-tuning" field/);
    expect(refused(tuningFileText(table(A, { matmul: { p1: { variant: 'x' } as never } })))).toMatch(/table '.*', matmul p1 is not \{ variant, ms, candidates \}/);
    const other = refused(tuningFileText(table(B, { matmul: { p1: entry('gemv', 3) } })));
    expect(other).toMatch(/it holds no table for this adapter \(vendor\|arch\|device\|desc\|core\)\. Its tables were measured on 'other\|-\|-\|-\|compatibility'; .*Nothing was stored\./);
    expect(refused(tuningFileText())).toMatch(/It holds no tables at all/);
    // The browser's messages give no Node advice; the Node store's still does.
    expect(refused('{')).not.toMatch(/--cache|WGPRUNE_TUNING_CACHE/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{');
    expect(() => readCache(bad)).toThrow(FileError);
    expect(() => readCache(bad)).toThrow(/bad\.json is not a usable wgprune tuning cache: it is not valid JSON .*It is left as it is; .*WGPRUNE_TUNING_CACHE/);
  });

  it('without IndexedDB the store says so; a malformed table is refused before the store is opened', async () => {
    expect(hasTuningStore()).toBe(false);
    expect(useTuningStore()).toBe(false);
    await expect(loadStoredTuning(A)).rejects.toThrow(/the tuning store needs IndexedDB, which this environment lacks/);
    await expect(storeTuning(table(A, { matmul: { p1: entry('a', 1) } }))).rejects.toThrow(/needs IndexedDB/);
    await expect(storeTuning({ adapter: A, entries: { 'not-a-family': {} } } as never)).rejects.toThrow(/unknown kernel family 'not-a-family'/);
  });
});
