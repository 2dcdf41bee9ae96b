/**
 * Checkpoints that must not go wrong quietly (CPU backend): non-finite values warned about
 * (or refused) on save and load, output paths checked before any work.
 */
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../index.js';
import { NonFiniteValuesError } from '../nn/checkpoint.js';
import { loadCheckpoint, saveCheckpoint } from '../nn/checkpoint-file.js';
import { checkCheckpointOut, CheckpointOutError } from '../nn/checkpoint-out.js';
import { createModel, Linear, loadSafetensors } from '../nn/node.js';
import { loadModelCheckpoint } from '../pruning/load-file.js';

let dir: string;
beforeAll(async () => {
  await wg.init({ backend: 'cpu' });
  dir = mkdtempSync(join(tmpdir(), 'wgprune-safety-'));
});
afterAll(() => {
  wg.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
const fresh = (name: string) => {
  const d = join(dir, `${name}-${n++}`);
  mkdirSync(d);
  return d;
};

/** A Linear whose weight holds `nan` NaNs and `inf` infinities (the rest finite). */
function poisoned(nan: number, inf: number, seed = 1): Linear {
  const layer = new Linear(4, 3, { generator: new wg.Generator(seed) });
  const w = layer.parameter('weight')!;
  const values = new Float32Array(12).map((_, i) => (i < nan ? NaN : i < nan + inf ? -Infinity : i / 10));
  const t = wg.tensor(values, [3, 4]);
  w.assign(t);
  t.dispose();
  return layer;
}

async function weightOf(m: Linear): Promise<Float32Array> {
  return m.parameter('weight')!.toArray();
}

describe('non-finite values', () => {
  it('saveCheckpoint with nonFinite: error refuses NaN/Inf, naming the tensor and count, and keeps the previous file', async () => {
    const path = join(fresh('save'), 'm.safetensors');
    const good = new Linear(4, 3, { generator: new wg.Generator(0) });
    await saveCheckpoint(path, good, { epoch: '1' }, { nonFinite: 'error' });
    const before = readFileSync(path);
    const bad = poisoned(2, 1);
    const err = await saveCheckpoint(path, bad, { epoch: '2' }, { nonFinite: 'error' }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteValuesError);
    expect((err as NonFiniteValuesError).tensors).toEqual([{ name: 'weight', count: 3, size: 12 }]);
    expect((err as Error).message).toMatch(/not saved: 1 tensor holds NaN or infinite values: 'weight' \(3 of 12 values\)/);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(readdirSync(join(path, '..'))).toEqual(['m.safetensors']);
  });

  it('saveCheckpoint by default writes NaN/Inf as they are, with a warning naming them; allow is silent', async () => {
    const path = join(fresh('save-warn'), 'm.safetensors');
    const warnings: string[] = [];
    await saveCheckpoint(path, poisoned(2, 1), { epoch: '2' }, { onWarning: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/'weight' \(3 of 12 values\); saved as they are/);
    const w = (await loadSafetensors(path)).tensors.get('weight')!.data;
    expect([w[0], w[2]]).toEqual([NaN, -Infinity]);
    await saveCheckpoint(path, poisoned(2, 1), {}, { nonFinite: 'allow', onWarning: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
  });

  it('loadCheckpoint warns naming the tensors (default), refuses with nonFinite: error, is silent with allow', async () => {
    const path = join(fresh('load'), 'nan.safetensors');
    await saveCheckpoint(path, poisoned(12, 0), {}, { nonFinite: 'allow' });
    const warnings: string[] = [];
    const target = new Linear(4, 3, { generator: new wg.Generator(5) });
    const original = await weightOf(target);

    await expect(loadCheckpoint(path, target, { nonFinite: 'error', onWarning: (m) => warnings.push(m) })).rejects.toThrow(/refused: 1 tensor holds NaN or infinite values: 'weight' \(all 12 values\)/);
    expect(await weightOf(target)).toEqual(original);
    expect(warnings).toEqual([]);

    await loadCheckpoint(path, target, { onWarning: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(path);
    expect(warnings[0]).toMatch(/'weight' \(all 12 values\)/);
    expect((await weightOf(target)).every(Number.isNaN)).toBe(true);

    await loadCheckpoint(path, target, { nonFinite: 'allow', onWarning: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
  });

  it('a finite checkpoint loads without a warning', async () => {
    const path = join(fresh('finite'), 'ok.safetensors');
    await saveCheckpoint(path, new Linear(4, 3, { generator: new wg.Generator(2) }));
    const warnings: string[] = [];
    await loadCheckpoint(path, new Linear(4, 3), { onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([]);
  });

  it('loadModelCheckpoint (the prune command and the study) warns with counts, or refuses before building the model', async () => {
    const path = join(fresh('model'), 'lenet300.safetensors');
    const m = createModel('lenet300', { seed: 1 });
    const bias = m.child('classifier')!.child('4')!.parameter('bias')!;
    const t = wg.tensor([NaN, Infinity, 0, 0, 0, 0, 0, 0, 0, NaN], [10]);
    bias.assign(t);
    t.dispose();
    await saveCheckpoint(path, m, { model: 'lenet300' }, { nonFinite: 'allow' });
    m.dispose();
    const warnings: string[] = [];
    const loaded = await loadModelCheckpoint(path, { onWarning: (w) => warnings.push(w) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/'classifier\.4\.bias' \(3 of 10 values\)/);
    loaded.model.dispose();
    const err = await loadModelCheckpoint(path, { nonFinite: 'error', onWarning: (w) => warnings.push(w) }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteValuesError);
    expect((err as NonFiniteValuesError).tensors).toEqual([{ name: 'classifier.4.bias', count: 3, size: 10 }]);
    expect(warnings).toHaveLength(1);
  });
});

describe('checkCheckpointOut', () => {
  const refused = async (p: Promise<void>, message: RegExp) => {
    const err = await p.then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointOutError);
    expect((err as CheckpointOutError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(message);
  };

  it('accepts a new file in an existing folder and leaves nothing behind', async () => {
    const d = fresh('out-ok');
    await checkCheckpointOut(join(d, 'a.safetensors'));
    expect(readdirSync(d)).toEqual([]);
  });

  it('refuses a folder, a missing folder, a place no file can be written', async () => {
    const d = fresh('out-bad');
    await refused(checkCheckpointOut(d), /--out .*: is a folder/);
    await refused(checkCheckpointOut(join(d, 'missing', 'a.safetensors')), /the folder .*missing does not exist/);
    expect(existsSync(join(d, 'missing'))).toBe(false);
    // Not chmod: the tests may run as root, which writes anywhere but here.
    await refused(checkCheckpointOut('/proc/wgprune-test.safetensors'), /no file can be written in \/proc/);
  });

  it('refuses the input file itself (same path, a symlink or a hard link) unless forced', async () => {
    const d = fresh('out-input');
    const input = join(d, 'in.safetensors');
    writeFileSync(input, 'x');
    symlinkSync(input, join(d, 'sym.safetensors'));
    linkSync(input, join(d, 'hard.safetensors'));
    for (const out of [input, join(d, '.', 'in.safetensors'), join(d, 'sym.safetensors'), join(d, 'hard.safetensors')]) {
      await refused(checkCheckpointOut(out, { input }), /is the input checkpoint \(--model\).*--force/);
      await checkCheckpointOut(out, { input, force: true });
    }
    await checkCheckpointOut(join(d, 'other.safetensors'), { input });
  });
});
