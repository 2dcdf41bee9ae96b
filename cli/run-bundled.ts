/**
 * Runs a benchmark entry (bench/entries/*.ts) through scripts/bench.mjs, which bundles it with
 * esbuild and runs the bundle in a child process. The `wgprune bench` commands go through here,
 * so no benchmark code is part of the published bundles (dist/cli.js, dist/index.js), and
 * benchmarks that load TF.js work (its ESM build uses directory imports that only a bundler
 * resolves). Benchmarks therefore run from a source checkout with devDependencies installed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root: this file sits in cli/ (sources) or is bundled into dist/. */
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
