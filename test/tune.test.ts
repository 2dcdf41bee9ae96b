/**
 * The tuner and its cache. The file store alone (merge, atomic write, refusal of a malformed
 * file); then the built CLI (dist/cli.js, built by the test set-up) tunes two small matmuls and a convolution into
 * a cache in a temporary folder, and a second process started afterwards loads that cache at
 * device start-up: its plans for the same problems report source=tuned, a problem the table
 * lacks stays with the rule, and with the cache turned off everything is the rule's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cachePath, CACHE_FORMAT, loadTable, readCache, TuningCacheError, writeTable } from '../tune/cache-file.js';
import { winnerOf } from '../tune/tune.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wgprune-tune-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const entry = (variant: string, ms: number) => ({ variant, ms, candidates: { [variant]: ms, other: ms * 2 } });

describe('tuning cache file', () => {
  it('is found through --cache, WGPRUNE_TUNING_CACHE, XDG_CACHE_HOME, then ~/.cache; off turns it off', () => {
    expect(cachePath('/x/given.json', { WGPRUNE_TUNING_CACHE: '/y/env.json' })).toBe('/x/given.json');
    expect(cachePath(undefined, { WGPRUNE_TUNING_CACHE: '/y/env.json' })).toBe('/y/env.json');
    expect(cachePath(undefined, { WGPRUNE_TUNING_CACHE: 'off' })).toBeNull();
    expect(cachePath(undefined, { XDG_CACHE_HOME: '/c' })).toBe('/c/wgprune/tuning.json');
    expect(cachePath(undefined, {})).toMatch(/\.cache\/wgprune\/tuning\.json$/);
  });

  it('merges tables per adapter and per problem, and writes without leaving temporary files', () => {
    const file = join(dir, 'merge', 'tuning.json');
    writeTable(file, { adapter: 'A', entries: { matmul: { p1: entry('x', 1), p2: entry('y', 2) } } });
    writeTable(file, { adapter: 'B', entries: { matmul: { p1: entry('z', 3) } } });
    writeTable(file, { adapter: 'A', entries: { matmul: { p2: entry('w', 4) }, 'conv-fwd': { c1: entry('v', 5) } } });
    const cache = readCache(file);
    expect(cache.format).toBe(CACHE_FORMAT);
    expect(Object.keys(cache.tables).sort()).toEqual(['A', 'B']);
    expect(cache.tables.A!.entries.matmul).toEqual({ p1: entry('x', 1), p2: entry('w', 4) });
    expect(cache.tables.A!.entries['conv-fwd']).toEqual({ c1: entry('v', 5) });
    expect(loadTable(file, 'B')!.entries.matmul!.p1!.variant).toBe('z');
    expect(loadTable(file, 'C')).toBeNull();
    expect(readdirSync(join(dir, 'merge'))).toEqual(['tuning.json']);
  });

  it('refuses a malformed file with a message naming it, and leaves it as it was', () => {
    const cases: Array<[string, RegExp]> = [
      ['{ not json', /not valid JSON/],
      ['{"format":"something-else","version":1,"tables":{}}', /"format": "wgprune-tuning"/],
      [`{"format":"${CACHE_FORMAT}","version":1,"tables":{"A":{"adapter":"A","entries":{"matmul":{"p":{"variant":3}}}}}}`, /is not \{ variant, ms, candidates \}/],
      [`{"format":"${CACHE_FORMAT}","version":1,"tables":{"A":{"adapter":"A","entries":{"nope":{}}}}}`, /unknown kernel family 'nope'/],
    ];
    for (const [i, [text, why]] of cases.entries()) {
      const file = join(dir, `bad-${i}.json`);
      writeFileSync(file, text);
      expect(() => readCache(file)).toThrow(TuningCacheError);
      expect(() => writeTable(file, { adapter: 'A', entries: {} })).toThrow(why);
      expect(() => writeTable(file, { adapter: 'A', entries: {} })).toThrow(file);
      expect(readFileSync(file, 'utf8')).toBe(text);
    }
  });
});

const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['dist/cli.js', ...args], { cwd: root, encoding: 'utf8', timeout: 110_000, env: { ...process.env, ...env } });

/** `plan <family> <key>: <variant> source=<source>` lines of `wgprune tune --show`. */
const plans = (stdout: string) => Object.fromEntries([...stdout.matchAll(/^plan (\S+ .+?): (\S+) source=(\w+)/gm)].map((m) => [m[1]!, { variant: m[2]!, source: m[3]! }]));

