/**
 * The browser page's tuning section in headless Chromium (Debian's /usr/bin/chromium through
 * playwright-core, SwiftShader's WebGPU adapter): quick tuning of one tiny matmul (?tunematmul=)
 * stores a table in IndexedDB (read back with the raw IndexedDB API); after a reload the engine
 * starts with that table and the problem's plan comes from it (source 'tuned'); the downloaded
 * tuning.json is read by the Node cache reader; a malformed file and another adapter's file are
 * refused with the reason and nothing is stored; a file written by the Node store loads.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CACHE_FORMAT, CACHE_VERSION, loadTable, readCache, writeTable } from '../tune/cache-file.js';
import type { PageState } from '../web/main.js';
import type { TuningState } from '../web/tuning.js';
import { familyOf } from '../tune/families.js';
import { matmulProblemArgs } from '../tune/families/matmul.js';
// @ts-expect-error: plain ESM scripts without declarations
import { buildWeb } from '../web/build.mjs';
// @ts-expect-error: plain ESM scripts without declarations
import { CHROMIUM, launchChromium, waitForPage } from '../web/headless.mjs';
// @ts-expect-error: plain ESM scripts without declarations
import { serveStatic } from '../web/serve.mjs';

const hasChromium = existsSync(CHROMIUM as string);
if (!hasChromium) console.warn(`web-tuning: skipped, ${CHROMIUM as string} is missing (Debian package 'chromium')`);

/** The tiny problem tuned: a plain 8×16 · 16×8 matmul. */
const SHAPE = '8x16x8';
const KEY = familyOf('matmul').key(matmulProblemArgs(8, 16, 8));

const tuningOf = async (page: Page) => (await page.evaluate(() => (window as unknown as { __wgprune: PageState }).__wgprune.tuning)) as TuningState;

/** Waits until the section has finished more operations than `before`; returns its state. */
async function afterOp(page: Page, before: number, timeout = 25_000): Promise<TuningState> {
  await page.waitForFunction((n) => ((window as unknown as { __wgprune?: PageState }).__wgprune?.tuning.finished ?? 0) > n, before, { timeout, polling: 100 });
  return tuningOf(page);
}

/** The record IndexedDB holds for an adapter, read with the raw API (not through the page's code). */
const storedRecord = (page: Page, adapter: string) => page.evaluate((key) => new Promise<unknown>((resolve, reject) => {
  const open = indexedDB.open('wgprune');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const get = db.transaction('tuning').objectStore('tuning').get(key);
    get.onsuccess = () => {
      db.close();
      resolve(get.result ?? null);
    };
    get.onerror = () => reject(get.error);
  };
}), adapter);

