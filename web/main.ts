/**
 * The browser benchmark page: checks WebGPU, shows the adapter, then on Start runs the density
 * sweep, the pruned model and the peers on this GPU, and offers results.json. Its tuning section
 * measures the kernel candidates for the page's problems and keeps the winners in this browser
 * (./tuning.ts); each section says where its kernel plans came from (rule or tuned). Tests and
 * the headless benchmark read `window.__wgprune` (see PageState) and the body's data-state
 * ('ready', 'running', 'done', 'error').
 */
import { DeviceLostError, type DeviceDescription, getBackend, init, type Protocol, type ProtocolOptions } from '../index.js';
import type { WebGpuBackend } from '../engine/webgpu/backend.js';
import type { PlanRecord } from '../gpu/profile.js';
import type { StudyResults, StudyRun } from '../study/results.js';
import { recordingPlans } from '../tune/collect.js';
import { byId, download, el, ms, table, times } from './dom.js';
import { modelPlan, type OutputCheck, runModel } from './lenet.js';
import { type LoadedModel, loadPageModel, SHIPPED_CHECKPOINT } from './model.js';
import { readParams } from './params.js';
import { RUNTIME_NAMES, type PeerCase, runPeers } from './peers/index.js';
import { drawSpeedupPlot } from './plot.js';
import { checkWebGpu, deviceLost, failed, PageProblem } from './problems.js';
import { buildResults } from './results.js';
import { runSweep, sweepCases, sweepSteps, type SweepRow } from './sweep.js';
import type { TuneScope } from './tune-problems.js';
import { distinct, lockTuning, setupTuning, showPlanSources, type TuningState } from './tuning.js';

/** What the page exposes on `window.__wgprune`. */
export interface PageState {
  state: 'loading' | 'ready' | 'running' | 'done' | 'error';
  done: boolean;
  error: { kind: string; title: string; message: string } | null;
  quick: boolean;
  adapter: { info: Record<string, string>; featureLevel: string; profile: string | null; limits: Record<string, number>; fallback: boolean } | null;
  sweep: SweepRow[];
  model: { runs: StudyRun[]; checks: OutputCheck[] } | null;
  peers: PeerCase[];
  protocols: Record<string, string>;
  /** The study-schema results (set when the model section finished). */
  results: StudyResults | null;
  /** Schema complaints about `results` (empty: valid). */
  resultsErrors: string[];
  durationS: number | null;
  /** The tuning section: the stored table, whether it is in use, what the last tuning measured. */
  tuning: TuningState;
  /** The kernel plans behind each section's figures (distinct problems, with their source: rule or tuned). */
  plans: { sweep: TuningState['plans']; model: TuningState['plans'] };
}

const params = readParams(location.search);
const page: PageState = {
  state: 'loading', done: false, error: null, quick: params.quick, adapter: null, sweep: [], model: null, peers: [], protocols: {},
  results: null, resultsErrors: [], durationS: null,
  tuning: { state: 'idle', adapter: null, stored: null, inUse: false, rows: [], plans: [], message: null, finished: 0 },
  plans: { sweep: [], model: [] },
};
(window as unknown as { __wgprune: PageState }).__wgprune = page;

function setState(s: PageState['state'], text: string): void {
  page.state = s;
  page.done = s === 'done';
  document.body.dataset.state = s;
  byId('state').textContent = text;
}

let stage = 'loading the page';

function showProblem(p: PageProblem): void {
  page.error = { kind: p.kind, title: p.title, message: p.message };
  byId('problem-title').textContent = p.title;
  byId('problem-message').textContent = p.message;
  byId('problem').hidden = false;
  byId('progress-box').hidden = true;
  setState('error', p.kind === 'device-lost' ? 'Stopped: the GPU device was lost' : `Stopped: ${p.title}`);
}

window.addEventListener('error', (e) => showProblem(failed(e.error ?? e.message, stage)));
window.addEventListener('unhandledrejection', (e) => showProblem(failed(e.reason, stage)));

// ---- progress -------------------------------------------------------------------------------

let stepsDone = 0, stepsTotal = 1;
function step(text: string, advance = true): void {
  if (advance) stepsDone++;
  const bar = byId('progress') as HTMLProgressElement;
  bar.max = stepsTotal;
  bar.value = Math.min(stepsDone, stepsTotal);
  byId('step').textContent = text;
}

// ---- adapter --------------------------------------------------------------------------------

