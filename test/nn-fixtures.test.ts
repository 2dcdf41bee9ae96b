/**
 * Every case in fixtures/torch_nn.json (PyTorch references, made by
 * scripts/gen_nn_fixtures.py) on both backends:
 *
 * - module: our module built from the case's spec (torch's argument names,
 *   defaults left to each library) loads torch's state dict (its keys and their
 *   order must equal ours), then forward and backward with torch's upstream
 *   gradient: output, input gradient, every parameter gradient by key and every
 *   buffer afterwards (BatchNorm's running statistics, num_batches_tracked);
 * - optimizer: SGD / Adam / AdamW replay torch's gradient sequence (set as
 *   `param.grad` before each `step()`, which is what our optimizers read) and
 *   must reach torch's parameter values after every step;
 * - scheduler: StepLR / MultiStepLR / CosineAnnealingLR give torch's rates.
 *
 * A case kind, module type, optimizer, schedule or argument this file does not
 * know fails a test, so a new fixture cannot be skipped silently.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackendName, keep, setBackend, type Tensor, tensor, tidy } from '../index.js';
import * as nn from '../nn/index.js';
import { expectClose, initBoth, on, shutdown, type Tolerance } from './helpers/backends.js';

/** A tensor in full, a sample of one (`idx`: flat indices of `data`), or hashed values (`gen`, see genValues). */
interface Arr {
  shape: number[];
  data?: number[];
  idx?: number[];
  gen?: { seed: number; bound: number };
  sum?: number;
}

interface ModuleSpec {
  type: string;
  args?: Record<string, unknown>;
  children?: Array<[string, ModuleSpec]>;
  name?: string;
}

interface ModuleCase {
  kind: 'module';
  name: string;
  module: ModuleSpec;
  train: boolean;
  state: Record<string, Arr>;
  input: Arr;
  upstream: Arr;
  output: Arr;
  input_grad: Arr;
  grads: Record<string, Arr>;
  buffers: Record<string, Arr>;
}

type TorchOptions = Record<string, unknown>;

interface OptimizerCase {
  kind: 'optimizer';
  name: string;
  optimizer: string;
  defaults: TorchOptions;
  groups: Array<TorchOptions & { params: string[] }>;
  params: Record<string, Arr>;
  steps: Array<{ grads: Record<string, Arr>; params: Record<string, Arr> }>;
}

interface SchedulerCase {
  kind: 'scheduler';
  name: string;
  scheduler: string;
  args: Record<string, unknown>;
  base_lrs: number[];
  lrs: number[][];
}

interface AnyCase {
  kind: string;
  name: string;
}

const { cases } = JSON.parse(readFileSync(new URL('./fixtures/torch_nn.json', import.meta.url), 'utf8')) as { cases: AnyCase[] };

/**
 * torch and the WebGPU backend compute in float32, the CPU backend in float64.
 * The default tolerance holds for every module, model and optimizer case.
 */
const tol: Tolerance = { rtol: 1e-4, atol: 1e-5 };
/**
 * Learning rates are float64 on both sides; torch computes them recursively and
 * we in closed form, which differ by a few ulps only, so the check is tighter.
 */
const lrTol: Tolerance = { rtol: 1e-9, atol: 0 };

// ---- fixture values ------------------------------------------------------------

/** scripts/gen_nn_fixtures.py's gen_values, bit for bit: a murmur3-finalised hash → float32 in [-bound, bound). */
function genValues(seed: number, n: number, bound: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let x = (seed + Math.imul(i + 1, 0x9e3779b9)) >>> 0;
    x ^= x >>> 16;
    x = Math.imul(x, 0x85ebca6b);
    x ^= x >>> 13;
    x = Math.imul(x, 0xc2b2ae35);
    x ^= x >>> 16;
    const u = (x >>> 8) / 16777216;
    out[i] = (2 * u - 1) * bound; // the Float32Array store rounds like numpy's float32()
  }
  return out;
}

const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/** The full values of a fixture tensor (hashed ones regenerated and checked against their sum). */
function values(a: Arr, label: string): Float32Array {
  if (a.idx) throw new Error(`${label}: a sampled tensor has no full values`);
  if (a.gen) {
    const v = genValues(a.gen.seed, size(a.shape), a.gen.bound);
    const sum = v.reduce((s, x) => s + x, 0);
    expectClose([sum], [a.sum!], { rtol: 1e-9, atol: 1e-12 }, `${label}: sum of the regenerated values (genValues out of step with gen_values?)`);
    return v;
  }
  return Float32Array.from(a.data!);
}

