/**
 * `wgprune tune`: measures every kernel candidate for the problems a model gives its kernels (or
 * the problems named), prints each candidate's time, the profile rule's choice against the
 * measured winner, and merges the winners into the tuning cache, where every later WebGPU start
 * on this adapter (CLI, benchmarks, the Node entry) finds them. `--sparse` also prunes each model
 * and converts it to sparse layers, so the sparse kernels' problems are tuned as well.
 *
 * `--show` measures nothing: it prints the plan each problem gets now and where it came from
 * (forced, tuned from the cache, or the profile's rule).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { init, type PlanRecord } from '../engine/internal.js';
import { adapterKey, type KernelFamily } from '../gpu/profile.js';
import { MODELS } from '../nn/index.js';
import { cachePath, loadTable, readCache, TuningCacheError, useTuningCache, writeTable } from '../tune/cache-file.js';
import { modelProblems, recordingPlans } from '../tune/collect.js';
import { parseSparseTargets, sparseModelProblems, sparseTargetName, type SparseTarget } from '../tune/sparse-models.js';
import type { Problem } from '../tune/family.js';
import { familyOf, isTunable, tunableFamilies } from '../tune/families.js';
import { matmulProblemArgs } from '../tune/families/matmul.js';
import { MIN_GAIN, type ProblemResult, SCREEN_FACTOR, QUICK_TUNE_PROTOCOL, tune, TUNE_PROTOCOL, webgpuRuntime } from '../tune/tune.js';

/** Refused input: exit status 2, naming the flag. */
export class TuneInputError extends Error {
  readonly exitCode = 2;
  constructor(option: string, message: string) {
    super(`${option}: ${message}`);
    this.name = 'TuneInputError';
  }
}

export interface TuneCommandOptions {
  model?: string[];
  batch: number[];
  matmul?: Array<[number, number, number]>;
  problems?: string;
  cache?: string;
  quick?: boolean;
  json?: string;
  show?: boolean;
  sparse?: SparseTarget[];
}

const list = (v: string) => v.split(',').map((x) => x.trim()).filter(Boolean);

function positiveInts(value: string): number[] {
  const l = list(value).map(Number);
  if (!l.length || l.some((n) => !Number.isInteger(n) || n <= 0)) throw new InvalidArgumentError(`expected comma-separated positive integers, got '${value}'`);
  return l;
}

function matmulShapes(value: string): Array<[number, number, number]> {
  return list(value).map((s) => {
    const dims = s.split('x').map(Number);
    if (dims.length !== 3 || dims.some((d) => !Number.isInteger(d) || d <= 0)) throw new InvalidArgumentError(`expected MxKxN shapes such as 64x128x32, got '${s}'`);
    return dims as [number, number, number];
  });
}