function showAdapter(adapter: GPUAdapter, d: DeviceDescription): void {
  const info = adapter.info as GPUAdapterInfo | undefined;
  const fields: Record<string, string> = {};
  for (const k of ['vendor', 'architecture', 'device', 'description'] as const) fields[k] = info?.[k] ?? '';
  const fallback = !!(info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter;
  page.adapter = { info: fields, featureLevel: d.featureLevel, profile: d.profile?.name ?? null, limits: d.limits, fallback };
  const rows = [
    ['adapter', d.adapter],
    ...Object.entries(fields).map(([k, v]) => [k, v || '(not reported)']),
    ['feature level', d.featureLevel],
    ['device profile', d.profile ? `${d.profile.name} (${d.profile.reason})` : '—'],
    ['software (fallback) adapter', fallback ? 'yes' : 'no'],
    ['tuning table', page.tuning.inUse ? `in use${page.tuning.stored ? ` (stored in this browser: ${page.tuning.stored.problems} problem(s))` : ''}` : 'none: the profile\'s rules plan every kernel'],
    ['features', [...adapter.features].sort().join(', ') || 'none'],
  ];
  const limits = Object.entries(d.limits).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, v.toLocaleString('en-US')]);
  byId('adapter').replaceChildren(
    table(['', ''], rows, { id: 'adapter-table' }),
    el('details', {}, el('summary', {}, `Device limits (${limits.length})`), table(['limit', 'value'], limits, { id: 'limits-table' })),
  );
}

// ---- sections -------------------------------------------------------------------------------

function protocolLine(name: string, p: Protocol | null): void {
  if (!p) return;
  page.protocols[name] = p.description;
  byId('protocol-section').hidden = false;
  const items = Object.entries(page.protocols).map(([k, v]) => el('li', {}, el('strong', {}, `${k}: `), v));
  items.push(el('li', {}, 'FLOPs: one multiply-add = 2 FLOPs; FLOP speedup = dense FLOPs / non-zero (or compacted) FLOPs; realization = measured speedup / FLOP speedup.'));
  byId('protocol').replaceChildren(...items);
}

function showSweep(rows: SweepRow[]): void {
  page.sweep = rows;
  byId('sweep-section').hidden = false;
  drawSpeedupPlot(byId('sweep-plot') as unknown as SVGSVGElement, rows.map((r) => ({ series: `${r.layer.split(' (')[0]} · ${r.format}`, density: r.density, speedup: r.speedup })), 'Speedup over dense against density');
  byId('sweep-table').replaceChildren(table(
    ['layer', 'format (mask)', 'density', 'dense ms', 'sparse ms (min–max)', 'speedup', 'FLOP×', 'realization'],
    rows.map((r) => [r.layer, `${r.format} (${r.mask})`, r.density.toFixed(3), ms(r.dense.median), `${ms(r.sparse.median)} (${ms(r.sparse.min)}–${ms(r.sparse.max)})`, times(r.speedup), times(r.flopSpeedup), r.realization.toFixed(2)]),
    { id: 'sweep-rows' },
  ));
}

function showModel(loaded: LoadedModel, runs: StudyRun[], checks: OutputCheck[]): void {
  page.model = { runs, checks };
  byId('model-section').hidden = false;
  byId('model-title').textContent = `Pruned ${loaded.spec.name}`;
  byId('model-note').textContent = `${loaded.spec.description}, from ${loaded.source} (${(loaded.bytes / 1024).toFixed(0)} KiB). ` +
    'Pruned with L1 magnitude (one shot, no fine-tuning): per weight (unstructured: CSR and BSR) and per filter/neuron (structured: compacted). ' +
    'Speedup = dense median / format median at the batch size, both from the same rounds.';
  const okAll = checks.every((c) => c.ok || c.status.startsWith('skipped'));
  byId('model-checks').replaceChildren(
    el('p', { id: 'checks-summary', class: okAll ? 'good' : 'bad' }, okAll
      ? `Output check passed: every sparse and compacted model's outputs equal the pruned dense model's within 1e-4 (max |y − y_dense| / max |y_dense| on a probe batch).`
      : 'Output check FAILED: a format differs from the pruned dense model by more than 1e-4 (see the table); it was not timed.'),
    table(['run', 'format', 'relative error', 'within 1e-4'], checks.map((c) => [c.run, c.format, c.error === null ? '—' : c.error.toExponential(2), c.status.startsWith('skipped') ? c.status : c.ok ? 'yes' : `no (${c.status})`]), { id: 'checks-table' }),
  );
  const rows: string[][] = [];
  for (const run of runs) {
    for (const f of run.formats) {
      if (f.status !== 'ok') {
        rows.push([run.id, f.format, '—', '—', '—', '—', f.status]);
        continue;
      }
      for (const l of f.latency) rows.push([run.id, f.format, String(l.batch), ms(l.format.median), times(l.speedup), times(f.flopSpeedup), l.realization.toFixed(2)]);
    }
  }
  byId('model-table').replaceChildren(table(['run', 'format', 'batch', 'ms', 'speedup', 'FLOP×', 'realization'], rows, { id: 'model-rows' }));
}

