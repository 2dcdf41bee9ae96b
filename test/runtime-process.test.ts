/**
 * What a whole Node process sees, run as child processes of the built library (dist/, built
 * once by the vitest global set-up): shutdown() with readbacks nobody awaits must not kill
 * the process.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

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
    const lib = pathToFileURL(join(root, 'dist/index.js')).href;
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
