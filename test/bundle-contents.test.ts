/**
 * The published bundles (dist/cli.js, dist/node.js, dist/index.js, dist/browser.js, built by the test set-up) hold no
 * benchmark code: `wgprune bench …` runs the benchmark entries through scripts/bench.mjs in a
 * child process instead of importing them. The names below exist only in bench/. The browser-safe
 * bundles carry the tuner and the IndexedDB tuning store, never the Node cache file store.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const BENCH_ONLY = ['runSparseBench', 'runCompactBench', 'runDenseBench', 'breakEvenDensity', 'tfjsOnOurDevice', 'formatRuleVsTuned'];

describe('published bundles', () => {
  for (const bundle of ['dist/cli.js', 'dist/node.js', 'dist/index.js', 'dist/browser.js']) {
    it(`${bundle} holds no benchmark code`, () => {
      const text = readFileSync(`${root}${bundle}`, 'utf8');
      for (const name of BENCH_ONLY) expect(text.includes(name), `${bundle} contains ${name}`).toBe(false);
    });
  }

  it('the CLI bundle holds the tuner (product code) and runs benchmarks through scripts/bench.mjs', () => {
    const text = readFileSync(`${root}dist/cli.js`, 'utf8');
    expect(text).toContain('function tuneCommand');
    expect(text).toContain('scripts/bench.mjs');
    expect(text).toContain('bench/entries/compact.ts');
  });

  it('the browser-safe bundles hold the tuner and the IndexedDB tuning store but not the cache file store; the Node entry registers the file', () => {
    for (const bundle of ['dist/index.js', 'dist/browser.js']) {
      const text = readFileSync(`${root}${bundle}`, 'utf8');
      // The file store's location variable appears nowhere else in the package's code.
      expect(text.includes('WGPRUNE_TUNING_CACHE'), bundle).toBe(false);
      // The shared format, the browser store and the tuner are in.
      expect(text).toContain('wgprune-tuning');
      expect(text).toContain('indexedDB');
      expect(text).toContain('QUICK_TUNE_PROTOCOL');
    }
    const node = readFileSync(`${root}dist/node.js`, 'utf8');
    expect(node).toContain('WGPRUNE_TUNING_CACHE');
    expect(node).toContain('wgprune-tuning');
  });
});
