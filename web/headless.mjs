// Headless Chromium for the browser page: Debian's /usr/bin/chromium (or CHROMIUM), driven by
// playwright-core; never a downloaded browser. With WebGPU on, Chromium exposes its SwiftShader
// adapter (a software Vulkan) when the machine has no GPU; WebGPU needs the page served from
// 127.0.0.1 (a secure context).
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** Flags of a quiet, fresh headless Chromium; `webgpu` adds --enable-unsafe-webgpu. */
export function chromiumArgs(webgpu = true) {
  return [
    '--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ...(webgpu ? ['--enable-unsafe-webgpu'] : []),
  ];
}

/** Launches headless Chromium (playwright gives it a fresh temporary profile). */
export async function launchChromium({ webgpu = true } = {}) {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's 'chromium' package (or set CHROMIUM to a Chromium binary)`);
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: chromiumArgs(webgpu) });
}

/** Waits until the page's run ends (window.__wgprune.state 'done' or 'error'; also 'ready' unless it was asked to run). */
export async function waitForPage(page, { timeoutMs = 600_000, untilReady = false } = {}) {
  const states = untilReady ? ['ready', 'done', 'error'] : ['done', 'error'];
  await page.waitForFunction((s) => s.includes(window.__wgprune?.state), states, { timeout: timeoutMs, polling: 250 });
  return page.evaluate(() => window.__wgprune.state);
}