function showPeers(cases: PeerCase[]): void {
  page.peers = cases;
  byId('peers-section').hidden = false;
  byId('peer-tables').replaceChildren(...cases.map((c) => el('div', {},
    el('h3', {}, c.name),
    table(['runtime', 'median ms (min–max)', 'GFLOP/s', 'ours is … as fast', 'output error', 'status'], c.rows.map((r) => [
      RUNTIME_NAMES[r.runtime],
      r.time ? `${ms(r.time.median)} (${ms(r.time.min)}–${ms(r.time.max)})` : '—',
      r.gflops !== null ? r.gflops.toFixed(2) : '—',
      r.oursFaster !== null && r.runtime !== 'wgprune' ? times(r.oursFaster) : '—',
      r.outputError !== null ? r.outputError.toExponential(1) : '—',
      r.status === 'ok' ? 'ok' : `${r.status}: ${r.reason ?? ''}`,
    ]), { class: 'peer-table', 'data-case': c.kind }),
  )));
}

// ---- the run --------------------------------------------------------------------------------

function protocolFor(quick: boolean): { sweep: ProtocolOptions; model: ProtocolOptions; peers: ProtocolOptions } {
  if (quick) {
    const p = { warmup: 1, reps: 3, minReps: 2, budgetS: 0.2, minSampleS: 0 };
    return { sweep: p, model: p, peers: { ...p, reps: 2 } };
  }
  return {
    sweep: { warmup: 1, reps: 5, minReps: 3, budgetS: 1, minSampleS: 0 },
    model: { warmup: 1, reps: 5, minReps: 3, budgetS: 1, minSampleS: 0 },
    peers: { warmup: 1, reps: 5, minReps: 3, budgetS: 2, minSampleS: 0 },
  };
}

async function run(adapter: GPUAdapter): Promise<void> {
  const quick = (byId('quick') as HTMLInputElement).checked;
  const withPeers = (byId('peers') as HTMLInputElement).checked;
  const file = (byId('checkpoint') as HTMLInputElement).files?.[0] ?? null;
  page.quick = quick;
  (byId('start') as HTMLButtonElement).disabled = true;
  lockTuning(true);
  byId('progress-box').hidden = false;
  setState('running', 'Running…');
  const started = new Date();
  const protocols = protocolFor(quick);

  stage = 'starting the device';
  const device = await init({ backend: 'webgpu' });
  const gpu = (getBackend('webgpu') as WebGpuBackend).ctx.device;
  let lostBy: string | null = null;
  void gpu.lost.then((info) => {
    lostBy = stage;
    showProblem(deviceLost(info.reason, info.message, stage));
  });
  showAdapter(adapter, device);

  const cases = sweepCases(quick);
  const plan = modelPlan(quick);
  stepsTotal = sweepSteps(cases) + plan.methods.length * plan.sparsities.length + (withPeers ? 3 : 0) + 2;

  const settings = (getBackend('webgpu') as WebGpuBackend).rt.settings;
  const sweepPlans: PlanRecord[] = [];
  stage = 'the density sweep';
  const sweep = await recordingPlans((r) => sweepPlans.push(r), () => runSweep(cases, {
    protocol: protocols.sweep,
    onStep: (t) => step(t),
    onRows: (rows) => showSweep(rows),
    afterFirst: params.lose ? () => gpu.destroy() : undefined,
  }));
  page.plans.sweep = distinct(sweepPlans);
  showPlanSources('sweep-plans', page.plans.sweep, settings.profile, settings.tuned !== null);
  protocolLine('density sweep', sweep.protocol ? { ...sweep.protocol, description: `${sweep.protocol.description}; dense, CSR and BSR of one density in the same rounds` } : null);

  stage = 'loading the model';
  step(file ? `load ${file.name}` : `load ${SHIPPED_CHECKPOINT}`);
  const loaded = await loadPageModel(file);
  let modelOut: Awaited<ReturnType<typeof runModel>> | null = null;
  let modelProtocol: Protocol | null = null;
  try {
    stage = `the pruned ${loaded.spec.name} runs`;
    const runs: StudyRun[] = [], checks: OutputCheck[] = [];
    const modelPlans: PlanRecord[] = [];
    modelOut = await recordingPlans((r) => modelPlans.push(r), () => runModel(loaded.model, loaded.spec, plan, {
      protocol: protocols.model,
      onStep: (t) => step(t, false),
      onRun: (r, c) => {
        runs.push(r);
        checks.push(...c);
        step(`${r.id}: done`);
        showModel(loaded, runs, checks);
      },
    }));
    modelProtocol = modelOut.protocol;
    page.plans.model = distinct(modelPlans);
    showPlanSources('model-plans', page.plans.model, settings.profile, settings.tuned !== null);

    let peers: Awaited<ReturnType<typeof runPeers>> | null = null;
    if (withPeers) {
      stage = 'the peer comparison';
      peers = await runPeers({ quick, model: { module: loaded.model, name: loaded.spec.name, inputShape: loaded.spec.inputShape } }, {
        protocol: protocols.peers,
        onStep: (t) => step(t, false),
        onCase: (c) => {
          step(`${c.name}: done`);
          showPeers([...page.peers, c]);
        },
      });
      protocolLine('peers', peers.protocol);
    }
    stage = 'writing the results';
    step('results.json');
    const built = buildResults({
      startedAt: started, finishedAt: new Date(), complete: true, stopReason: null, device, protocol: protocols.model, ran: modelProtocol,
      plan, spec: loaded.spec, source: loaded.source, baseline: modelOut.baseline, runs: modelOut.runs, sweep: sweep.rows, peers: peers?.cases ?? [],
      versions: peers?.versions ?? {},
      notes: [...(peers?.notes ?? []), ...(withPeers ? [] : ['The peers (TF.js, ONNX Runtime Web) were not run.']), planNote(settings.tuned !== null)],
    });
    page.results = built.results;
    page.resultsErrors = built.errors;
    protocolLine('pruned model', built.results.protocol);
    offerDownloads();
  } finally {
    loaded.model.dispose();
    lockTuning(false);
  }
  if (lostBy) return;
  page.durationS = (Date.now() - started.getTime()) / 1000;
  byId('progress-box').hidden = true;
  setState('done', `Done in ${page.durationS.toFixed(1)} s`);
}

