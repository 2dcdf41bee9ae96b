/**
 * `wgprune export` through the built CLI (dist/cli.js): a masked LeNet-5 checkpoint written as
 * ONNX with its pruning made permanent, and compacted (checked on ONNX Runtime by --verify and
 * here against the model); refused input exits with code 2 naming the flag, and writes nothing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Generator, init, noGrad, setBackend, shutdown, tensor } from '../engine/index.js';
import { runOnOrt } from '../measure/ort.js';
import { countParameters, createModel, fromOnnx, type Module, saveCheckpoint } from '../nn/node.js';
import { compact, prune } from '../pruning/index.js';
import { relError } from './helpers/onnx.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wgprune-export-'));
const ckpt = join(dir, 'lenet5-masked.safetensors');
let masked: Module;

function cli(...args: string[]) {
  return spawnSync(process.execPath, ['dist/cli.js', 'export', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...process.env, FORCE_COLOR: '0' } });
}

async function forward(model: Module, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const y = noGrad(() => model.forward(tensor(x, shape)));
  const v = await y.toArray();
  y.dispose();
  return v;
}

beforeAll(async () => {
  await init({ backend: 'cpu' });
  setBackend('cpu');
  masked = createModel('lenet5', { seed: 3 });
  await prune(masked, { granularity: 'filter', criterion: 'l1', sparsity: 0.5 });
  await saveCheckpoint(ckpt, masked, { model: 'lenet5' });
  masked.eval();
});
afterAll(() => {
  shutdown();
  rmSync(dir, { recursive: true, force: true });
});

const shape = [2, 1, 28, 28];
const x = (() => {
  const g = new Generator(9);
  return Float32Array.from({ length: 2 * 784 }, () => g.normal());
})();

describe('wgprune export', () => {
  it('a masked checkpoint: pruning made permanent, the masked model\'s outputs on ONNX Runtime', async () => {
    const out = join(dir, 'masked.onnx');
    const r = cli('--model', ckpt, '--out', out, '--verify');
    expect(r.stderr).not.toMatch(/wgprune:/);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('lenet5 from');
    expect(r.stdout).toMatch(/masked parameter\(s\) made permanent/);
    expect(r.stdout).toMatch(/verified on ONNX Runtime/);
    const bytes = new Uint8Array(readFileSync(out));
    expect(relError((await runOnOrt(bytes, x, shape)).data, await forward(masked, x, shape))).toBeLessThanOrEqual(1e-5);
  });

  it('--compact: a smaller model with the compacted model\'s outputs; --opset and --batch', async () => {
    const out = join(dir, 'small.onnx');
    const r = cli('--model', ckpt, '--arch', 'lenet5', '--compact', '--opset', '17', '--batch', '2', '--out', out);
    expect(r.status).toBe(0);
    const small = await compact(masked, { inputShape: [1, 28, 28] });
    expect(r.stdout).toContain(`${countParameters(masked).toLocaleString('en-US')} → ${countParameters(small).toLocaleString('en-US')} parameters`);
    const imp = fromOnnx(new Uint8Array(readFileSync(out)));
    expect([imp.opset, imp.batch]).toEqual([17, 2]);
    expect(countParameters(imp.model)).toBe(countParameters(small));
    const ours = await forward(small, x, shape);
    expect(relError(await forward(imp.model, x, shape), ours)).toBeLessThanOrEqual(1e-6);
    expect(relError((await runOnOrt(new Uint8Array(readFileSync(out)), x, shape)).data, ours)).toBeLessThanOrEqual(1e-5);
  });

  it('refuses bad input with exit code 2, naming the flag, and writes nothing', () => {
    const out = join(dir, 'refused.onnx');
    mkdirSync(join(dir, 'a-folder'));
    const cases: Array<[string[], RegExp]> = [
      [['--model', join(dir, 'missing.safetensors'), '--out', out], /export: --model .*missing\.safetensors: no such file/],
      [['--model', ckpt, '--arch', 'resnet9000', '--out', out], /export: --arch 'resnet9000' is not a known architecture/],
      [['--model', ckpt, '--arch', 'conv4', '--out', out], /export: --model .*lenet5/],
      [['--model', ckpt, '--out', join(dir, 'no-such-folder', 'x.onnx')], /export: --out .*does not exist/],
      [['--model', ckpt, '--out', join(dir, 'a-folder')], /export: --out .*is a folder/],
      [['--model', ckpt, '--opset', '12', '--out', out], /export: --opset must be an integer from 13 to 22, got '12'/],
      [['--model', ckpt, '--batch', 'many', '--out', out], /export: --batch must be an integer of at least 1, got 'many'/],
    ];
    for (const [args, message] of cases) {
      const r = cli(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
