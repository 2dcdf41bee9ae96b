// Runs the test suite (or the test files given) and writes RELIABILITY.md from that run: the
// reporter test/helpers/reliability-reporter.ts collects what the tests recorded (properties and
// their seeds, faults injected, bad inputs, soak figures). Usage: npm run reliability [-- test/x.test.ts ...]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const vitest = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));
const run = spawnSync(process.execPath, [vitest, 'run', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, WGPRUNE_RELIABILITY: process.env.WGPRUNE_RELIABILITY ?? 'RELIABILITY.md' },
});
process.exit(run.status ?? 1);
