/**
 * The built CLI (dist/cli.js, an esbuild bundle) runs a benchmark exactly once and exits
 * cleanly. In a bundle every module shares the bundle's URL, so a benchmark module that
 * started itself when "it was the main script" would also run next to the CLI's own call.
 * With the bundle built by the test set-up (test/helpers/build-once.ts), runs the smallest sparse benchmark (one small layer, quick
 * mode; a few seconds on llvmpipe) with its outputs in a temporary folder.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = mkdtempSync(join(tmpdir(), 'wgprune-cli-bench-'));

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

const count = (text: string, needle: string) => text.split(needle).length - 1;

describe('wgprune bench (built CLI)', () => {
  it('bench sparse --quick --layers LeNet-300 runs once and exits 0', () => {
    const run = spawnSync(process.execPath, ['dist/cli.js', 'bench', 'sparse', '--quick', '--layers', 'LeNet-300', '--out-dir', outDir], {
      cwd: root, encoding: 'utf8', timeout: 50_000,
    });
    expect(run.error).toBeUndefined();
    expect(run.signal).toBeNull();
    expect(run.status, run.stderr).toBe(0);
    // Printed once per run: the header, the layer's dense line, the files written.
    expect(count(run.stdout, 'sparse benchmark on ')).toBe(1);
    expect(count(run.stdout, 'LeNet-300 fc1 784→300 (batch 64): dense ')).toBe(1);
    expect(count(run.stdout, 'wrote ')).toBe(1);
    expect(count(run.stdout, 'break-even densities')).toBe(1);
    // No row was printed after the summary (a second run still going).
    expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(/^ {2}LeNet-300 .* \| magnitude \| csr: /);
    expect(run.stderr).not.toMatch(/AbortError|Error:/);
    expect(existsSync(join(outDir, 'sparse.md'))).toBe(true);
  }, 60_000);
});
