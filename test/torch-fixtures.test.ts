/**
 * Every case in fixtures/torch_ops.json (PyTorch reference results) on both
 * backends: forward outputs, every input gradient and, for batch_norm, the updated
 * running statistics. One test per (case, backend), so a failure names the case.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  avgPool2d, batchNorm, type BackendName, conv2d, crossEntropy, linear, logSoftmax, matmul, maxPool2d, setBackend, softmax, type Tensor, tensor, tidy,
} from '../index.js';
import { expectClose, initBoth, shutdown, type Tolerance } from './helpers/backends.js';

interface Arr {
  shape: number[];
  data: number[];
}

interface Case {
  op: string;
  name: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  params: Record<string, any>;
  inputs: Record<string, Arr>;
  upstream?: Arr;
  outputs: Record<string, Arr>;
  grads: Record<string, Arr>;
}

const { cases } = JSON.parse(readFileSync(new URL('./fixtures/torch_ops.json', import.meta.url), 'utf8')) as { cases: Case[] };

type Pair = [number, number];
/** Runs the op on the case's inputs; returns `out` plus any extra outputs to compare (keyed as in `outputs`). */
type Adapter = (x: Record<string, Tensor>, p: Case['params']) => Record<string, Tensor>;

const stats = (values: number[]) => tensor(Float32Array.from(values), [values.length]);

const adapters: Record<string, Adapter> = {
  conv2d: (x, p) => ({ out: conv2d(x.x!, x.weight!, x.bias ?? null, { stride: p.stride as Pair, padding: p.padding as Pair, dilation: p.dilation as Pair }) }),
  max_pool2d: (x, p) => ({ out: maxPool2d(x.x!, p.kernel as Pair, { stride: p.stride as Pair, padding: p.padding as Pair }) }),
  avg_pool2d: (x, p) => ({
    out: avgPool2d(x.x!, p.kernel as Pair, { stride: p.stride as Pair, padding: p.padding as Pair, countIncludePad: p.count_include_pad }),
  }),
  cross_entropy: (x, p) => ({ out: crossEntropy(x.logits!, p.targets, { reduction: p.reduction }) }),
  softmax: (x, p) => ({ out: softmax(x.x!, p.dim) }),
  log_softmax: (x, p) => ({ out: logSoftmax(x.x!, p.dim) }),
  batch_norm: (x, p) => {
    const running_mean = stats(p.running_mean), running_var = stats(p.running_var);
    const out = batchNorm(x.x!, running_mean, running_var, x.weight ?? null, x.bias ?? null, { training: p.training, momentum: p.momentum, eps: p.eps });
    return { out, running_mean, running_var };
  },
  linear: (x) => ({ out: linear(x.x!, x.weight!, x.bias ?? null) }),
  matmul: (x) => ({ out: matmul(x.a!, x.b!) }),
};

/**
 * torch and the WebGPU backend compute in float32, the CPU backend in float64, so
 * results differ by rounding. The default tolerance holds for every case, conv and
 * matmul included (the worst, a conv weight gradient summing 126 products, is off
 * by ~3e-5 relative), so no op needs a looser one.
 */
const tol: Tolerance = { rtol: 1e-4, atol: 1e-5 };

async function check(backend: BackendName, c: Case): Promise<void> {
  const adapter = adapters[c.op];
  if (!adapter) expect.fail(`no adapter for fixture op '${c.op}' (case ${c.name}); add one to test/torch-fixtures.test.ts`);
  setBackend(backend);
  const xs = Object.fromEntries(
    Object.entries(c.inputs).map(([k, a]) => [k, tensor(Float32Array.from(a.data), a.shape, { requiresGrad: k in c.grads })]),
  );
  // tidy frees the graph's intermediates once backward is done; the outputs survive.
  const results = tidy(() => {
    const r = adapter(xs, c.params);
    // Scalar losses carry no upstream gradient: torch seeded backward with 1.
    r.out!.backward(c.upstream ? tensor(Float32Array.from(c.upstream.data), c.upstream.shape) : undefined);
    return r;
  });

  for (const [k, want] of Object.entries(c.outputs)) {
    const got = results[k];
    if (!got) expect.fail(`${c.name}: adapter produced no '${k}' output`);
    expect(got.shape, `${k} shape`).toEqual(want.shape);
    expectClose(await got.toFloat64Array(), want.data, tol, `${c.name} ${k}`);
  }
  for (const [k, want] of Object.entries(c.grads)) {
    const g = xs[k]?.grad;
    if (!g) expect.fail(`${c.name}: no gradient for input '${k}'`);
    expect(g.shape, `grad ${k} shape`).toEqual(want.shape);
    expectClose(await g.toFloat64Array(), want.data, tol, `${c.name} grad ${k}`);
  }
  for (const t of [...Object.values(results), ...Object.values(xs)]) t.dispose();
}

beforeAll(initBoth);
afterAll(shutdown);

describe('PyTorch fixtures', () => {
  it('covers every op in the JSON with an adapter', () => {
    expect(cases.length).toBeGreaterThan(0);
    const unknown = [...new Set(cases.map((c) => c.op))].filter((op) => !(op in adapters));
    expect(unknown, 'fixture ops without an adapter').toEqual([]);
  });

  for (const backend of ['cpu', 'webgpu'] as const) {
    describe(backend, () => {
      it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => check(backend, c));
    });
  }
});
