/**
 * `wgprune study` through the built CLI (dist/cli.js): a tiny study end to end (a few hundred
 * MNIST samples, one method, one sparsity, small batches) exits 0 and writes a results.json that
 * is valid against the shipped schema (every timing naming the kernel plans behind it, the
 * device its profile and tuning table), plus the report; bad input is refused before any work
 * with exit code 2 and a message naming the flag, leaving the output folder without results.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { KERNEL_FAMILIES, PROFILE_NAMES } from '../gpu/profile.js';
import { formatPlanCounts } from '../measure/plan-summary.js';
import { escapeMarkdown } from '../report/escape.js';
import { validateResults } from '../study/validate.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wgprune-study-cli-'));

function cli(args: string[], timeout = 240_000) {
  return spawnSync(process.execPath, ['dist/cli.js', ...args], { cwd: root, encoding: 'utf8', timeout, env: { ...process.env, FORCE_COLOR: '0' } });
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('wgprune study (built CLI)', () => {
  it('a tiny study runs end to end: exit 0, results.json valid against the schema, report written', () => {
    const out = join(dir, 'tiny');
    const run = cli([
      'study', '--model', 'lenet5', '--methods', 'l1:filter', '--sparsities', '0.5', '--formats', 'dense,masked,csr,compacted',
      '--batches', '1,8', '--train-limit', '256', '--test-limit', '200', '--reps', '3', '--warmup', '1', '--min-sample', '0', '--no-progress', '--out', out,
    ]);
    expect(run.error).toBeUndefined();
    expect(run.status, run.stderr).toBe(0);
    const results = validateResults(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')), 'results.json');
    expect(results.complete).toBe(true);
    expect(results.command).toMatch(/^wgprune study --model lenet5 --methods l1:filter/);
    expect(results.runs).toHaveLength(1);
    const [r] = results.runs;
    expect(r!.status).toBe('ok');
    expect(r!.accuracy.final).toBeGreaterThan(0.5);
    expect(results.baseline.accuracy).toBeGreaterThan(0.9);
    const byFormat = new Map(r!.formats.map((f) => [f.format, f]));
    expect([...byFormat.keys()]).toEqual(['dense', 'masked', 'csr', 'compacted']);
    for (const f of r!.formats) {
      expect(f.status, f.reason).toBe('ok');
      expect(f.latency.map((l) => l.batch)).toEqual([1, 8]);
      for (const l of f.latency) expect(l.speedup).toBeCloseTo(l.reference.median / l.format.median, 9);
      if (f.outputError !== null) expect(f.outputError).toBeLessThanOrEqual(1e-4);
    }
    // How the kernels were planned: the device's profile, no tuning table (the tests turn the cache off), nothing forced.
    const { profile, tuning, forcedKernels } = results.device;
    expect(PROFILE_NAMES).toContain(profile?.name);
    expect(tuning).toEqual({ inUse: false, entries: 0 });
    expect(forcedKernels).toEqual({});
    expect(run.stderr).toContain(`kernels: profile ${profile!.name} (${profile!.reason}); no tuning table`);
    // Every timing names its plans: real families, all the profile's rule, each problem counted once.
    for (const f of r!.formats) {
      for (const l of f.latency) {
        expect(l.plans?.length, `${f.format} at batch ${l.batch}`).toBeGreaterThan(0);
        for (const p of l.plans!) {
          expect(KERNEL_FAMILIES).toContain(p.family);
          expect(p.source).toBe('rule');
          expect(p.problems).toBeGreaterThanOrEqual(1);
        }
      }
    }
    const families = (f: 'dense' | 'csr') => new Set(byFormat.get(f)!.latency[0]!.plans!.map((p) => p.family));
    expect([...families('dense')]).toEqual(expect.arrayContaining(['conv-fwd', 'matmul']));
    expect(families('csr').has('spmm-csr')).toBe(true);
    expect(families('csr').has('matmul')).toBe(false);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toContain(`- **kernel planning:** profile ${profile!.name}`);
    expect(md).toContain(escapeMarkdown(formatPlanCounts(byFormat.get('csr')!.latency[0]!.plans!)));
    // Filter pruning of half the filters: compaction really removes FLOPs.
    expect(byFormat.get('compacted')!.flopSpeedup).toBeGreaterThan(1.5);
    expect(byFormat.get('compacted')!.params).toBeLessThan(results.baseline.profile.totals.params);
    const files = readdirSync(out);
    expect(files).toEqual(expect.arrayContaining(['results.json', 'report.md', 'report.html']));
    expect(readdirSync(join(out, 'plots')).filter((f) => f.endsWith('.svg')).length).toBeGreaterThan(0);
    // The headline table is printed with the report's location.
    expect(run.stdout).toMatch(/l1 filter/);
    expect(run.stdout).toContain(join(out, 'report.html'));
  }, 300_000);

  it('Ctrl-C stops after the current step: exit 130, results.json valid with the finished runs, complete: false', async () => {
    const out = join(dir, 'interrupted');
    const child = spawn(process.execPath, [
      'dist/cli.js', 'study', '--methods', 'l1:weight', '--sparsities', '0.3,0.5,0.7', '--formats', 'dense,csr', '--batches', '4',
      '--train-limit', '256', '--test-limit', '100', '--reps', '3', '--warmup', '1', '--min-sample', '0', '--no-layer-times', '--no-progress', '--out', out,
    ], { cwd: root, env: { ...process.env, FORCE_COLOR: '0' } });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      // Interrupt once the second run has started: the first is finished and saved.
      if (!sent && stderr.includes('[run 2]')) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(sent, stderr).toBe(true);
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/stopping after the current step/);
    const results = validateResults(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')), 'results.json');
    expect(results.complete).toBe(false);
    expect(results.stopReason).toMatch(/stopped by the user after 1 of 3 runs/);
    expect(results.runs.map((r) => r.sparsity)).toEqual([0.3]);
    expect(existsSync(join(out, 'report.html'))).toBe(true);
  }, 180_000);

  const bad: Array<[string, string[], RegExp]> = [
    ['unknown model', ['--model', 'resnet50'], /--model: unknown model 'resnet50'/],
    ['unknown method', ['--methods', 'magic:weight'], /--methods: unknown criterion 'magic'/],
    ['unknown format', ['--formats', 'dense,coo'], /--formats: unknown value 'coo'/],
    ['unknown preset', ['--preset', 'nope'], /--preset: unknown preset 'nope'/],
    ['sparsity 1', ['--sparsities', '0.5,1'], /--sparsities: expected sparsities in \[0, 1\)/],
    ['negative sparsity', ['--sparsities', '-0.2'], /--sparsities:/],
    ['architecture that does not match the checkpoint', ['--model', join(root, 'models/lenet5-mnist.safetensors'), '--arch', 'lenet300'], /--arch: .*lenet5.*not 'lenet300'/],
    ['checkpoint that is not a safetensors file', ['--model', join(dir, 'garbage.safetensors'), '--arch', 'lenet5'], /--model: /],
  ];
  for (const [what, args, message] of bad) {
    it(`refuses ${what} before any work, exit 2`, () => {
      writeFileSync(join(dir, 'garbage.safetensors'), 'not a safetensors file');
      const out = join(dir, `bad-${what.replace(/\W+/g, '-')}`);
      const run = cli(['study', ...args, '--no-progress', '--out', out], 60_000);
      expect(run.status, run.stderr).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).not.toMatch(/load MNIST|\[run 1\]/);
      expect(existsSync(join(out, 'results.json'))).toBe(false);
    }, 60_000);
  }

  it('refuses an output folder it cannot write, and one that already has results (without --force)', () => {
    // /proc takes no new folders, even for root (CI runs as root, so a read-only mode would not do).
    const run = cli(['study', '--no-progress', '--out', '/proc/wgprune-study-test/out'], 60_000);
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/--out: .*(cannot be created|not writable)/);
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const onFile = cli(['study', '--no-progress', '--out', file], 60_000);
    expect(onFile.status, onFile.stderr).toBe(2);
    expect(onFile.stderr).toMatch(/--out: .*not a folder/);
    const used = join(dir, 'used');
    mkdirSync(used);
    writeFileSync(join(used, 'results.json'), '{}');
    const again = cli(['study', '--no-progress', '--out', used], 60_000);
    expect(again.status, again.stderr).toBe(2);
    expect(again.stderr).toMatch(/--out: .*already holds a results\.json/);
    expect(readFileSync(join(used, 'results.json'), 'utf8')).toBe('{}');
  }, 120_000);
});
