/**
 * What a whole Node process sees, run as child processes of the built library and CLI (dist/,
 * built once by the vitest global set-up): shutdown() with readbacks nobody awaits must not kill
 * the process, and Dawn's start-up warnings stay off stderr unless WGPRUNE_VERBOSE=1.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { vulkanLoaderMayExist } from '../gpu/dawn.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wgprune-process-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runScript(name: string, source: string) {
  const file = join(dir, name);
  writeFileSync(file, source);
  return spawnSync(process.execPath, [file], { cwd: root, encoding: 'utf8', timeout: 60_000 });
}

describe('shutdown() with readbacks in flight', () => {
  it('exits cleanly when nobody awaits them, and rejects the awaited one with DeviceShutdownError', () => {
    const lib = pathToFileURL(join(root, 'dist/node.js')).href;
    const r = runScript(
      'unawaited.mjs',
      `import * as wg from ${JSON.stringify(lib)};
await wg.init();
const a = wg.randn([128, 128]);
a.matmul(a).toArray();        // never awaited
a.sum().item();               // never awaited
wg.sync();                    // never awaited
const awaited = a.add(1).toArray();
wg.shutdown();
try {
  await awaited;
  console.log('resolved');
} catch (e) {
  console.log(JSON.stringify({ name: e.name, named: e instanceof wg.DeviceShutdownError, message: e.message }));
}
// Give late rejections (Dawn aborts the maps of a destroyed device) time to surface.
await new Promise((r) => setTimeout(r, 300));
console.log('still running');
`,
    );
    expect(r.stderr).not.toMatch(/unhandled|AbortError|DOMException/i);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.at(-1)).toBe('still running');
    const report = JSON.parse(lines.at(-2)!) as { name: string; named: boolean; message: string };
    expect(report.name).toBe('DeviceShutdownError');
    expect(report.named).toBe(true);
    expect(report.message).toMatch(/the device was shut down while reading tensor #\d+ of shape \[128, 128\]/);
  });
});

// Without a Vulkan loader Dawn warns that it could not load one, at every start.
const noVulkan = !(await vulkanLoaderMayExist());

describe("Dawn's start-up warnings", () => {
  const smoke = (env: NodeJS.ProcessEnv) =>
    spawnSync(process.execPath, ['dist/cli.js', 'smoke', '--steps', '5'], { cwd: root, encoding: 'utf8', timeout: 60_000, env });

  it.runIf(noVulkan)('are not printed by default', () => {
    const env = { ...process.env };
    delete env.WGPRUNE_VERBOSE;
    const r = smoke(env);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/trained a 2-32-2 MLP for 5 SGD steps/);
    expect(r.stderr).not.toMatch(/Couldn't load Vulkan/);
    expect(r.stderr).not.toMatch(/wgprune: /);
  });

  it.runIf(noVulkan)('are printed with WGPRUNE_VERBOSE=1, with the adapter search', () => {
    const r = smoke({ ...process.env, WGPRUNE_VERBOSE: '1' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Couldn't load Vulkan/);
    expect(r.stderr).toMatch(/wgprune: using .+ \((core|compatibility)\)/);
  });
});
