/**
 * `wgprune train` and `wgprune prune` (the built CLI, CPU backend, tiny settings) do not lose
 * work or data quietly: a diverged run stops naming the epoch and keeps the last good
 * checkpoint, output paths are checked before any work (exit code 2), a missing --out is
 * warned about, the input is overwritten only with --force, a NaN checkpoint is warned about
 * or refused with --strict.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../index.js';
import { createModel, loadSafetensors, saveCheckpoint } from '../nn/node.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wgprune-cli-safety-'));
const clean = join(dir, 'lenet300.safetensors');
const poisoned = join(dir, 'lenet300-nan.safetensors');

beforeAll(async () => {
  await wg.init({ backend: 'cpu' });
  const m = createModel('lenet300', { seed: 5 });
  await saveCheckpoint(clean, m, { model: 'lenet300', format: 'wgprune-checkpoint-v1' });
  const w = m.child('classifier')!.child('2')!.parameter('weight')!;
  const values = await w.toArray();
  values.fill(NaN, 0, 7);
  const t = wg.tensor(values, w.shape);
  w.assign(t);
  t.dispose();
  await saveCheckpoint(poisoned, m, { model: 'lenet300' }, { nonFinite: 'allow' });
  m.dispose();
});
afterAll(() => {
  wg.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

function cli(...args: string[]) {
  const run = spawnSync(process.execPath, ['dist/cli.js', ...args], { cwd: root, encoding: 'utf8', timeout: 50_000 });
  expect(run.error).toBeUndefined();
  return run;
}

const quickTrain = ['train', '--model', 'lenet300', '--limit', '256', '--test-limit', '100', '--batch-size', '32', '--schedule', 'none', '--backend', 'cpu', '--no-progress'];
const quickPrune = ['prune', '--method', 'l1-unstructured', '--amount', '0.5', '--test-limit', '50', '--backend', 'cpu'];

describe('wgprune train', () => {
  it('--lr 3 diverges in epoch 2: stops with exit 1 naming the epoch, the epoch-1 checkpoint is kept', async () => {
    const out = join(dir, 'diverged.safetensors');
    const run = cli(...quickTrain, '--epochs', '3', '--lr', '3', '--out', out);
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/training loss became NaN in epoch 2, between steps 1 and 8 of 8/);
    expect(run.stderr).toMatch(/the last good checkpoint \(epoch 1\) is kept in .*diverged\.safetensors.*--allow-nonfinite/);
    expect(run.stdout).not.toMatch(/epoch 2\/3/);
    const saved = await loadSafetensors(out);
    expect(saved.metadata.epoch).toBe('1');
    for (const t of saved.tensors.values()) expect(t.data.every(Number.isFinite)).toBe(true);
  });

  it('--allow-nonfinite trains every epoch, never saving a non-finite one', async () => {
    const out = join(dir, 'allowed.safetensors');
    const run = cli(...quickTrain, '--epochs', '3', '--lr', '3', '--out', out, '--allow-nonfinite');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/epoch 3\/3: train loss NaN/);
    expect(run.stdout).toMatch(/best test accuracy .* at epoch 1/);
    expect((await loadSafetensors(out)).metadata.epoch).toBe('1');
  });

  it.each([
    ['a missing folder', () => join(dir, 'no-such-folder', 'm.safetensors'), /--out .*m\.safetensors: the folder .*no-such-folder does not exist/],
    ['a folder', () => dir, /--out .*: is a folder/],
    ['a place no file can be written', () => '/proc/wgprune-test.safetensors', /no file can be written in \/proc/],
  ])('--out in %s: refused with exit 2 before any work', (_, out, message) => {
    const run = cli(...quickTrain, '--epochs', '1', '--out', out());
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).not.toMatch(/device:/);
  });

  it('without --out: a warning that nothing will be saved', () => {
    const run = cli(...quickTrain, '--epochs', '1', '--limit', '64');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/warning: no --out given: the trained weights will not be saved/);
  });
});

describe('wgprune prune', () => {
  it('--out equal to --model is refused (exit 2) and the input kept; --force overwrites it', async () => {
    const input = join(dir, 'inplace.safetensors');
    copyFileSync(clean, input);
    const before = readFileSync(input);
    const refused = cli(...quickPrune, '--model', input, '--out', input);
    expect(refused.status, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/--out .*inplace\.safetensors: is the input checkpoint \(--model\).*--force/);
    expect(refused.stdout).not.toMatch(/device:/);
    expect(readFileSync(input).equals(before)).toBe(true);
    const forced = cli(...quickPrune, '--model', input, '--out', input, '--force');
    expect(forced.status, forced.stderr).toBe(0);
    expect((await loadSafetensors(input)).metadata.pruning_amount).toBe('0.5');
  });

  it('--out in a missing folder is refused before loading anything; no --out is a warning', () => {
    const refused = cli(...quickPrune, '--model', clean, '--out', join(dir, 'missing', 'p.safetensors'));
    expect(refused.status, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/the folder .*missing does not exist/);
    expect(refused.stdout).not.toMatch(/device:/);
    const warned = cli(...quickPrune, '--model', clean);
    expect(warned.status, warned.stderr).toBe(0);
    expect(warned.stderr).toMatch(/warning: no --out given: the pruned model will not be saved/);
  });

  it('fine-tuning that diverges stops with exit 1 naming the epoch; nothing is saved', () => {
    const out = join(dir, 'diverged-prune.safetensors');
    const run = cli(...quickPrune, '--model', clean, '--out', out, '--finetune-epochs', '1', '--lr', '1e30', '--limit', '256');
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/prune: fine-tuning stopped: the training loss became (NaN|infinite).* in epoch 1, .*; nothing was saved/);
    expect(existsSync(out)).toBe(false);
  });

  it('a checkpoint holding NaN: a warning naming the tensor and count; --strict refuses it with exit 2', () => {
    const warned = cli(...quickPrune, '--model', poisoned);
    expect(warned.status, warned.stderr).toBe(0);
    expect(warned.stderr).toMatch(/warning: .*lenet300-nan\.safetensors: 1 tensor holds NaN or infinite values: 'classifier\.2\.weight' \(7 of 30000 values\).*; --strict refuses such a checkpoint/);
    const strict = cli(...quickPrune, '--model', poisoned, '--strict');
    expect(strict.status, strict.stderr).toBe(2);
    expect(strict.stderr).toMatch(/refused: 1 tensor holds NaN or infinite values: 'classifier\.2\.weight' \(7 of 30000 values\)/);
    expect(strict.stdout).not.toMatch(/test accuracy/);
  });
});