const toTensor = (a: Arr, label: string, requiresGrad = false) => tensor(values(a, label), a.shape, { requiresGrad });

/** Compares a tensor with a fixture tensor: in full, or at the sampled indices. */
async function expectTensor(got: Tensor | null | undefined, want: Arr, label: string, t: Tolerance = tol): Promise<void> {
  if (!got) expect.fail(`${label}: missing`);
  expect([...got.shape], `${label}: shape`).toEqual(want.shape);
  const data = await got.toFloat64Array();
  if (want.idx) expectClose(want.idx.map((i) => data[i]!), want.data!, t, `${label} (sampled)`);
  else expectClose(data, want.data!, t, label);
}

// ---- modules -------------------------------------------------------------------

/** The spec's args, failing on any this file does not map to our API. */
function args(spec: ModuleSpec, known: string[]): Record<string, any> {
  const a = spec.args ?? {};
  const unknown = Object.keys(a).filter((k) => !known.includes(k));
  if (unknown.length) throw new Error(`${spec.type}: fixture argument(s) ${unknown.join(', ')} have no mapping in test/nn-fixtures.test.ts`);
  return a;
}

/** Drops undefined entries, so absent torch arguments fall back to our defaults. */
const given = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

const builders: Record<string, (s: ModuleSpec) => nn.Module> = {
  Linear: (s) => {
    const a = args(s, ['in_features', 'out_features', 'bias']);
    return new nn.Linear(a.in_features, a.out_features, given({ bias: a.bias }));
  },
  Conv2d: (s) => {
    const a = args(s, ['in_channels', 'out_channels', 'kernel_size', 'stride', 'padding', 'dilation', 'bias']);
    return new nn.Conv2d(a.in_channels, a.out_channels, a.kernel_size, given({ stride: a.stride, padding: a.padding, dilation: a.dilation, bias: a.bias }));
  },
  BatchNorm2d: (s) => {
    const a = args(s, ['num_features', 'eps', 'momentum', 'affine', 'track_running_stats']);
    return new nn.BatchNorm2d(a.num_features, given({ eps: a.eps, momentum: a.momentum, affine: a.affine, trackRunningStats: a.track_running_stats }));
  },
  MaxPool2d: (s) => {
    const a = args(s, ['kernel_size', 'stride', 'padding']);
    return new nn.MaxPool2d(a.kernel_size, given({ stride: a.stride, padding: a.padding }));
  },
  AvgPool2d: (s) => {
    const a = args(s, ['kernel_size', 'stride', 'padding', 'count_include_pad']);
    return new nn.AvgPool2d(a.kernel_size, given({ stride: a.stride, padding: a.padding, countIncludePad: a.count_include_pad }));
  },
  Dropout: (s) => {
    const a = args(s, ['p']);
    return a.p === undefined ? new nn.Dropout() : new nn.Dropout(a.p);
  },
  Flatten: (s) => {
    const a = args(s, ['start_dim']);
    return a.start_dim === undefined ? new nn.Flatten() : new nn.Flatten(a.start_dim);
  },
  ReLU: (s) => (args(s, []), new nn.ReLU()),
  Tanh: (s) => (args(s, []), new nn.Tanh()),
  Sigmoid: (s) => (args(s, []), new nn.Sigmoid()),
  Sequential: (s) => new nn.Sequential(...(s.children ?? []).map(([name, c]) => [name, build(c)] as const)),
  model: (s) => nn.createModel(s.name!),
};

function build(spec: ModuleSpec): nn.Module {
  const b = builders[spec.type];
  if (!b) throw new Error(`no builder for fixture module type '${spec.type}'; add one to test/nn-fixtures.test.ts`);
  return b(spec);
}

function moduleTypes(spec: ModuleSpec, out = new Set<string>()): Set<string> {
  out.add(spec.type);
  for (const [, c] of spec.children ?? []) moduleTypes(c, out);
  return out;
}

