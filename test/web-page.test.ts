/**
 * The browser benchmark page (web/, built into dist/web/) in headless Chromium: Debian's
 * /usr/bin/chromium driven by playwright-core, on its WebGPU adapter (SwiftShader here), the page
 * served from 127.0.0.1 by the page's own static server. The quick run (?quick=1) finishes, every
 * figure is finite, the sparse and compacted models' outputs equal the pruned dense model's within
 * 1e-4, the plot has a mark per measured point and the ideal line, and the downloaded results.json
 * is valid against the study's schema, and each section says where its kernel plans came from (the
 * profile's rule: a fresh browser stores no tuning table). A screenshot is kept at test-artifacts/web-page.png.
 * Without WebGPU (no navigator.gpu; or no adapter), with a limit the page needs missing, and with
 * the device lost mid-run, the page says so in words.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReport } from '../report/index.js';
import { resultsErrors } from '../study/validate.js';
import { makeStudyResults } from './helpers/study-results.js';
import type { StudyResults } from '../study/results.js';
// @ts-expect-error: plain ESM scripts without declarations
import { buildWeb } from '../web/build.mjs';
// @ts-expect-error: plain ESM scripts without declarations
import { CHROMIUM, launchChromium, waitForPage } from '../web/headless.mjs';
// @ts-expect-error: plain ESM scripts without declarations
import { serveStatic } from '../web/serve.mjs';
import type { PageState } from '../web/main.js';

const hasChromium = existsSync(CHROMIUM as string);
if (!hasChromium) console.warn(`web-page: skipped, ${CHROMIUM as string} is missing (Debian package 'chromium')`);
const ARTIFACTS = join(import.meta.dirname, '..', 'test-artifacts');

type Pw = { browser: Browser; page: Page };

describe.skipIf(!hasChromium)('the browser benchmark page in headless Chromium', () => {
  let server: Server;
  let url: string;
  const browsers: Browser[] = [];

  beforeAll(async () => {
    const dir = (await buildWeb()) as string;
    ({ server, url } = (await serveStatic(dir, 0)) as { server: Server; url: string });
  });

  afterAll(async () => {
    for (const b of browsers) await b.close();
    server?.close();
  });

  async function open(query: string, o: { webgpu?: boolean; noGpuObject?: boolean } = {}): Promise<Pw & { problems: string[] }> {
    const browser = (await launchChromium({ webgpu: o.webgpu ?? true })) as Browser;
    browsers.push(browser);
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 }, acceptDownloads: true });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
    page.on('request', (r) => { if (!r.url().startsWith(url) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) problems.push(`outside request: ${r.url()}`); });
    // A browser without WebGPU at all: navigator.gpu is undefined.
    if (o.noGpuObject) await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true }));
    await page.goto(url + query);
    return { browser, page, problems };
  }

  const visibleProblem = async (page: Page) => ({
    hidden: await page.locator('#problem').isHidden(),
    title: await page.locator('#problem-title').textContent(),
    message: await page.locator('#problem-message').textContent(),
    state: await page.locator('body').getAttribute('data-state'),
  });

  it('runs the quick sweep, model and peers on the WebGPU adapter; results.json is valid', async () => {
    const { page, problems } = await open('?quick=1&run=1');
    expect(await waitForPage(page, { timeoutMs: 50_000 })).toBe('done');
    expect(await page.locator('#state').textContent()).toMatch(/^Done in/);
    const s = (await page.evaluate(() => (window as unknown as { __wgprune: PageState }).__wgprune)) as PageState;
    expect(s.error).toBeNull();
    expect(s.adapter?.featureLevel).toMatch(/^(core|compatibility)$/);
    expect(Object.keys(s.adapter!.limits).length).toBeGreaterThan(10);

    // Sweep: 2 formats × (3 linear + 2 conv densities), every figure finite and positive.
    expect(s.sweep).toHaveLength(10);
    for (const r of s.sweep) {
      for (const v of [r.dense.median, r.sparse.median, r.speedup, r.flopSpeedup, r.realization, r.density]) {
        expect(Number.isFinite(v) && v > 0, `${r.layer} ${r.format} ${r.target}`).toBe(true);
      }
    }
    // The plot: one mark per measured point, the ideal line and the break-even line.
    expect(await page.locator('#sweep-plot circle.mark').count()).toBe(s.sweep.length);
    expect(await page.locator('#sweep-plot path.ideal').count()).toBe(1);
    expect(await page.locator('#sweep-plot line.even').count()).toBe(1);
    const box = await page.locator('#sweep-plot').boundingBox();
    expect(box!.width).toBeGreaterThan(300);

    // Where the figures' kernel plans came from: a fresh browser stores no tuning table, so the profile's rules planned them all.
    expect(s.tuning).toMatchObject({ inUse: false, stored: null });
    expect(s.plans.sweep.length).toBeGreaterThan(0);
    expect(s.plans.model.length).toBeGreaterThan(0);
    expect(new Set([...s.plans.sweep, ...s.plans.model].map((p) => p.source))).toEqual(new Set(['rule']));
    expect(await page.locator('#sweep-plans summary').textContent()).toMatch(/^Kernel plans: [1-9]\d* by the \w+ profile's rule, 0 tuned on this adapter \(no tuning table in use\)$/);

    // The pruned model: CSR and BSR of both runs, compacted of the filter run, all within 1e-4 of dense.
    const checks = s.model!.checks;
    const passed = checks.filter((c) => c.ok);
    expect(passed.map((c) => `${c.run.split(' @')[0]} ${c.format}`).sort()).toEqual(['l1 filter bsr', 'l1 filter compacted', 'l1 filter csr', 'l1 weight bsr', 'l1 weight csr']);
    for (const c of passed) expect(c.error!).toBeLessThanOrEqual(1e-4);
    expect(checks.filter((c) => !c.ok).map((c) => c.status)).toEqual([expect.stringMatching(/^skipped: no filter or neuron/)]);
    expect(await page.locator('#checks-summary').textContent()).toMatch(/^Output check passed/);
    for (const run of s.model!.runs) {
      for (const f of run.formats.filter((x) => x.status === 'ok')) {
        expect(f.latency.length, `${run.id} ${f.format}`).toBe(1);
        for (const l of f.latency) for (const v of [l.speedup, l.realization, l.format.median, l.reference.median]) expect(Number.isFinite(v) && v > 0).toBe(true);
      }
    }

    // Peers: each case has our row timed; any other runtime is timed, or says why not.
    expect(s.peers.map((c) => c.kind)).toEqual(['matmul', 'conv', 'model']);
    for (const c of s.peers) {
      const ours = c.rows.find((r) => r.runtime === 'wgprune')!;
      expect(Number.isFinite(ours.time!.median) && ours.time!.median > 0).toBe(true);
      for (const r of c.rows) {
        if (r.status === 'ok') expect(Number.isFinite(r.oursFaster!) && r.oursFaster! > 0, `${c.name} ${r.runtime}`).toBe(true);
        else expect(r.reason, `${c.name} ${r.runtime}`).toBeTruthy();
      }
    }
    const peerTables = page.locator('#peer-tables table.peer-table');
    expect(await peerTables.count()).toBe(3);
    expect(await peerTables.first().isVisible()).toBe(true);

    // results.json: downloaded as a visitor would, valid against the study schema.
    expect(await page.locator('#validity').textContent()).toMatch(/matches the wgprune study schema/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#download').click()]);
    expect(download.suggestedFilename()).toBe('results.json');
    const results = JSON.parse(readFileSync((await download.path())!, 'utf8')) as StudyResults;
    expect(resultsErrors(results)).toEqual([]);
    expect(results.runs.map((r) => r.id)).toEqual(['l1 weight @ 0.5 seed 0', 'l1 filter @ 0.5 seed 0']);
    expect(results.device.backend).toBe('webgpu');
    expect(results.notes.some((n) => n.startsWith('Density sweep, linear'))).toBe(true);
    expect(results.notes.some((n) => n.startsWith('Peers, matmul'))).toBe(true);
    expect(results.notes.some((n) => n.startsWith('Kernel plans: no tuning table was in use; density sweep: '))).toBe(true);
    // What `wgprune report --compare` does with it: the page's file next to a Node study's.
    const reportDir = mkdtempSync(join(tmpdir(), 'wgprune-web-report-'));
    try {
      const written = await writeReport(reportDir, results, { compare: [makeStudyResults({ adapter: 'Node llvmpipe' })] });
      expect(written.rendered.text).toContain('l1 filter');
      expect(readFileSync(written.markdown, 'utf8')).toContain('google swiftshader');
    } finally {
      rmSync(reportDir, { recursive: true, force: true });
    }

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'web-page.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('says so when the browser has no WebGPU, or no adapter', async () => {
    const none = await open('?quick=1&run=1', { noGpuObject: true });
    expect(await waitForPage(none.page, { timeoutMs: 20_000 })).toBe('error');
    const p1 = await visibleProblem(none.page);
    expect(p1).toMatchObject({ hidden: false, state: 'error', title: 'This browser does not offer WebGPU' });
    expect(p1.message).toMatch(/navigator\.gpu is missing/);
    expect(await none.page.locator('#start').isDisabled()).toBe(true);

    // Chromium without --enable-unsafe-webgpu on Linux has navigator.gpu but hands out no adapter.
    const noAdapter = await open('', { webgpu: false });
    expect(await waitForPage(noAdapter.page, { timeoutMs: 20_000, untilReady: true })).toBe('error');
    expect(await visibleProblem(noAdapter.page)).toMatchObject({ hidden: false, title: 'No WebGPU adapter' });
  });

  it('says so when a limit is missing or the device is lost mid-run', async () => {
    const limit = await open('?need=maxTextureDimension2D:100000000');
    expect(await waitForPage(limit.page, { timeoutMs: 20_000, untilReady: true })).toBe('error');
    const p = await visibleProblem(limit.page);
    expect(p).toMatchObject({ hidden: false, title: 'This GPU lacks a limit the benchmarks need' });
    expect(p.message).toMatch(/maxTextureDimension2D is [\d,]+, at least 100,000,000 is needed/);

    const lost = await open('?quick=1&run=1&peers=0&lose=1');
    expect(await waitForPage(lost.page, { timeoutMs: 30_000 })).toBe('error');
    const q = await visibleProblem(lost.page);
    expect(q).toMatchObject({ hidden: false, title: 'The GPU device was lost' });
    expect(q.message).toMatch(/during the density sweep \(destroyed/);
    // What was measured before the loss stays on the page.
    expect(await lost.page.locator('#sweep-plot circle.mark').count()).toBeGreaterThan(0);
  });
});
