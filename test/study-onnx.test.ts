/**
 * `wgprune study` on ONNX model files through the built CLI (dist/cli.js): the PyTorch-exported
 * LeNet-5 fixture studied end to end with ONNX Runtime as a second runtime (results valid against
 * the schema, ORT rows checked within 1e-4 and timed, the report showing them); a model that is
 * neither MNIST- nor CIFAR-shaped studied on seeded random inputs (timing only); and bad input
 * (a file that is not ONNX, an unsupported operator, --arch, a lottery schedule, data of the wrong
 * shape, an unknown runtime) refused before any work with exit code 2, naming the flag.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { validateResults } from '../study/validate.js';
import { makeModel, node } from './helpers/onnx.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wgprune-study-onnx-'));
const fixture = (name: string) => join(root, 'test/fixtures/onnx', `${name}.onnx`);
const tiny = ['--train-limit', '128', '--test-limit', '100', '--reps', '3', '--warmup', '1', '--min-sample', '0', '--no-layer-times', '--no-progress'];

function cli(args: string[], timeout = 240_000) {
  return spawnSync(process.execPath, ['dist/cli.js', ...args], { cwd: root, encoding: 'utf8', timeout, env: { ...process.env, FORCE_COLOR: '0' } });
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('wgprune study --model file.onnx (built CLI)', () => {
  it('LeNet-5 from PyTorch on MNIST, also on ONNX Runtime: valid results with checked, timed ORT rows, and the report shows them', () => {
    const out = join(dir, 'lenet5-ort');
    const run = cli([
      'study', '--model', fixture('lenet5'), '--methods', 'l1:filter', '--sparsities', '0.5', '--formats', 'dense,masked,compacted',
      '--batches', '1,4', '--runtime', 'wgprune,onnxruntime', ...tiny, '--out', out,
    ]);
    expect(run.error).toBeUndefined();
    expect(run.status, run.stderr).toBe(0);
    const results = validateResults(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')), 'results.json');
    expect(results.complete).toBe(true);
    expect(results.config).toMatchObject({ model: fixture('lenet5'), checkpoint: null, data: 'mnist', trainEpochs: 0, runtimes: ['wgprune', 'onnxruntime'] });
    expect(results.model).toMatchObject({ name: 'lenet5.onnx', inputShape: [1, 28, 28], dataset: 'mnist', timingOnly: false });
    expect(results.model.source).toMatch(/^ONNX file .*lenet5\.onnx \(opset 13/);
    // MNIST-shaped: accuracy is measured (the fixture's weights are untrained: any value will do).
    expect(results.baseline.accuracy).toBeGreaterThanOrEqual(0);
    expect(results.runs).toHaveLength(1);
    const [r] = results.runs;
    expect(r!.status, r!.error).toBe('ok');
    expect(r!.accuracy.final).toBeGreaterThanOrEqual(0);
    expect(r!.formats.map((f) => [f.format, f.status])).toEqual([['dense', 'ok'], ['masked', 'ok'], ['compacted', 'ok']]);

    const ort = r!.onnxruntime!;
    expect(ort.runtime).toMatchObject({ name: 'onnxruntime-node', executionProvider: 'cpu' });
    expect(ort.formats.map((f) => f.format)).toEqual(['dense', 'masked', 'compacted']);
    for (const f of ort.formats) {
      expect(f.status, f.reason).toBe('ok');
      expect(f.outputError).not.toBeNull();
      expect(f.outputError!).toBeLessThanOrEqual(1e-4);
      expect(f.onnxBytes).toBeGreaterThan(0);
      expect(f.flopSpeedup).toBe(r!.formats.find((x) => x.format === f.format)!.flopSpeedup);
      expect(f.latency.map((l) => l.batch)).toEqual([1, 4]);
      for (const l of f.latency) {
        expect(Number.isFinite(l.speedup) && l.speedup > 0).toBe(true);
        expect(l.speedup).toBeCloseTo(l.reference.median / l.format.median, 9);
        expect(Number.isFinite(l.realization) && l.realization > 0).toBe(true);
      }
    }
    // Half the filters removed: the compacted file is smaller than the dense one.
    expect(ort.formats[2]!.onnxBytes).toBeLessThan(ort.formats[0]!.onnxBytes);
    expect(results.notes.join('\n')).toMatch(/Second runtime: .*ONNX Runtime/);

    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toContain('Second runtime: ONNX Runtime');
    expect(md).toMatch(/\| compacted on ORT \| ok /);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('masked on ORT');
    expect(run.stdout).toContain('Second runtime: ONNX Runtime');
  }, 300_000);

  it('a model that is neither MNIST- nor CIFAR-shaped runs on seeded random inputs, timing only, and says so', () => {
    const out = join(dir, 'concat');
    const run = cli(['study', '--model', fixture('concat'), '--methods', 'l1:weight', '--sparsities', '0.5', '--formats', 'dense,masked', '--batches', '2', ...tiny, '--out', out]);
    expect(run.status, run.stderr).toBe(0);
    const results = validateResults(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')), 'results.json');
    expect(results.config.data).toBe('synthetic');
    expect(results.model).toMatchObject({ name: 'concat.onnx', inputShape: [3, 8, 8], dataset: 'synthetic', timingOnly: true });
    expect(results.baseline.accuracy).toBeNull();
    expect(results.notes.join('\n')).toMatch(/random inputs .*\[3, 8, 8\].*timing only/);
    expect(results.runs[0]!.status, results.runs[0]!.error).toBe('ok');
    expect(results.runs[0]!.accuracy.final).toBeNull();
    expect(results.runs[0]!).not.toHaveProperty('onnxruntime');
    expect(existsSync(join(out, 'report.html'))).toBe(true);
  }, 300_000);

  const garbage = join(dir, 'garbage.onnx');
  const unsupported = join(dir, 'erf.onnx');
  const bad: Array<[string, string[], RegExp]> = [
    ['a file that is not ONNX', ['--model', garbage], /--model: .*garbage\.onnx: /],
    ['a missing file', ['--model', join(dir, 'missing.onnx')], /--model: .*missing\.onnx: cannot be read \(ENOENT\)/],
    ['an operator wgprune does not import', ['--model', unsupported], /--model: .*erf\.onnx: cannot import the ONNX model: [^]*'erf' \(Erf\): operator not supported/],
    ['--arch with an ONNX file', ['--model', fixture('lenet5'), '--arch', 'lenet5'], /--arch: an ONNX file holds its own architecture/],
    ['a lottery schedule on an ONNX file', ['--model', fixture('lenet5'), '--schedule', 'lottery'], /--schedule: lottery .*initial values/],
    ['MNIST data for a CIFAR-shaped model', ['--model', fixture('cifar-bn'), '--data', 'mnist'], /--data: cifar-bn\.onnx takes \[3, 32, 32\] inputs, not MNIST's/],
    ['an unknown runtime', ['--model', fixture('lenet5'), '--runtime', 'tensorrt'], /--runtime: unknown value 'tensorrt'/],
  ];
  for (const [what, args, message] of bad) {
    it(`refuses ${what} before any work, exit 2`, () => {
      writeFileSync(garbage, 'not an ONNX model at all');
      writeFileSync(unsupported, makeModel({ nodes: [node('erf', 'Erf', ['x'], ['y'])], dims: ['N', 4] }));
      const out = join(dir, `bad-${what.replace(/\W+/g, '-')}`);
      const run = cli(['study', ...args, '--no-progress', '--out', out], 60_000);
      expect(run.status, run.stderr).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).not.toMatch(/load MNIST|set-up: import the ONNX model|\[run 1\]/);
      expect(existsSync(join(out, 'results.json'))).toBe(false);
    }, 60_000);
  }
});