/** Our keys must be torch's, in torch's order; a mismatch names the keys on each side. */
function expectSameKeys(ours: string[], torch: string[], label: string): void {
  if (ours.length === torch.length && ours.every((k, i) => k === torch[i])) return;
  const onlyOurs = ours.filter((k) => !torch.includes(k)), onlyTorch = torch.filter((k) => !ours.includes(k));
  expect.fail(
    onlyOurs.length || onlyTorch.length
      ? `${label} differ from PyTorch's: only ours [${onlyOurs.join(', ')}], only torch's [${onlyTorch.join(', ')}]`
      : `${label} are PyTorch's but in another order: ours [${ours.join(', ')}], torch's [${torch.join(', ')}]`,
  );
}

async function checkModule(backend: BackendName, c: ModuleCase): Promise<void> {
  const m = on(backend, () => build(c.module));
  const owned: Tensor[] = [];
  try {
    // Key names and order must be torch's: a mismatch is reported as such, before loading.
    expectSameKeys([...m.stateDict().keys()], Object.keys(c.state), `${c.name}: state-dict keys`);
    const state = on(backend, () => new Map(Object.entries(c.state).map(([k, a]) => [k, toTensor(a, `${c.name} state ${k}`)] as const)));
    owned.push(...state.values());
    m.loadStateDict(state);
    m.train(c.train);

    setBackend(backend);
    const x = toTensor(c.input, `${c.name} input`, true);
    owned.push(x);
    const y = tidy(() => {
      const out = m.forward(x);
      out.backward(toTensor(c.upstream, `${c.name} upstream`));
      return out;
    });
    if (y !== x) owned.push(y);

    await expectTensor(y, c.output, `${c.name} output`);
    await expectTensor(x.grad, c.input_grad, `${c.name} input grad`);
    const params = new Map(m.namedParameters());
    expectSameKeys([...params.keys()], Object.keys(c.grads), `${c.name}: parameter keys`);
    for (const [k, want] of Object.entries(c.grads)) await expectTensor(params.get(k)!.grad, want, `${c.name} grad ${k}`);
    const buffers = new Map([...m.stateDict()].filter(([k]) => !params.has(k)));
    expectSameKeys([...buffers.keys()], Object.keys(c.buffers), `${c.name}: buffer keys`);
    for (const [k, want] of Object.entries(c.buffers)) await expectTensor(buffers.get(k), want, `${c.name} buffer ${k} after forward`);
  } finally {
    for (const t of owned) t.dispose();
    m.dispose();
  }
}

// ---- optimizers ----------------------------------------------------------------

/** torch.optim option names → ours; unknown ones fail. */
function optOptions(o: TorchOptions, label: string): Record<string, unknown> {
  const names: Record<string, string> = { lr: 'lr', momentum: 'momentum', dampening: 'dampening', weight_decay: 'weightDecay', nesterov: 'nesterov', betas: 'betas', eps: 'eps' };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (!(k in names)) throw new Error(`${label}: torch option '${k}' has no mapping in test/nn-fixtures.test.ts`);
    out[names[k]!] = v;
  }
  return out;
}

type AnyOptimizer = nn.Optimizer<nn.BaseOptions>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const optimizers: Record<string, (groups: any, defaults: any) => AnyOptimizer> = {
  SGD: (g, d) => new nn.SGD(g, d),
  Adam: (g, d) => new nn.Adam(g, d),
  AdamW: (g, d) => new nn.AdamW(g, d),
};

async function checkOptimizer(backend: BackendName, c: OptimizerCase): Promise<void> {
  const make = optimizers[c.optimizer];
  if (!make) expect.fail(`${c.name}: no optimizer '${c.optimizer}' in test/nn-fixtures.test.ts`);
  const params = on(backend, () => new Map(Object.entries(c.params).map(([k, a]) => [k, keep(toTensor(a, `${c.name} ${k}`, true))] as const)));
  const groups = c.groups.map(({ params: names, ...rest }) => ({ params: names.map((n) => params.get(n)!), ...optOptions(rest, c.name) }));
  const opt = make(groups, optOptions(c.defaults, c.name));
  try {
    for (const [i, step] of c.steps.entries()) {
      on(backend, () => {
        for (const [k, p] of params) {
          p.grad?.dispose();
          p.grad = step.grads[k] ? keep(toTensor(step.grads[k], `${c.name} step ${i + 1} grad ${k}`)) : null;
        }
        opt.step();
      });
      expect([...params.keys()]).toEqual(Object.keys(step.params));
      for (const [k, want] of Object.entries(step.params)) await expectTensor(params.get(k), want, `${c.name} ${k} after step ${i + 1}`);
    }
  } finally {
    opt.dispose();
    for (const p of params.values()) p.dispose();
  }
}

