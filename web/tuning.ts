/**
 * The page's "Tune kernels on this adapter" section. The tuner (quick protocol) measures every
 * kernel candidate for the problems the page runs (./tune-problems.ts) and keeps a candidate only
 * where it beats the device profile's rule clearly; the table goes into this browser's IndexedDB,
 * where `init()` finds it on the next visit, and is applied at once. It downloads as tuning.json —
 * the format of `wgprune tune`'s cache file, so it can be copied to a Node machine with the same
 * adapter — and a tuning.json (from the page or from Node) loads back, checked: a malformed file,
 * or one measured on another adapter, is refused with the reason and nothing is stored.
 */
import {
  deleteStoredTuning, importTuningFile, init, loadStoredTuning, type ProblemResult, QUICK_TUNE_PROTOCOL, type StoredTable, storeTuning, tune, tuningFileText,
} from '../index.js';
import { tableSize } from '../tune/cache-format.js';
import { adapterKey, type PlanRecord } from '../gpu/profile.js';
import { webgpuRuntime } from '../tune/tune.js';
import { byId, download, el, table } from './dom.js';
import { currentPlans, scopeProblems, type TuneScope } from './tune-problems.js';

/** One tuned problem as the page shows it. */
export interface TuneRow {
  family: string;
  key: string;
  description: string;
  rule: string;
  /** The variant kept (the rule's unless a candidate beat it clearly); null when nothing ran. */
  kept: string | null;
  /** Rule median / kept median. */
  speedup: number | null;
  timed: number;
  candidates: number;
}

/** What the section exposes on `window.__wgprune.tuning`. */
export interface TuningState {
  state: 'idle' | 'running' | 'done' | 'error';
  adapter: string | null;
  /** The table stored in this browser for this adapter. */
  stored: { problems: number; updated: string | null; profile: string | null } | null;
  /** Whether the running backend plans with a tuning table. */
  inUse: boolean;
  rows: TuneRow[];
  /** The plans the tuned problems get now (after tuning, loading, or "Show plans"). */
  plans: Array<Pick<PlanRecord, 'family' | 'problem' | 'variant' | 'source'>>;
  message: { ok: boolean; text: string } | null;
  /** Operations finished (tuning, listing, loading, downloading, forgetting), failed or not. */
  finished: number;
}

export interface TuningHooks {
  state: TuningState;
  /** The problems' scope (read when a button is pressed: quick shapes or not, the model picked). */
  scope: () => Promise<TuneScope>;
  /** The benchmark run and the tuner share the device: each disables the other while it runs. */
  setBusy: (busy: boolean) => void;
}

const button = (id: string) => byId(id) as HTMLButtonElement;
/** The controls that start work on the device (the benchmark run locks them). */
const LOCKED_BY_RUN = ['tune-start', 'tune-show', 'tune-file'];

export function rowOf(r: ProblemResult): TuneRow {
  return {
    family: r.family, key: r.key, description: r.description, rule: r.rule, kept: r.winner, speedup: r.speedup,
    timed: r.candidates.filter((c) => c.ms !== null).length, candidates: r.candidates.length,
  };
}

