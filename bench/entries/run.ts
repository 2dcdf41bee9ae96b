/**
 * Runs one benchmark as a script: the files next to this one are the entry points of the
 * `npm run bench:*` scripts and of `wgprune bench …` (which runs them through scripts/bench.mjs).
 * The benchmark modules themselves (bench/sparse.ts, ...) have no side effects.
 *
 * Like the CLI, a benchmark loads the tuning table measured on its adapter from the tuning
 * cache (`--cache FILE`, else WGPRUNE_TUNING_CACHE or the user's cache folder; see tune/cache-file.ts).
 */
import { shutdown } from '../../engine/internal.js';
import { useDawn } from '../../gpu/dawn.js';
import { useTuningCache } from '../../tune/cache-file.js';

export interface EntryArgs {
  /** `--quick`: a small sanity run. */
  quick: boolean;
  /** `--json FILE`: write every figure to this file. */
  json?: string;
  /** The value following `--name` on the command line, if any. */
  value(name: string): string | undefined;
  /** Whether `--name` is on the command line. */
  flag(name: string): boolean;
  /** The comma-separated numbers following `--name`, if any (a malformed list is an error). */
  numbers(name: string): number[] | undefined;
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
  const numbers = (name: string) => {
    const v = value(name);
    if (v === undefined) return undefined;
    const list = v.split(',').map((x) => Number(x.trim()));
    if (!list.length || list.some((n) => !Number.isFinite(n))) throw new Error(`${name}: expected comma-separated numbers, got '${v}'`);
    return list;
  };
  useDawn();
  Promise.resolve()
    .then(() => {
      useTuningCache(value('--cache'));
      return run({ quick: argv.includes('--quick'), json: value('--json'), value, flag: (name) => argv.includes(name), numbers });
    })
    .catch((e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    })
    .finally(() => shutdown());
}