/** Where the figures' kernel plans came from, for results.json's notes. */
function planNote(tableInUse: boolean): string {
  const count = (plans: TuningState['plans'], source: PlanRecord['source']) => new Set(plans.filter((p) => p.source === source).map((p) => `${p.family} ${p.problem}`)).size;
  const of = (plans: TuningState['plans']) => `${count(plans, 'rule')} by the profile's rule, ${count(plans, 'tuned')} tuned`;
  return `Kernel plans: ${tableInUse ? 'a tuning table measured on this adapter was in use' : 'no tuning table was in use'}; ` +
    `density sweep: ${of(page.plans.sweep)}; pruned model: ${of(page.plans.model)} (distinct problems).`;
}

function offerDownloads(): void {
  byId('download-section').hidden = false;
  byId('validity').replaceChildren(page.resultsErrors.length
    ? el('span', { class: 'bad' }, `results.json does not match the study schema: ${page.resultsErrors.slice(0, 5).join('; ')}`)
    : el('span', { class: 'good' }, 'results.json matches the wgprune study schema (checked here with the package\'s validator).'));
  byId('download').onclick = () => download('results.json', `${JSON.stringify(page.results, null, 1)}\n`);
  byId('download-all').onclick = () => download('page.json', `${JSON.stringify(page, null, 1)}\n`);
}

async function main(): Promise<void> {
  (byId('quick') as HTMLInputElement).checked = params.quick;
  (byId('peers') as HTMLInputElement).checked = params.peers;
  stage = 'looking for WebGPU';
  const adapter = await checkWebGpu(params.need);
  stage = 'starting the device';
  await setupTuning({ state: page.tuning, scope: tuneScope, setBusy: (busy) => ((byId('start') as HTMLButtonElement).disabled = busy) });
  const info = adapter.info as GPUAdapterInfo | undefined;
  byId('adapter').replaceChildren(el('p', { class: 'note' }, `Found ${[info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' ') || 'an adapter (it does not say which)'}; the full description and limits appear when the run starts.`));
  const start = byId('start') as HTMLButtonElement;
  start.disabled = false;
  setState('ready', 'Ready');
  const go = () => run(adapter).catch((e) => {
    if (e instanceof DeviceLostError || page.error?.kind === 'device-lost') {
      if (!page.error) showProblem(deviceLost('unknown', (e as Error).message, stage));
      return;
    }
    showProblem(failed(e, stage));
  });
  start.onclick = () => void go();
  if (new URLSearchParams(location.search).has('run')) void go();
  else if (params.tune) (byId('tune-start') as HTMLButtonElement).click();
}

/** What the tuning section covers now: the ?tunematmul= matmuls, or the page's sweep and model at the quick checkbox's sizes. */
async function tuneScope(): Promise<TuneScope> {
  if (params.tuneMatmuls.length) return { matmuls: params.tuneMatmuls, cases: [], model: null };
  const quick = (byId('quick') as HTMLInputElement).checked;
  const file = (byId('checkpoint') as HTMLInputElement).files?.[0] ?? null;
  return {
    matmuls: [], cases: sweepCases(quick),
    model: async () => {
      const loaded = await loadPageModel(file);
      return { module: loaded.model, inputShape: loaded.spec.inputShape, batches: modelPlan(quick).batches };
    },
  };
}

main().catch((e) => showProblem(e instanceof PageProblem ? e : failed(e, stage)));
