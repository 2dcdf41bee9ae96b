/**
 * The tuner's sparse families. The synthetic matrices have exactly the statistics a recorded
 * problem names (so the problem key of the matrix tuned on is the key recorded), and malformed
 * problems are refused naming what is wrong. Then the built CLI (dist/cli.js): `--sparse` prunes
 * and converts a model so its CSR and BSR layers' plans are recorded; one CSR and one BSR problem
 * from those records are tuned into a cache, and a second process running the same pruned model
 * plans exactly those two layers as tuned (the others stay with the rule); a sparse convolution
 * given as planner arguments is tuned and used the same way. Bad `--sparse` values
 * exit 2 naming the flag.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { bsrSpmmProblem, bsrSpmmProblemKey } from '../kernels/sparse/bsr-plan.js';
import { csrSpmmProblem, csrSpmmProblemKey } from '../kernels/sparse/csr-plan.js';
import { bsrSpmmFamily, csrSpmmFamily, sparseConvFamily } from '../tune/families/sparse.js';
import { readCache } from '../tune/cache-file.js';
import { randomBsr, randomCsr } from '../tune/sparse-matrices.js';
import { parseSparseTargets } from '../tune/sparse-models.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wgprune-tune-sparse-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('synthetic sparse matrices', () => {
  it('CSR: the shape, non-zeros and longest row asked for, the same for the same seed', () => {
    for (const [rows, cols, nnz, maxRow] of [[24, 40, 96, 7], [10, 100, 100, 15], [1, 9, 5, 5], [6, 6, 36, 6], [5, 8, 0, 0], [300, 784, 23520, 102]] as const) {
      const m = randomCsr(rows, cols, nnz, maxRow, 3);
      expect(csrSpmmProblemKey(csrSpmmProblem(m, 4))).toBe(csrSpmmProblemKey({ rows, cols, nnz, maxRowLength: maxRow, batch: 4 }));
      for (let r = 0; r < rows; r++) {
        const c = m.colIdx.subarray(m.rowPtr[r]!, m.rowPtr[r + 1]!);
        for (let k = 1; k < c.length; k++) expect(c[k]!).toBeGreaterThan(c[k - 1]!);
      }
      const again = randomCsr(rows, cols, nnz, maxRow, 3);
      expect(again.colIdx).toEqual(m.colIdx);
      expect(again.values).toEqual(m.values);
    }
    // Row lengths vary (as a pruned layer's do), and another seed gives another matrix.
    const m = randomCsr(64, 128, 640, 20, 1);
    const lengths = new Set(Array.from({ length: 64 }, (_, r) => m.rowPtr[r + 1]! - m.rowPtr[r]!));
    expect(lengths.size).toBeGreaterThan(3);
    expect(randomCsr(64, 128, 640, 20, 2).colIdx).not.toEqual(m.colIdx);
  });

  it('BSR: the shape, block and stored blocks asked for; entries past the edge are zero', () => {
    for (const [rows, cols, block, blocks] of [[24, 40, [4, 4], 12], [10, 100, [4, 4], 15], [10, 30, [8, 8], 6], [7, 9, [1, 4], 21]] as const) {
      const m = randomBsr(rows, cols, block, blocks, 5);
      expect(bsrSpmmProblemKey(bsrSpmmProblem(m, 8))).toBe(bsrSpmmProblemKey({ rows, cols, block, nnzBlocks: blocks, batch: 8 }));
      expect(randomBsr(rows, cols, block, blocks, 5).values).toEqual(m.values);
      // The dense form holds every stored value inside the matrix: nothing was lost past its edge.
      const inside = m.toDense().reduce((a, v) => a + Math.abs(v), 0);
      expect(inside).toBeCloseTo(m.values.reduce((a, v) => a + Math.abs(v), 0), 3);
      expect(inside).toBeGreaterThan(0);
    }
  });

  it('refuses problems no matrix has, naming the family and what is wrong', () => {
    expect(() => csrSpmmFamily.parse({ rows: 4, cols: 8, nnz: 10, maxRowLength: 9, batch: 2 })).toThrow(/spmm-csr problem: maxRowLength 9 exceeds cols 8/);
    expect(() => csrSpmmFamily.parse({ rows: 4, cols: 8, nnz: 40, maxRowLength: 8, batch: 2 })).toThrow(/40 non-zeros do not fit 4 rows of at most 8/);
    expect(() => csrSpmmFamily.parse({ rows: 4, cols: 8, nnz: 10, maxRowLength: 4 })).toThrow(/spmm-csr problem: batch must be an integer ≥ 1/);
    expect(() => bsrSpmmFamily.parse({ rows: 8, cols: 8, block: [3, 3], nnzBlocks: 1, batch: 2 })).toThrow(/spmm-bsr problem: unsupported block shape/);
    expect(() => bsrSpmmFamily.parse({ rows: 8, cols: 8, block: [4, 4], nnzBlocks: 5, batch: 2 })).toThrow(/5 blocks do not fit the 4 block slots/);
    const geometry = { n: 1, c: 2, h: 4, w: 4, oc: 2, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1, oh: 4, ow: 4 };
    expect(() => sparseConvFamily.parse({ geometry, format: 'coo', block: [1, 1], stored: 3 })).toThrow(/sparse-conv problem: format must be 'csr' or 'bsr'/);
    expect(() => sparseConvFamily.parse({ geometry, format: 'csr', block: [1, 1], stored: 37 })).toThrow(/37 stored non-zeros do not fit a 2x18 filter matrix/);
    expect(sparseConvFamily.key(sparseConvFamily.parse({ geometry, format: 'csr', block: [1, 1], stored: 36 }))).toBe('n1 2x4x4->2 k3x3 s1x1 p1x1 d1x1 csr nnz 36');
  });

  it('reads --sparse targets and refuses what is not one', () => {
    expect(parseSparseTargets('csr:0.9, bsr8x8:0.75,bsr:0.5')).toEqual([
      { format: 'csr', sparsity: 0.9 }, { format: 'bsr', block: [8, 8], sparsity: 0.75 }, { format: 'bsr', block: [4, 4], sparsity: 0.5 },
    ]);
    expect(() => parseSparseTargets('csr:1')).toThrow(/between 0 and 1/);
    expect(() => parseSparseTargets('bsr3x3:0.5')).toThrow(/unsupported block shape \[3,3\].*in 'bsr3x3:0.5'/);
    expect(() => parseSparseTargets('coo:0.5')).toThrow(/FORMAT csr or bsrRxC/);
  });
});

const cli = (args: string[]) => spawnSync(process.execPath, ['dist/cli.js', ...args], { cwd: root, encoding: 'utf8', timeout: 110_000 });

/** `plan <family> <key>: <variant> source=<source>` lines of `wgprune tune --show`. */
const plans = (stdout: string) => Object.fromEntries([...stdout.matchAll(/^plan (\S+ .+?): (\S+) source=(\w+)/gm)].map((m) => [m[1]!, { variant: m[2]!, source: m[3]! }]));

