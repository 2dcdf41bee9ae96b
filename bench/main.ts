/** Runs a benchmark module's entry when the module is the process's main script. */
import { fileURLToPath } from 'node:url';
import { shutdown } from '../engine/index.js';

/**
 * `runAsMain(import.meta.url, run)`: when this module was started directly (tsx or a
 * bundle from scripts/bench.mjs), runs `run` with `--quick` and `--json FILE` parsed,
 * releases the device afterwards and exits non-zero on error.
 */
export function runAsMain(moduleUrl: string, run: (opts: { quick: boolean; json?: string }) => Promise<unknown>): void {
  if (!process.argv[1] || fileURLToPath(moduleUrl) !== process.argv[1]) return;
  const args = process.argv.slice(2);
  const j = args.indexOf('--json');
  run({ quick: args.includes('--quick'), json: j >= 0 ? args[j + 1] : undefined })
    .then(() => shutdown())
    .catch((e) => {
      console.error(e);
      shutdown();
      process.exit(1);
    });
}
