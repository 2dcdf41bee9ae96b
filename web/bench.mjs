// The browser page's full run in headless Chromium, once, as a benchmark (not a test):
//
//   npm run web:bench [-- --out bench/results/web-page.json] [-- --quick] [-- --no-peers]
//
// Builds dist/web/, serves it on 127.0.0.1, opens ?run=1 in headless Chromium on its WebGPU
// adapter (SwiftShader when there is no GPU), waits for the page to finish and writes what the
// page measured (window.__wgprune: adapter, density sweep, pruned model, peers, the study-schema
// results) to --out, with the browser version and the page's run time. Prints the peer ratios.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWeb } from './build.mjs';
import { launchChromium, waitForPage } from './headless.mjs';
import { serveStatic } from './serve.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const outArg = argv.indexOf('--out');
const out = resolve(outArg >= 0 ? argv[outArg + 1] : join(root, 'bench', 'results', 'web-page.json'));
const query = `?run=1${argv.includes('--quick') ? '&quick=1' : ''}${argv.includes('--no-peers') ? '&peers=0' : ''}`;

await buildWeb();
const { server, url } = await serveStatic(join(root, 'dist', 'web'), 0);
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  const t0 = Date.now();
  await page.goto(url + query);
  let last = '';
  const ticker = setInterval(async () => {
    const s = await page.evaluate(() => document.getElementById('step')?.textContent ?? '').catch(() => '');
    if (s && s !== last) console.log(`${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s  ${(last = s)}`);
  }, 1000);
  const state = await waitForPage(page, { timeoutMs: 1_200_000 });
  clearInterval(ticker);
  const wallS = (Date.now() - t0) / 1000;
  const data = await page.evaluate(() => window.__wgprune);
  const report = { date: new Date().toISOString(), browser: browser.version(), url: url + query, wallS, state, page: data };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 1)}\n`);
  console.log(`\n${state} in ${wallS.toFixed(1)} s on Chromium ${browser.version()}, adapter ${JSON.stringify(data.adapter?.info)} (${data.adapter?.featureLevel})`);
  if (data.error) console.log(`error: ${data.error.title}: ${data.error.message}`);
  for (const c of data.peers) {
    console.log(`\n${c.name}`);
    for (const r of c.rows) {
      const t = r.time ? `${(r.time.median * 1e3).toFixed(2)} ms${r.gflops ? ` (${r.gflops.toFixed(2)} GFLOP/s)` : ''}` : r.status;
      console.log(`  ${r.runtime.padEnd(12)} ${t}${r.oursFaster && r.runtime !== 'wgprune' ? `  ours ${r.oursFaster.toFixed(2)}× as fast` : ''}${r.reason ? `  (${r.reason})` : ''}`);
    }
  }
  console.log(`\nwrote ${out}`);
  if (state !== 'done') process.exitCode = 1;
} finally {
  await browser.close();
  server.close();
}
