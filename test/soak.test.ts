/**
 * A short soak (scripts/soak.ts, what `npm run soak` runs for 2,000 steps): LeNet-5 trained and
 * pruned on MNIST for 60 steps of batch 8 in 6 segments, as a child process; it must exit 0 —
 * device memory of live tensors identical at every boundary after the warm-up, RSS growth under
 * 5 %, a finite loss — and its figures go to RELIABILITY.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { record } from './helpers/reliability.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wgprune-soak-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('a short soak: in-use device bytes flat at every boundary, RSS bounded, loss finite (exit 0)', () => {
  const json = join(dir, 'soak.json');
  const args = ['--steps', '60', '--batch', '8', '--segments', '6', '--warmup', '3', '--json', json];
  const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'scripts/soak.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 110_000 });
  expect(run.error, 'the soak process ran').toBeUndefined();
  const figures = JSON.parse(readFileSync(json, 'utf8')) as Record<string, unknown> & { boundaries: Array<Record<string, number>> };
  record('soak', `npm run soak -- ${args.slice(0, -2).join(' ')} (CI version)`, {
    adapter: figures.adapter, steps: figures.steps, batch: figures.batch, 'in-use bytes': figures.inUseBytes, 'in-use flat': figures.inUseFlat,
    'RSS after warm-up, first third (MB)': figures.rssEarlyMB, 'last third (MB)': figures.rssLateMB, 'RSS growth': `${(100 * (figures.rssGrowth as number)).toFixed(1)} %`, 'RSS max (MB)': figures.rssMaxMB,
    'final test accuracy': figures.finalAccuracy, outcome: figures.passed ? 'passed' : 'failed',
    segments: figures.boundaries.map((b) => ({
      segment: b.segment, step: b.step, loss: Math.round(b.loss! * 1000) / 1000, 'in use after train (B)': b.inUseAfterTrain, 'in use at boundary (B)': b.inUseAfterPrune,
      'pooled (B)': b.allocatedBytes, 'RSS (MB)': b.rssMB,
    })),
  });
  expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
  expect(run.stdout).toMatch(/in-use device bytes after warm-up: flat at \d+ B at every boundary/);
  expect(figures.passed).toBe(true);
  expect(figures.boundaries).toHaveLength(6);
}, 120_000);
