/**
 * dist/browser.js in a real page: headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core) imports the bundle from a local HTTP server (WebGPU needs a secure context:
 * 127.0.0.1 is one), starts the WebGPU backend on the browser's adapter (SwiftShader here), runs
 * a small matmul and a checkpoint round trip through a Blob. No import map, no request beyond
 * the server, no console error. Kept tiny: SwiftShader is slow.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`browser-bundle: skipped, ${CHROMIUM} is missing (Debian package 'chromium'; scripts/setup.sh installs it)`);

const root = fileURLToPath(new URL('..', import.meta.url));

interface PageResult {
  backend: string;
  adapter: string;
  c: number[];
  blobType: string;
  metadata: Record<string, string>;
  same: boolean;
  refused: string;
}

// Plain JavaScript run in the page (a string, so the test runner's transforms never touch its import()).
const PAGE_SCRIPT = `(async () => {
  const wg = await import('/browser.js');
  const device = await wg.init();
  const a = wg.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  const b = wg.tensor([1, 0, 0, 1, 1, 1], [3, 2]);
  const c = Array.from(await wg.matmul(a, b).toArray());
  // A checkpoint saved from the GPU as a Blob loads into a fresh layer with the same values.
  const src = new wg.nn.Linear(3, 2, { generator: new wg.Generator(1) });
  const blob = await wg.nn.checkpointBlob(src, { note: 'page' });
  const dst = new wg.nn.Linear(3, 2, { generator: new wg.Generator(2) });
  const { metadata } = await wg.nn.loadCheckpointBytes(dst, blob);
  const weights = async (m) => Array.from(await m.stateDict().get('weight').toArray()).join();
  const same = (await weights(src)) === (await weights(dst));
  let refused = '';
  try {
    await wg.nn.loadCheckpointBytes(dst, new Uint8Array([1, 2, 3]));
  } catch (e) {
    refused = e.message;
  }
  wg.shutdown();
  return { backend: device.backend, adapter: device.adapter, c, blobType: blob.type, metadata, same, refused };
})()`;

describe.skipIf(!hasChromium)('dist/browser.js in headless Chromium', () => {
  let server: Server;
  let origin: string;
  let browser: Browser;

  beforeAll(async () => {
    const bundle = readFileSync(join(root, 'dist/browser.js'));
    server = createServer((req, res) => {
      if (req.url === '/browser.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' });
        res.end(bundle);
      } else if (req.url === '/') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>wgprune</title>');
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // launch() starts Chromium on a fresh temporary profile of its own.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('imports, runs a matmul on the WebGPU adapter, and round-trips a checkpoint through a Blob', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (r) => { if (!r.url().startsWith(origin)) problems.push(`request: ${r.url()}`); });
    page.on('requestfailed', (r) => problems.push(`failed request: ${r.url()}`));
    await page.goto(`${origin}/`);

    const result = (await page.evaluate(PAGE_SCRIPT)) as PageResult;

    expect(result.backend).toBe('webgpu');
    expect(result.adapter).not.toBe('');
    expect(result.c).toEqual([4, 5, 10, 11]);
    expect(result.blobType).toBe('application/octet-stream');
    expect(result.metadata).toEqual({ note: 'page' });
    expect(result.same).toBe(true);
    expect(result.refused).toMatch(/^checkpoint bytes: truncated: 3 bytes/);
    expect(problems).toEqual([]);
  });
});