describe('wgprune tune (built CLI)', () => {
  const cache = join(dir, 'cli', 'tuning.json');
  const shapes = '8x16x12,16x8x4';
  // One small convolution (forward, bias and ReLU fused), given as the planner's arguments.
  const conv = join(dir, 'conv.json');
  const g = { n: 1, c: 3, h: 8, w: 8, oc: 4, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1, oh: 8, ow: 8 };
  writeFileSync(conv, JSON.stringify([{ family: 'conv-fwd', args: { pass: 'fwd', g, options: { bias: true, relu: true, pool: null } } }]));
  const convKey = 'n1.c3.8x8.oc4.k3x3.s1x1.p1x1.d1x1+bias+relu';

  it('tunes two matmuls and a convolution into the cache; a second process loads it and plans them as tuned', () => {
    const run = cli(['tune', '--matmul', shapes, '--problems', conv, '--quick', '--cache', cache, '--json', join(dir, 'tune.json')]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^profile: llvmpipe|^profile: gpu/m);
    expect(run.stdout).toContain('matmul 8×16 · 16×12');
    expect(run.stdout).toContain('<- rule');
    expect(run.stdout).toContain(`wrote ${cache}`);
    const written = readCache(cache);
    const [table] = Object.values(written.tables);
    expect(Object.keys(table!.entries.matmul!).sort()).toEqual(['b1 m16 k8 n4 nn', 'b1 m8 k16 n12 nn']);
    expect(Object.keys(table!.entries['conv-fwd']!)).toEqual([convKey]);
    const report = JSON.parse(readFileSync(join(dir, 'tune.json'), 'utf8'));
    expect(report.problems).toHaveLength(3);
    for (const p of report.problems) expect(p.candidates.filter((c: { ms: number | null }) => c.ms !== null).length).toBeGreaterThan(1);

    // A second process: the cache is read when its WebGPU backend starts.
    const show = cli(['tune', '--show', '--matmul', `${shapes},24x8x8`, '--problems', conv, '--cache', cache]);
    expect(show.status, show.stderr).toBe(0);
    const p = plans(show.stdout);
    expect(p['matmul b1 m8 k16 n12 nn']).toEqual({ variant: table!.entries.matmul!['b1 m8 k16 n12 nn']!.variant, source: 'tuned' });
    expect(p['matmul b1 m16 k8 n4 nn']).toEqual({ variant: table!.entries.matmul!['b1 m16 k8 n4 nn']!.variant, source: 'tuned' });
    expect(p['matmul b1 m24 k8 n8 nn']!.source).toBe('rule');
    expect(p[`conv-fwd ${convKey}`]).toEqual({ variant: table!.entries['conv-fwd']![convKey]!.variant, source: 'tuned' });

    // The same through WGPRUNE_TUNING_CACHE, and nothing tuned with the cache turned off.
    expect(plans(cli(['tune', '--show', '--matmul', shapes], { WGPRUNE_TUNING_CACHE: cache }).stdout)['matmul b1 m8 k16 n12 nn']!.source).toBe('tuned');
    const off = cli(['tune', '--show', '--matmul', shapes], { WGPRUNE_TUNING_CACHE: 'off' });
    expect(off.status, off.stderr).toBe(0);
    expect(Object.values(plans(off.stdout)).map((x) => x.source)).toEqual(['rule', 'rule']);
  }, 120_000);

  it('refuses a corrupt cache (exit 2, naming the flag and the file) and does not overwrite it', () => {
    const bad = join(dir, 'corrupt.json');
    writeFileSync(bad, '{"format": "wgprune-tuning", "version": 1, "tables": [');
    const run = cli(['tune', '--matmul', '8x8x8', '--quick', '--cache', bad]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`--cache: ${bad} is not a usable wgprune tuning cache: it is not valid JSON`);
    expect(readFileSync(bad, 'utf8')).toBe('{"format": "wgprune-tuning", "version": 1, "tables": [');
  }, 60_000);

  it('refuses bad input before any work, naming the flag', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--model', 'nope'], /--model: unknown model 'nope'/],
      [['--matmul', '8x8'], /--matmul <shapes>.*expected MxKxN/],
      [['--batch', '0'], /--batch <list>.*positive integers/],
      [['--problems', join(dir, 'missing.json')], /--problems: .*missing\.json/],
    ];
    for (const [args, why] of cases) {
      const run = cli(['tune', ...args, '--cache', join(dir, 'unused.json')]);
      expect(run.status, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(why);
    }
  }, 60_000);
});

describe('the tuner keeps the rule unless a candidate beats it clearly', () => {
  const t = (variant: string, rounds: number[]) => ({ variant, ms: [...rounds].sort((a, b) => a - b)[Math.floor(rounds.length / 2)]!, rounds });
  it('a candidate faster by the margin in every round replaces the rule; the fastest such wins', () => {
    const times = [t('rule', [10, 11, 10]), t('a', [9, 9.5, 9]), t('b', [8, 8.5, 9.9])];
    expect(winnerOf(times, 'rule')?.variant).toBe('b');
  });
  it('a faster median that loses one round, or gains less than the margin, does not', () => {
    expect(winnerOf([t('rule', [10, 10, 10]), t('a', [8, 8, 10.5])], 'rule')?.variant).toBe('rule');
    expect(winnerOf([t('rule', [10, 10, 10]), t('a', [9.9, 9.8, 9.7])], 'rule')?.variant).toBe('rule');
  });
  it('without a timed rule, the fastest median wins; with nothing timed, none', () => {
    expect(winnerOf([{ variant: 'rule', ms: null, skipped: 'compile error' }, t('a', [3]), t('b', [2])], 'rule')?.variant).toBe('b');
    expect(winnerOf([{ variant: 'rule', ms: null }], 'rule')).toBeNull();
  });
});
