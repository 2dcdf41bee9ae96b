/**
 * Vitest global set-up: bundles the library and the CLI (scripts/build.mjs) once before any test
 * file runs, so the tests that spawn the built CLI (dist/cli.js) test the current sources and
 * never race each other rewriting the bundle.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`building dist/ for the CLI tests failed:\n${build.stderr}`);
}
