/**
 * Runs one benchmark as a script: the files next to this one are the entry points of the
 * `npm run bench:*` scripts. The benchmark modules themselves (bench/sparse.ts, ...) have no
 * side effects, so the CLI can import them without starting anything.
 */
import { shutdown } from '../../engine/internal.js';

export interface EntryArgs {
  /** `--quick`: a small sanity run. */
  quick: boolean;
  /** `--json FILE`: write every figure to this file. */
  json?: string;
  /** The value following `--name` on the command line, if any. */
  value(name: string): string | undefined;
}

/**
 * Parses the command line, runs the benchmark, then releases the device so Node can exit;
 * an error is printed and makes the exit status 1.
 */
export function runBenchmark(run: (args: EntryArgs) => Promise<unknown>): void {
  const argv = process.argv.slice(2);
  const value = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  run({ quick: argv.includes('--quick'), json: value('--json'), value })
    .catch((e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    })
    .finally(() => shutdown());
}