interface Shown { family: string; problem: string; args: unknown }

describe('wgprune tune --sparse (built CLI)', () => {
  const cache = join(dir, 'tuning.json');
  const model = ['--model', 'lenet300', '--sparse', 'csr:0.9,bsr4x4:0.8', '--batch', '4'];

  it("records a pruned model's CSR and BSR problems; tuned entries for two of them are used by a second process", () => {
    const show = cli(['tune', '--show', ...model, '--cache', cache, '--json', join(dir, 'plans.json')]);
    expect(show.status, show.stderr).toBe(0);
    expect(show.stdout).toContain('model lenet300 pruned and converted as csr:0.9, at batch 4 (forward): 3 tunable problem(s)');
    expect(show.stdout).toContain('model lenet300 pruned and converted as bsr4x4:0.8, at batch 4 (forward): 3 tunable problem(s)');
    const shown = (JSON.parse(readFileSync(join(dir, 'plans.json'), 'utf8')) as { plans: Shown[] }).plans;
    const csr = shown.filter((p) => p.family === 'spmm-csr');
    const bsr = shown.filter((p) => p.family === 'spmm-bsr');
    expect(csr.map((p) => p.problem.split(' ')[0])).toEqual(['300x784', '100x300', '10x100']);
    expect(bsr.map((p) => p.problem.split(' ')[0])).toEqual(['300x784', '100x300', '10x100']);
    // 90 % of each layer's weights pruned: round(0.1 · 1000) of the 10×100 head remain.
    expect(csr[2]!.problem).toMatch(/^10x100 nnz 100 maxrow \d+ batch 4$/);

    // Tune the two small heads only (as a user would with --problems), and a small CSR convolution.
    const chosen = [csr[2]!, bsr[2]!];
    const geometry = { n: 1, c: 3, h: 8, w: 8, oc: 4, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1, oh: 8, ow: 8 };
    const conv = { family: 'sparse-conv', problem: 'n1 3x8x8->4 k3x3 s1x1 p1x1 d1x1 csr nnz 30', args: { geometry, format: 'csr', block: [1, 1], stored: 30 } };
    const problems = join(dir, 'problems.json');
    writeFileSync(problems, JSON.stringify([...chosen, conv].map(({ family, args }) => ({ family, args }))));
    const run = cli(['tune', '--problems', problems, '--quick', '--cache', cache, '--json', join(dir, 'tune.json')]);
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, 'tune.json'), 'utf8')) as { problems: Array<{ key: string; candidates: Array<{ ms: number | null; skipped?: string }> }> };
    expect(report.problems.map((p) => p.key)).toEqual([...chosen, conv].map((p) => p.problem));
    for (const p of report.problems) {
      expect(p.candidates.filter((c) => c.skipped)).toEqual([]);
      expect(p.candidates.length).toBeGreaterThan(1);
    }
    const [table] = Object.values(readCache(cache).tables);
    expect(Object.keys(table!.entries['spmm-csr']!)).toEqual([csr[2]!.problem]);
    expect(Object.keys(table!.entries['spmm-bsr']!)).toEqual([bsr[2]!.problem]);
    expect(Object.keys(table!.entries['sparse-conv']!)).toEqual([conv.problem]);

    // A second process prunes and converts the same model: its two heads run the tuned variants (and the convolution given is planned as tuned).
    const again = cli(['tune', '--show', ...model, '--problems', problems, '--cache', cache]);
    expect(again.status, again.stderr).toBe(0);
    const p = plans(again.stdout);
    for (const c of [...chosen, conv]) {
      expect(p[`${c.family} ${c.problem}`]).toEqual({ variant: table!.entries[c.family as 'spmm-csr' | 'spmm-bsr' | 'sparse-conv']![c.problem]!.variant, source: 'tuned' });
    }
    expect(p[`spmm-csr ${csr[0]!.problem}`]!.source).toBe('rule');
    expect(p[`spmm-bsr ${bsr[1]!.problem}`]!.source).toBe('rule');
  }, 120_000);

  it('refuses bad --sparse values before any work (exit 2, naming the flag)', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--sparse', 'csr:1.5'], /--sparse <list>.*between 0 and 1/],
      [['--sparse', 'csr'], /--sparse <list>.*FORMAT:SPARSITY/],
      [['--sparse', 'coo:0.5'], /--sparse <list>.*FORMAT csr or bsrRxC/],
      [['--sparse', 'bsr3x3:0.5'], /--sparse <list>.*unsupported block shape/],
      [['--sparse', 'csr4x4:0.5'], /--sparse <list>.*csr takes no block shape/],
      [['--sparse', 'csr:0.9', '--matmul', '8x8x8'], /--sparse: prunes and converts models: name them with --model/],
    ];
    for (const [args, why] of cases) {
      const run = cli(['tune', ...args, '--cache', join(dir, 'unused.json')]);
      expect(run.status, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(why);
    }
  }, 60_000);
});
