/**
 * The study report in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core) opens the generated report.html from disk and finds every plot as an SVG with
 * drawn marks, no console or page errors, and no request leaving the file. A full-page screenshot
 * is kept at <tmpdir>/wgprune-report-browser/report.png for a look.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReport, type WrittenReport } from '../report/index.js';
import { makeStudyResults } from './helpers/study-results.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`report-browser: skipped, ${CHROMIUM} is missing (Debian package 'chromium'; scripts/setup.sh installs it)`);

describe.skipIf(!hasChromium)('report.html in headless Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wgprune-report-browser-'));
  let browser: Browser;
  let written: WrittenReport;

  beforeAll(async () => {
    const main = makeStudyResults({ methodLabel: 'l1 <b>& filter', failedRun: true });
    const other = makeStudyResults({ adapter: 'Other GPU', latencyScale: 0.1, startedAt: '2026-12-06T00:00:00.000Z' });
    written = await writeReport(dir, main, { compare: [other] });
    // launch() starts Chromium on a fresh temporary profile of its own.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every plot is an inline SVG with marks; no errors, no outside requests', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (r) => { if (!r.url().startsWith('file://')) problems.push(`request: ${r.url()}`); });
    page.on('requestfailed', (r) => problems.push(`failed request: ${r.url()}`));
    await page.goto(pathToFileURL(written.html).href, { waitUntil: 'load' });

    const plots = await page.$$eval('figure.plot', (figures) => figures.map((f) => {
      const svg = f.querySelector('svg');
      const box = svg?.getBoundingClientRect();
      return {
        name: f.getAttribute('data-plot'),
        svg: !!svg,
        width: box?.width ?? 0,
        height: box?.height ?? 0,
        marks: svg ? svg.querySelectorAll('g.role-mark path, g.role-mark line').length : 0,
        text: svg?.textContent ?? '',
      };
    }));
    expect(plots.map((p) => p.name).sort()).toEqual(Object.keys(written.rendered.svgs).sort());
    expect(plots).toHaveLength(6);
    for (const p of plots) {
      expect(p.svg, `${p.name}: svg`).toBe(true);
      expect(p.width, `${p.name}: width`).toBeGreaterThan(200);
      expect(p.height, `${p.name}: height`).toBeGreaterThan(150);
      expect(p.marks, `${p.name}: marks`).toBeGreaterThan(0);
    }
    // Escaped labels come back as the original text.
    expect(plots.find((p) => p.name === 'accuracy')!.text).toContain('l1 <b>& filter');
    expect(await page.locator('b').count()).toBe(0);
    expect(await page.locator('script').count()).toBe(0);
    expect(await page.locator('h2').allTextContents()).toEqual(['Setup', 'Notes', 'Headline', 'Plots', 'Comparison', 'Runs', 'Dense model profile', 'Configuration']);
    expect(await page.locator('table').count()).toBeGreaterThanOrEqual(6);

    const shots = join(tmpdir(), 'wgprune-report-browser');
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: join(shots, 'report.png'), fullPage: true });
    expect(existsSync(join(shots, 'report.png'))).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });
});