describe.skipIf(!hasChromium)('the page\'s tuning section in headless Chromium', () => {
  let server: Server;
  let url: string;
  let browser: Browser;
  const dir = mkdtempSync(join(tmpdir(), 'wgprune-web-tuning-'));

  beforeAll(async () => {
    // Its own build folder, so this file and the page's other test never rebuild each other's files.
    const site = (await buildWeb(join(dir, 'site'))) as string;
    ({ server, url } = (await serveStatic(site, 0)) as { server: Server; url: string });
    browser = (await launchChromium()) as Browser;
  });

  afterAll(async () => {
    await browser?.close();
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('tunes a tiny problem into IndexedDB, uses it after a reload, exports tuning.json for Node and refuses bad files', async () => {
    const page = await browser.newPage({ acceptDownloads: true });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });

    // A fresh profile: nothing stored, the rules plan everything; ?tune=1 starts tuning at once.
    await page.goto(`${url}?tunematmul=${SHAPE}&tune=1`);
    const t = await afterOp(page, 0);
    expect(t.message?.text, JSON.stringify(t.message)).toMatch(/^Tuned 1 problem\(s\)/);
    expect(t.state).toBe('done');
    expect(t.rows).toHaveLength(1);
    const row = t.rows[0]!;
    expect(row).toMatchObject({ family: 'matmul', key: KEY });
    expect(row.timed).toBeGreaterThanOrEqual(1);
    expect(row.kept).toBeTruthy();
    expect(row.speedup! >= 1).toBe(true);
    expect(t.inUse).toBe(true);
    expect(t.stored?.problems).toBe(1);
    expect(t.plans).toEqual([{ family: 'matmul', problem: KEY, variant: row.kept, source: 'tuned' }]);
    expect(await page.locator('#tune-rows tbody tr').count()).toBe(1);
    const adapter = t.adapter!;
    const record = (await storedRecord(page, adapter)) as { format: string; tables: Record<string, { entries: { matmul: Record<string, { variant: string }> } }> };
    expect(record.format).toBe(CACHE_FORMAT);
    expect(record.tables[adapter]!.entries.matmul[KEY]!.variant).toBe(row.kept);

    // tuning.json, downloaded as a visitor would, is a cache file the Node store reads.
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#tune-download').click()]);
    expect(download.suggestedFilename()).toBe('tuning.json');
    const file = join(dir, 'tuning.json');
    await download.saveAs(file);
    expect(Object.keys(readCache(file).tables)).toEqual([adapter]);
    expect(loadTable(file, adapter)!.entries.matmul![KEY]!.variant).toBe(row.kept);

    // A reload: init() loads the stored table, and the problem is planned from it.
    await page.goto(`${url}?tunematmul=${SHAPE}`);
    expect(await waitForPage(page, { timeoutMs: 20_000, untilReady: true })).toBe('ready');
    const reloaded = await tuningOf(page);
    expect(reloaded).toMatchObject({ inUse: true, stored: { problems: 1 }, rows: [], plans: [] });
    expect(await page.locator('#tune-status').textContent()).toMatch(/stored in this browser: 1 problem\(s\).*It is in use/);
    await page.locator('#tune-show').click();
    const shown = await afterOp(page, reloaded.finished);
    expect(shown.plans).toEqual([{ family: 'matmul', problem: KEY, variant: row.kept, source: 'tuned' }]);

    // Bad files are refused with the reason; the stored record is untouched.
    const pick = async (name: string, text: string) => {
      const before = (await tuningOf(page)).finished;
      await page.locator('#tune-file').setInputFiles({ name, mimeType: 'application/json', buffer: Buffer.from(text) });
      return afterOp(page, before);
    };
    const broken = await pick('broken.json', '{ "format": "wgprune-tuning", ');
    expect(broken.state).toBe('error');
    expect(broken.message).toEqual({ ok: false, text: expect.stringMatching(/^Loading the tuning file failed: broken\.json is not a usable wgprune tuning cache: it is not valid JSON/) });
    const other = { format: CACHE_FORMAT, version: CACHE_VERSION, tables: { 'other|gpu|-|-|core': { adapter: 'other|gpu|-|-|core', entries: { matmul: { [KEY]: { variant: 'x', ms: 1, candidates: { x: 1 } } } } } } };
    const elsewhere = await pick('elsewhere.json', JSON.stringify(other));
    expect(elsewhere.state).toBe('error');
    expect(elsewhere.message!.text).toMatch(/elsewhere\.json is not a usable wgprune tuning cache: it holds no table for this adapter .*measured on 'other\|gpu\|-\|-\|core'.*Nothing was stored/);
    const badEntry = structuredClone(other);
    badEntry.tables = { [adapter]: { adapter, entries: { matmul: { [KEY]: { variant: 'x' } } } } } as never;
    expect((await pick('bad-entry.json', JSON.stringify(badEntry))).message!.text).toMatch(/is not \{ variant, ms, candidates \}/);
    expect(await storedRecord(page, adapter)).toEqual(record);

    // A file the Node store wrote (here: the download with one more problem merged in) loads and merges.
    writeTable(file, { adapter, entries: { matmul: { 'another-problem': { variant: row.kept!, ms: 1, candidates: { [row.kept!]: 1 } } } } });
    const loaded = await pick('tuning.json', readFileSync(file, 'utf8'));
    expect(loaded.message).toEqual({ ok: true, text: expect.stringMatching(/^Loaded tuning\.json: 2 problem\(s\) stored for this adapter, in use/) });
    expect(loaded).toMatchObject({ state: 'done', inUse: true, stored: { problems: 2 } });

    // Forgetting it: nothing stored, the rules plan again.
    const before = loaded.finished;
    await page.locator('#tune-forget').click();
    expect(await afterOp(page, before)).toMatchObject({ state: 'done', inUse: false, stored: null });
    expect(await storedRecord(page, adapter)).toBeNull();
    expect(problems).toEqual([]);
  });
});