function sparseTargets(value: string): SparseTarget[] {
  try {
    return parseSparseTargets(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** Problems from a JSON file: a list of { family, key?, args }, or the --json output of an earlier run. */
function readProblems(file: string): Problem[] {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new TuneInputError('--problems', `${file}: ${(e as Error).message}`);
  }
  const items = Array.isArray(data) ? data : (data as { problems?: unknown })?.problems;
  if (!Array.isArray(items)) throw new TuneInputError('--problems', `${file}: expected a list of { family, args } (or a wgprune tune --json file)`);
  return items.map((it, i) => {
    const { family, args } = (it ?? {}) as { family?: string; args?: unknown };
    if (!family || !isTunable(family as KernelFamily)) throw new TuneInputError('--problems', `${file}: problem ${i} names family '${String(family)}' (tunable: ${tunableFamilies().join(', ')})`);
    const f = familyOf(family as KernelFamily);
    try {
      return { family: f.family, key: f.key(f.parse(args)), args };
    } catch (e) {
      throw new TuneInputError('--problems', `${file}: problem ${i}: ${(e as Error).message}`);
    }
  });
}

/** Checks every input before the device starts. */
function checkInputs(o: TuneCommandOptions): { models: string[]; cacheFile: string | null } {
  const models = o.model ?? [];
  for (const m of models) if (!MODELS.has(m)) throw new TuneInputError('--model', `unknown model '${m}' (known: ${[...MODELS.keys()].join(', ')})`);
  if (o.sparse?.length && !models.length && (o.matmul?.length || o.problems)) {
    throw new TuneInputError('--sparse', 'prunes and converts models: name them with --model (with --matmul or --problems alone no model runs)');
  }
  const cacheFile = cachePath(o.cache);
  if (cacheFile) {
    try {
      readCache(cacheFile);
    } catch (e) {
      if (e instanceof TuningCacheError) throw new TuneInputError(o.cache ? '--cache' : 'WGPRUNE_TUNING_CACHE', e.message);
      throw e;
    }
  }
  return { models, cacheFile };
}

const ms = (v: number | null) => (v === null ? '—' : v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toFixed(3));

function printProblem(r: ProblemResult, i: number, total: number, log: (s: string) => void): void {
  log(`\n[${i + 1}/${total}] ${r.family} ${r.description}   (${r.key})`);
  const best = r.winner;
  for (const c of r.candidates) {
    const marks = [c.variant === r.rule ? 'rule' : '', c.variant === best ? 'kept' : ''].filter(Boolean).join(', ');
    const gflops = c.ms !== null && r.flops ? `  ${(r.flops / (c.ms * 1e6)).toFixed(2)} GFLOP/s` : '';
    const screened = c.screened ? `  (one call: over ${SCREEN_FACTOR}× the rule's, not timed further)` : '';
    log(`  ${c.variant.padEnd(28)} ${c.skipped ? `skipped: ${c.skipped}` : `${ms(c.ms).padStart(9)} ms${gflops}${screened}`}${marks ? `   <- ${marks}` : ''}`);
  }
  if (!best) log('  no candidate ran: the rule stays');
  else if (best === r.rule) log(`  rule's choice ${r.rule} stays (no candidate beat it by ${Math.round((MIN_GAIN - 1) * 100)} % and in every round)`);
  else log(`  rule ${r.rule} → tuned ${best}: ${r.speedup === null ? 'the rule\'s plan failed' : `${r.speedup.toFixed(2)}× faster`}`);
}

export async function tuneCommand(o: TuneCommandOptions, log: (s: string) => void = (s) => console.log(s)): Promise<void> {
  const { models, cacheFile } = checkInputs(o);
  const given: Problem[] = [
    ...(o.matmul ?? []).map(([m, k, n]) => {
      const args = matmulProblemArgs(m, k, n);
      return { family: 'matmul' as const, key: familyOf('matmul').key(args), args };
    }),
    ...(o.problems ? readProblems(o.problems) : []),
  ];
  if (!models.length && !given.length) models.push(...MODELS.keys());
  // The cache is read at start-up for --show (what the plans are now), never while tuning (the rules are the baseline).
  useTuningCache(cacheFile ?? undefined);
  const device = await init({ backend: 'webgpu', ...(o.show ? {} : { tuning: null }) });
  const rt = webgpuRuntime();
  const adapter = adapterKey(rt.ctx.facts);
  log(`adapter: ${device.adapter} (${device.featureLevel}); key ${adapter}`);
  log(`profile: ${rt.settings.profile} (${rt.settings.profileReason})`);
  log(`cache: ${cacheFile ?? 'off (WGPRUNE_TUNING_CACHE=off; nothing is read or written)'}`);

  const problems: Problem[] = [...given];
  const records: PlanRecord[] = [];
  for (const m of models) {
    const found = await modelProblems(m, o.batch);
    records.push(...found.records);
    log(`model ${m} at batch ${o.batch.join(', ')} (forward, fused forward, one training step): ${found.problems.length} tunable problem(s)`);
    for (const p of found.problems) if (!problems.some((q) => q.family === p.family && q.key === p.key)) problems.push(p);
    for (const target of o.sparse ?? []) {
      const sparse = await sparseModelProblems(m, o.batch, target);
      records.push(...sparse.records);
      log(`model ${m} pruned and converted as ${sparseTargetName(target)}, at batch ${o.batch.join(', ')} (forward): ${sparse.problems.length} tunable problem(s)`);
      for (const p of sparse.problems) if (!problems.some((q) => q.family === p.family && q.key === p.key)) problems.push(p);
    }
  }

  if (o.show) {
    // The plans as the kernels get them now (models: as recorded while they ran; given problems: planned again).
    const shown: PlanRecord[] = [...records.filter((r) => isTunable(r.family))];
    await recordingPlans((r) => shown.push(r), () => {
      for (const p of given) familyOf(p.family).plan(familyOf(p.family).parse(p.args), rt.settings);
    });
    const unique = [...new Map(shown.map((r) => [`${r.family} ${r.problem}`, r])).values()];
    const table = cacheFile ? loadTable(cacheFile, adapter) : null;
    log(`tuning table for this adapter: ${table ? `${Object.values(table.entries).reduce((a, e) => a + Object.keys(e ?? {}).length, 0)} problem(s)` : 'none'}`);
    for (const r of unique) log(`plan ${r.family} ${r.problem}: ${r.variant} source=${r.source} (${r.why})`);
    if (o.json) writeFileSync(o.json, JSON.stringify({ adapter, profile: rt.settings.profile, plans: unique }, null, 2));
    return;
  }

  const protocol = o.quick ? QUICK_TUNE_PROTOCOL : TUNE_PROTOCOL;
  log(`protocol: ${protocol.warmup} warm-up call(s), then ${protocol.reps} interleaved rounds (at least ${protocol.minReps}), each repetition repeating a candidate until it lasts ≥ ${protocol.minSampleS} s; median per launch`);
  log(`${problems.length} problem(s) to tune`);
  const result = await tune({ problems, protocol, onProblem: (r, i, n) => printProblem(r, i, n, log) });
  const changed = result.problems.filter((r) => r.winner && r.winner !== r.rule);
  log(`\nsummary: the rule's choice stays on ${result.problems.filter((r) => r.winner === r.rule).length} of ${result.problems.length} problem(s); tuning changes ${changed.length}:`);
  for (const r of changed) log(`  ${r.family} ${r.description}: ${r.rule} → ${r.winner} (${r.speedup === null ? 'rule failed' : `${r.speedup.toFixed(2)}×`})`);
  const skipped = result.problems.flatMap((r) => r.candidates.filter((c) => c.skipped).map((c) => `${r.family} ${r.key} ${c.variant}: ${c.skipped}`));
  if (skipped.length) log(`${skipped.length} candidate(s) skipped (see above)`);
  if (cacheFile) {
    writeTable(cacheFile, { ...result.table, updated: new Date().toISOString(), profile: result.profile.name });
    log(`wrote ${cacheFile} (table for ${adapter})`);
  }
  if (o.json) {
    writeFileSync(o.json, JSON.stringify({ date: new Date().toISOString(), device, ...result }, null, 2));
    log(`wrote ${o.json}`);
  }
}

export function registerTune(program: Command): void {
  program
    .command('tune')
    .description('measure every kernel candidate for the problems a model gives its kernels and keep the fastest in the tuning cache (later runs on this adapter use them)')
    .option('-m, --model <names>', `comma-separated models whose kernel problems are tuned (${[...MODELS.keys()].join(', ')}; default: all, unless --matmul or --problems is given)`, list)
    .option('--batch <list>', 'batch sizes the models run forward at (comma-separated; one training step runs at the largest)', positiveInts, [1, 64])
    .option(
      '--sparse <list>',
      'also prune each model and convert it to sparse layers (toSparse), then tune the sparse kernels\' problems: comma-separated FORMAT:SPARSITY, ' +
        'csr (L1 unstructured pruning) or bsrRxC (L1 pruning of RxC blocks, e.g. bsr4x4; bsr is 4x4), e.g. csr:0.9,bsr4x4:0.9',
      sparseTargets,
    )
    .option('--matmul <shapes>', 'also tune plain matmuls, comma-separated MxKxN (e.g. 4096x4096x4096)', matmulShapes)
    .option('--problems <file>', 'also tune the problems in this JSON file (a list of { family, args }, or the --json output of an earlier run)')
    .option('--cache <file>', 'tuning cache file (default: WGPRUNE_TUNING_CACHE, else $XDG_CACHE_HOME/wgprune/tuning.json or ~/.cache/wgprune/tuning.json)')
    .option('--quick', 'fewer and shorter timed repetitions')
    .option('--json <file>', 'write every measurement (or with --show, every plan) to a JSON file')
    .option('--show', 'measure nothing: print the plan each problem gets now and its source (forced, tuned or rule)')
    .action((opts: TuneCommandOptions) => tuneCommand(opts));
}
