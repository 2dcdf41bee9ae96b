import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The CLI tests run dist/cli.js: build it once, before every test file.
    globalSetup: ['test/helpers/build-once.ts'],
    // The sources are browser-safe: WebGPU comes from Dawn, registered in every test file's process.
    setupFiles: ['test/helpers/dawn-setup.ts'],
    exclude: ['test/browser/**'],
    // Dawn is a native addon: run test files in child processes, two at a time (2 cores).
    pool: 'forks',
    maxWorkers: 2,
    // The GC stress test forces collections.
    execArgv: ['--expose-gc'],
    // The reliability reporter writes RELIABILITY.md only under `npm run reliability` (WGPRUNE_RELIABILITY set).
    reporters: ['default', './test/helpers/summary-reporter.ts', './test/helpers/reliability-reporter.ts'],
    // A tuning cache in the user's cache folder would change the kernels tests run: tests name their own.
    env: { WGPRUNE_TUNING_CACHE: 'off' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