/** Starts the engine (the stored table, if any, is loaded by init) and wires the section's buttons. */
export async function setupTuning(hooks: TuningHooks): Promise<void> {
  const s = hooks.state;
  await init({ backend: 'webgpu' });
  const rt = webgpuRuntime();
  const adapter = adapterKey(rt.ctx.facts);
  s.adapter = adapter;

  const setState = (state: TuningState['state']) => {
    s.state = state;
    byId('tune-section').dataset.state = state;
  };
  const say = (ok: boolean, text: string) => {
    s.message = { ok, text };
    byId('tune-message').replaceChildren(el('span', { class: ok ? 'good' : 'bad' }, text));
  };
  const refresh = async () => {
    let stored: StoredTable | null = null;
    try {
      stored = await loadStoredTuning(adapter);
    } catch (e) {
      say(false, (e as Error).message);
    }
    s.stored = stored ? { problems: tableSize(stored), updated: stored.updated ?? null, profile: stored.profile ?? null } : null;
    const tuned = rt.settings.tuned;
    s.inUse = tuned !== null;
    const status = stored
      ? `A tuning table for this adapter is stored in this browser: ${s.stored!.problems} problem(s)` +
        `${stored.updated ? `, tuned ${stored.updated.replace('T', ' ').slice(0, 16)} UTC` : ''}${stored.profile ? ` against the ${stored.profile} profile's rules` : ''}. ` +
        (s.inUse ? 'It is in use: the kernels of those problems run the measured winners.' : 'It is not in use yet: it applies from the next start.')
      : s.inUse ? `No table is stored in this browser, but the engine plans with one (${tableSize(tuned!)} problem(s), given to init()).`
        : `No tuning table is stored in this browser for this adapter: every kernel follows the ${rt.settings.profile} profile's rule.`;
    byId('tune-status').textContent = status;
    byId('tune-adapter').textContent = adapter;
    button('tune-download').disabled = !stored;
    button('tune-forget').disabled = !stored;
  };
  const showPlans = (plans: PlanRecord[]) => {
    s.plans = distinct(plans);
    byId('tune-plans').replaceChildren(
      el('h3', {}, 'Plans now'),
      table(['family', 'problem', 'variant', 'source'], s.plans.map((p) => [p.family, p.problem, p.variant, p.source]), { id: 'tune-plan-rows' }),
    );
  };
  const showRows = () => {
    byId('tune-table').replaceChildren(table(
      ['problem', "rule's variant", 'kept variant', 'speedup', 'candidates timed'],
      s.rows.map((r) => [`${r.family} ${r.description}`, r.rule, r.kept ?? '— (none ran)', r.speedup === null ? '—' : `${r.speedup.toFixed(2)}×`, `${r.timed} of ${r.candidates}`]),
      { id: 'tune-rows' },
    ));
  };
  /** Runs `fn` with the buttons disabled; failures are shown in the section. */
  const busy = async (what: string, fn: () => Promise<void>) => {
    for (const id of [...LOCKED_BY_RUN, 'tune-download', 'tune-forget']) (byId(id) as HTMLButtonElement | HTMLInputElement).disabled = true;
    hooks.setBusy(true);
    setState('running');
    try {
      await fn();
      setState('done');
    } catch (e) {
      say(false, `${what} failed: ${(e as Error).message}`);
      setState('error');
    } finally {
      hooks.setBusy(false);
      lockTuning(false);
      await refresh();
      s.finished++;
    }
  };
  const step = (text: string) => (byId('tune-step').textContent = text);

  button('tune-start').onclick = () => void busy('Tuning', async () => {
    s.rows = [];
    showRows();
    const problems = await scopeProblems(await hooks.scope(), step);
    step(`${problems.length} problem(s) to tune`);
    const result = await tune({
      problems,
      protocol: QUICK_TUNE_PROTOCOL,
      onProblem: (r, i, n) => {
        s.rows.push(rowOf(r));
        showRows();
        step(`tuned ${i + 1} of ${n}: ${r.family} ${r.description}`);
      },
    });
    const merged = await storeTuning({ ...result.table, updated: new Date().toISOString(), profile: result.profile.name });
    await init({ backend: 'webgpu', tuning: merged });
    const changed = s.rows.filter((r) => r.kept && r.kept !== r.rule).length;
    say(true, `Tuned ${problems.length} problem(s): the rule's choice stays on ${s.rows.filter((r) => r.kept === r.rule).length}, tuning changes ${changed}. ` +
      'The table is stored in this browser and in use.');
    showPlans(currentPlans(problems, rt.settings));
    step('');
  });
  button('tune-show').onclick = () => void busy('Listing the plans', async () => {
    showPlans(currentPlans(await scopeProblems(await hooks.scope(), step), rt.settings));
    step('');
  });
  button('tune-download').onclick = () => void busy('The download', async () => {
    const stored = await loadStoredTuning(adapter);
    if (!stored) throw new Error('no tuning table is stored for this adapter');
    download('tuning.json', tuningFileText(stored));
  });
  const file = byId('tune-file') as HTMLInputElement;
  file.onchange = () => {
    const picked = file.files?.[0];
    if (!picked) return;
    void busy('Loading the tuning file', async () => {
      try {
        const merged = await importTuningFile(picked, adapter);
        await init({ backend: 'webgpu', tuning: merged });
        say(true, `Loaded ${picked.name}: ${tableSize(merged)} problem(s) stored for this adapter, in use.`);
      } finally {
        file.value = '';
      }
    });
  };
  button('tune-forget').onclick = () => void busy('Forgetting the table', async () => {
    await deleteStoredTuning(adapter);
    await init({ backend: 'webgpu', tuning: null });
    say(true, 'The stored table was deleted: the profile\'s rules choose every kernel again.');
  });

  lockTuning(false);
  setState('idle');
  await refresh();
}

/** Disables (or enables again) the buttons that start work on the device, while the benchmark runs. */
export function lockTuning(locked: boolean): void {
  for (const id of LOCKED_BY_RUN) (byId(id) as HTMLButtonElement | HTMLInputElement).disabled = locked;
}

/** The distinct plans a workload made (family, problem, variant, source). */
export function distinct(records: readonly PlanRecord[]): TuningState['plans'] {
  const out = new Map<string, TuningState['plans'][number]>();
  for (const { family, problem, variant, source } of records) out.set(`${family} ${problem} ${variant} ${source}`, { family, problem, variant, source });
  return [...out.values()];
}

/**
 * Shows, next to a section's figures, where its kernel plans came from: how many problems the
 * profile's rule planned and how many a tuning table did, with the list in a fold-out.
 */
export function showPlanSources(containerId: string, plans: TuningState['plans'], profile: string, tableInUse: boolean): void {
  const count = (source: PlanRecord['source']) => new Set(plans.filter((p) => p.source === source).map((p) => `${p.family} ${p.problem}`)).size;
  const parts = [`${count('rule')} by the ${profile} profile's rule`, `${count('tuned')} tuned on this adapter`];
  if (count('forced')) parts.push(`${count('forced')} forced`);
  const table_ = table(['family', 'problem', 'variant', 'source'], plans.map((p) => [p.family, p.problem, p.variant, p.source]), { class: 'plan-rows' });
  byId(containerId).replaceChildren(el('details', {},
    el('summary', {}, `Kernel plans: ${parts.join(', ')} (${tableInUse ? 'a tuning table is in use' : 'no tuning table in use'})`),
    table_,
  ));
}
