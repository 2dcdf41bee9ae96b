/**
 * Runs a benchmark entry through scripts/bench.mjs (an esbuild bundle), for CLI
 * commands whose benchmark loads TF.js: TF.js's ESM build uses directory imports
 * that Node (and tsx) cannot resolve without a bundler.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root: this file sits in bench/ (sources) or is bundled into dist/. */
function repoRoot(): string {
  return fileURLToPath(new URL('..', import.meta.url));
}

export function runBundled(entry: string, args: string[]): void {
  const root = repoRoot();
  const script = `${root}scripts/bench.mjs`;
  if (!existsSync(script) || !existsSync(`${root}${entry}`)) {
    throw new Error(`benchmarks run from a source checkout (with devDependencies installed): ${script} or ${entry} not found`);
  }
  const run = spawnSync(process.execPath, [script, entry, ...args], { stdio: 'inherit', cwd: root });
  if (run.status !== 0) throw new Error(`${entry} exited with status ${run.status ?? run.signal}`);
}
