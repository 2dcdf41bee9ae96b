/**
 * The published bundles (dist/cli.js, dist/node.js, dist/index.js, dist/browser.js, built by the test set-up) hold no
 * benchmark code: `wgprune bench …` runs the benchmark entries through scripts/bench.mjs in a
 * child process instead of importing them. The names below exist only in bench/.
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

  it('the browser-safe bundles leave the tuning cache file store out; the Node entry registers it', () => {
    for (const bundle of ['dist/index.js', 'dist/browser.js']) expect(readFileSync(`${root}${bundle}`, 'utf8')).not.toContain('wgprune-tuning');
    expect(readFileSync(`${root}dist/node.js`, 'utf8')).toContain('wgprune-tuning');
  });
});