// ---- schedules -----------------------------------------------------------------

const schedulers: Record<string, { known: string[]; make: (opt: AnyOptimizer, a: Record<string, any>) => nn.LRScheduler }> = {
  StepLR: { known: ['step_size', 'gamma'], make: (o, a) => new nn.StepLR(o, a.step_size, a.gamma) },
  MultiStepLR: { known: ['milestones', 'gamma'], make: (o, a) => new nn.MultiStepLR(o, a.milestones, a.gamma) },
  CosineAnnealingLR: { known: ['T_max', 'eta_min'], make: (o, a) => new nn.CosineAnnealingLR(o, a.T_max, a.eta_min) },
};

function checkScheduler(backend: BackendName, c: SchedulerCase): void {
  const s = schedulers[c.scheduler];
  if (!s) expect.fail(`${c.name}: no schedule '${c.scheduler}' in test/nn-fixtures.test.ts`);
  const unknown = Object.keys(c.args).filter((k) => !s.known.includes(k));
  if (unknown.length) expect.fail(`${c.name}: torch argument(s) ${unknown.join(', ')} have no mapping`);
  const params = on(backend, () => c.base_lrs.map(() => keep(tensor([0], [1], { requiresGrad: true }))));
  const opt = new nn.SGD(params.map((p, i) => ({ params: [p], lr: c.base_lrs[i]! })), { lr: c.base_lrs[0]! });
  try {
    const sched = s.make(opt, c.args);
    const seen = [sched.getLastLr()];
    for (let e = 1; e < c.lrs.length; e++) {
      sched.step();
      seen.push(sched.getLastLr());
    }
    expect(seen.map((r) => r.length)).toEqual(c.lrs.map((r) => r.length));
    expectClose(seen.flat(), c.lrs.flat(), lrTol, `${c.name} rates (epoch-major, one per group)`);
  } finally {
    for (const p of params) p.dispose();
  }
}

// ---- the tests -----------------------------------------------------------------

const handlers: Record<string, (backend: BackendName, c: never) => Promise<void> | void> = {
  module: checkModule,
  optimizer: checkOptimizer,
  scheduler: checkScheduler,
};

beforeAll(initBoth);
afterAll(shutdown);

describe('PyTorch nn fixtures', () => {
  it('has a handler for every case kind, module type, optimizer and schedule in the JSON', () => {
    expect(cases.length).toBeGreaterThan(0);
    const names = cases.map((c) => c.name);
    expect(new Set(names).size, 'case names are unique').toBe(names.length);
    const kinds = [...new Set(cases.map((c) => c.kind))].filter((k) => !(k in handlers));
    expect(kinds, 'case kinds without a handler').toEqual([]);
    const types = new Set<string>();
    for (const c of cases) if (c.kind === 'module') moduleTypes((c as ModuleCase).module, types);
    expect([...types].filter((t) => !(t in builders)), 'module types without a builder').toEqual([]);
    const opts = cases.filter((c) => c.kind === 'optimizer').map((c) => (c as OptimizerCase).optimizer);
    expect(opts.filter((o) => !(o in optimizers)), 'optimizers without a constructor').toEqual([]);
    const scheds = cases.filter((c) => c.kind === 'scheduler').map((c) => (c as SchedulerCase).scheduler);
    expect(scheds.filter((s) => !(s in schedulers)), 'schedules without a constructor').toEqual([]);
  });

  it('regenerates hashed fixture weights bit for bit', () => {
    // gen_values(12345, 4, 0.5) and gen_values(2**32 - 1, 2, 1/3) from scripts/gen_nn_fixtures.py.
    expect([...genValues(12345, 4, 0.5)]).toEqual([-0.2204346, -0.3095277, -0.26806873, 0.05818695].map(Math.fround));
    expect([...genValues(4294967295, 2, 1 / 3)]).toEqual([-0.19044285, 0.32340214].map(Math.fround));
  });

  for (const backend of ['cpu', 'webgpu'] as const) {
    describe(backend, () => {
      it.each(cases.map((c) => [`${c.kind} ${c.name}`, c] as const))('%s', async (_label, c) => {
        const h = handlers[c.kind];
        if (!h) expect.fail(`no handler for fixture kind '${c.kind}' (case ${c.name}); add one to test/nn-fixtures.test.ts`);
        await h(backend, c as never);
      });
    });
  }
});
