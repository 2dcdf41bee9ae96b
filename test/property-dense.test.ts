/**
 * Property tests (fast-check) of the dense kernel families against the CPU reference, forward
 * and backward: elementwise ops on strided views (permuted, sliced, broadcast operands, vec4 and
 * scalar launches), reductions on the three row paths (thread per row, workgroup per row, split
 * rows), every matmul program (gemv, tiled, split-K, batched, the texture GEMM at two block
 * sizes, the row-texture GEMM of linear layers with and without split k, bias and ReLU
 * epilogues, operands given as transposed views) and pooling.
 *
 * Each matmul/linear case says which program its forward pass should take and checks that the
 * planner (kernels/matmul/plan.ts, with the device's settings) takes it, so a change of thresholds that
 * leaves a path untested fails here. Seeds, replay and FC_RUNS: test/helpers/property.ts.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import {
  add, addcmul, argmax, avgPool2d, conv2d, div, exp, expand, Generator, getBackend, gt, linear, matmul, max, maximum, maxPool2d, mean, min, minimum,
  mul, permute, pow, relu, reshape, setBackend, sigmoid, slice, sub, sum, tanh, type Tensor, tensor, transpose, where,
} from '../index.js';
import type { MatmulGeometry } from '../engine/backend.js';
import type { WebGpuBackend } from '../engine/webgpu/backend.js';
import type { KernelSettings } from '../gpu/profile.js';
import { planMatmul } from '../kernels/matmul/plan.js';
import { expectClose, initBoth, shutdown } from './helpers/backends.js';
import { itProperty, maxAbs, parity, seedArb } from './helpers/property.js';
import { awayFromZero, input, normal, positive, sizeOf, smallInts, type Values } from './helpers/values.js';

beforeAll(initBoth);
afterAll(shutdown);

const dim = (min: number, max: number) => fc.integer({ min, max });
const size = sizeOf;

// ---------------------------------------------------------------------------
// Elementwise on strided views

/**
 * A base shape, a permutation of it and a sub-range of every permuted dimension: x → slice(permute(x)).
 * 'vec4': the inner dimension untouched and a multiple of 4 (the vec4 launches); 'permuted': dims
 * reordered; 'sliced': sub-ranges with offsets, in place.
 */
type ViewKind = 'vec4' | 'permuted' | 'sliced';
const viewArb = (kind: ViewKind) => fc
  .tuple(fc.array(fc.constantFrom(1, 2, 3, 5, 7, 9, 12), { minLength: kind === 'permuted' ? 2 : 0, maxLength: 3 }), fc.constantFrom(4, 8, 12, 16, 3, 5, 9))
  .map(([outer, last]) => (kind === 'vec4' ? [...outer, [4, 8, 12, 16][last % 4]!] : [...outer, last]))
  .chain((base) => fc.record({
    base: fc.constant(base),
    perm: kind === 'permuted'
      ? fc.shuffledSubarray([...base.keys()], { minLength: base.length }).filter((p) => p.some((a, i) => a !== i))
      : fc.constant([...base.keys()]),
    cut: fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: base.length, maxLength: base.length }),
  }))
  .map(({ base, perm, cut }) => {
    const permuted = perm.map((a) => base[a]!);
    const r = permuted.length;
    // 'sliced' cuts every dimension longer than 1; the others cut half of the outer dims and never the inner one.
    const cutDim = (i: number) => kind === 'sliced' || (i < r - 1 && cut[i]![0] % 2 === 1);
    const starts = permuted.map((d, i) => (cutDim(i) ? cut[i]![0] % d : 0));
    const ends = permuted.map((d, i) => (cutDim(i) ? starts[i]! + 1 + (cut[i]![1] % (d - starts[i]!)) : d));
    return { base, perm, starts, ends, shape: ends.map((e, i) => e - starts[i]!) };
  });
type View = { base: number[]; perm: readonly number[]; starts: number[]; ends: number[]; shape: number[] };
const applyView = (x: Tensor, v: View) => slice(permute(x, v.perm), v.starts, v.ends);

/** A shape that broadcasts against `shape`: leading dims dropped, some set to 1. */
const broadcastOf = (shape: number[]) =>
  fc.tuple(fc.integer({ min: 0, max: shape.length }), fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length }))
    .map(([drop, ones]) => shape.map((d, i) => (ones[i] ? 1 : d)).slice(drop));

const BINARY: Array<[string, (a: Tensor, b: Tensor) => Tensor, Values, Values]> = [
  ['add', add, normal, normal], ['sub', sub, normal, normal], ['mul', mul, normal, normal], ['div', div, normal, awayFromZero],
  ['pow', pow, positive, normal], ['maximum', maximum, normal, normal], ['minimum', minimum, normal, normal],
  ['where', (a, b) => where(gt(a, b), a, b), normal, normal], ['addcmul', (a, b) => addcmul(a, b, b, -0.5), normal, normal],
];
const UNARY: Array<[string, (a: Tensor) => Tensor, Values]> = [['exp', exp, normal], ['tanh', tanh, normal], ['sigmoid', sigmoid, normal], ['relu', relu, awayFromZero]];

describe('elementwise on strided views', () => {
  for (const kind of ['vec4', 'permuted', 'sliced'] as const) {
    itProperty(
      `elementwise binary on ${kind} views`, 'a broadcast operand (itself expanded, or broadcast by the op), forward and backward',
      () => viewArb(kind).chain((v) => fc.record({ v: fc.constant(v), other: broadcastOf(v.shape), op: fc.integer({ min: 0, max: BINARY.length - 1 }), swap: fc.boolean(), expandIt: fc.boolean(), seed: seedArb })),
      async ({ v, other, op, swap, expandIt, seed }, note) => {
        const [name, fn, va, vb] = BINARY[op]!;
        note(name);
        if (other.length < v.shape.length || other.some((d, i) => d !== v.shape[v.shape.length - other.length + i])) note('broadcast');
        const g = new Generator(seed);
        await parity(([x, y]) => {
          const a = applyView(x!, v);
          // The second operand expanded to the full shape (a stride-0 gather) or broadcast by the op itself.
          const b = expandIt ? expand(y!, v.shape) : y!;
          return swap && name !== 'pow' && name !== 'div' ? fn(b, a) : fn(a, b);
        }, [input(g, v.base, va), input(g, other, vb)], seed, {}, `${name} ${JSON.stringify(v)} with ${JSON.stringify(other)}`);
      },
      { numRuns: 6 },
    );
  }

  itProperty(
    'elementwise unary on strided views', 'exp, tanh, sigmoid, relu on vec4, permuted and sliced views',
    () => fc.record({ v: fc.constantFrom<ViewKind>('vec4', 'permuted', 'sliced').chain(viewArb), op: fc.integer({ min: 0, max: UNARY.length - 1 }), seed: seedArb }),
    async ({ v, op, seed }, note) => {
      const [name, fn, values] = UNARY[op]!;
      note(name);
      await parity(([x]) => fn(applyView(x!, v)), [input(new Generator(seed), v.base, values)], seed, {}, name);
    },
    { numRuns: 8 },
  );
});

// ---------------------------------------------------------------------------
// Reductions

/** Row length by path: ≤ 64 one thread a row, longer one workgroup a row, ≥ 16384 with few rows split in segments. */
type ReducePath = 'thread' | 'workgroup' | 'split';
const reduceArb = (path: ReducePath) => fc.record({
  inner: path === 'thread' ? dim(1, 64) : path === 'workgroup' ? dim(65, 3000) : dim(16384, 20000),
  outer: path === 'split' ? dim(1, 3) : dim(1, 40),
  // The reduced axis first or last in memory (a permute moves it last before the kernel runs).
  innerFirst: fc.boolean(),
  op: fc.constantFrom('sum', 'mean', 'max', 'min', 'argmax'),
  ties: fc.boolean(), keepDim: fc.boolean(), seed: seedArb,
});

describe('reductions', () => {
  for (const path of ['thread', 'workgroup', 'split'] as const) {
    itProperty(`reductions, ${path} path`, 'sum, mean, max, min, argmax over one axis of either layout, with ties', () => reduceArb(path), async ({ inner, outer, innerFirst, op, ties, keepDim, seed }, note) => {
      note(op);
      const shape = innerFirst ? [inner, outer] : [outer, inner];
      const axis = innerFirst ? 0 : 1;
      const fns = { sum, mean, max, min } as const;
      // argmax has no gradient: its input is not differentiated.
      const x = input(new Generator(seed), shape, ties ? smallInts : normal, op !== 'argmax');
      await parity(([t]) => (op === 'argmax' ? argmax(t!, axis, keepDim) : fns[op as keyof typeof fns](t!, axis, keepDim)), [x], seed, {}, `${op} ${JSON.stringify(shape)} axis ${axis}`);
    }, { numRuns: 5 });
  }
});

// ---------------------------------------------------------------------------
// Matmul and linear

let settings: KernelSettings;
beforeAll(() => {
  settings = (getBackend('webgpu') as WebGpuBackend).rt.settings;
});

/** The program selection takes for a geometry: kind, '-split' when k is split; a texture GEMM's block. */
function programOf(g: MatmulGeometry, epilogue: { bias?: boolean; relu?: boolean } = {}): { program: string; block: string } {
  const plan = planMatmul(g, epilogue, settings).plan;
  const p = plan.program;
  return { program: `${p.kind}${plan.splits > 1 ? '-split' : ''}`, block: p.kind === 'texture' || p.kind === 'rows' ? `${p.kind} ${p.r}x${p.t}` : '' };
}

type MatmulPath = 'gemv' | 'split' | 'tiled' | 'batched' | 'texture' | 'texture-big';
const matmulArb = (path: MatmulPath) => {
  const shape = {
    gemv: fc.oneof(fc.record({ m: fc.constant(1), k: dim(1, 300), n: dim(1, 90) }), fc.record({ m: dim(1, 90), k: dim(1, 300), n: fc.constant(1) })),
    split: fc.record({ m: dim(1, 12), k: dim(512, 800), n: dim(1, 12) }),
    tiled: fc.record({ m: dim(2, 40), k: dim(1, 64), n: dim(2, 40) }),
    batched: fc.record({ m: dim(2, 24), k: dim(1, 40), n: dim(2, 24) }),
    texture: fc.record({ m: dim(64, 100), k: dim(1, 48), n: dim(64, 90) }),
    'texture-big': fc.record({ m: dim(256, 264), k: dim(2, 12), n: dim(256, 262) }),
  }[path];
  const batch = path === 'batched'
    // a's batch dims (at least 2 matrices); b shares them or broadcasts (1s, or no batch dims)
    ? fc.tuple(fc.tuple(dim(2, 3), fc.array(dim(1, 3), { maxLength: 1 })).map(([d, rest]) => [d, ...rest]), fc.boolean(), fc.boolean())
    : fc.constant(null);
  return fc.record({ s: shape, batch, viewA: fc.boolean(), viewB: fc.boolean(), seed: seedArb });
};

const EXPECTED: Record<MatmulPath, (p: string) => boolean> = {
  gemv: (p) => p === 'gemv', split: (p) => p === 'tiled-split' || p === 'gemv-split', tiled: (p) => p === 'tiled', batched: (p) => p === 'tiled',
  texture: (p) => p === 'texture', 'texture-big': (p) => p === 'texture',
};

describe('matmul', () => {
  for (const path of ['gemv', 'split', 'tiled', 'batched', 'texture', 'texture-big'] as const) {
    itProperty(`matmul, ${path} shapes`, 'the selection takes that program; operands as transposed views; the backward products too', () => matmulArb(path), async ({ s, batch, viewA, viewB, seed }, note) => {
      const { m, k, n } = s;
      const batchA = batch ? batch[0] : [];
      const batchB = batch ? (batch[1] ? batchA : batch[2] ? batchA.map(() => 1) : []) : [];
      const bsize = size(batchA);
      const g: MatmulGeometry = {
        batch: bsize, m, k, n, transA: false, transB: false,
        aBatchStride: bsize > 1 ? m * k : 0, bBatchStride: size(batchB) > 1 ? k * n : 0,
      };
      const { program, block } = programOf(g);
      note(program);
      if (block) note(block);
      if (batch) note(size(batchB) > 1 ? 'both batched' : 'b broadcast over the batch');
      if (viewA || viewB) note('transposed views');
      if (!EXPECTED[path](program) || (path === 'texture-big' && block !== 'texture 4x4')) {
        throw new Error(`a ${path} case (${JSON.stringify({ batchA, batchB, m, k, n })}) selected ${program} ${block}: the generator no longer reaches that path`);
      }
      const gen = new Generator(seed);
      // A transposed view: the operand is stored [.., cols, rows] and transposed back before the product.
      const a = input(gen, viewA ? [...batchA, k, m] : [...batchA, m, k]);
      const b = input(gen, viewB ? [...batchB, n, k] : [...batchB, k, n]);
      await parity(([x, y]) => matmul(viewA ? transpose(x!, -1, -2) : x!, viewB ? transpose(y!, -1, -2) : y!), [a, b], seed, {}, `${path} ${program}`);
    }, { numRuns: 3 });
  }
});

type LinearPath = 'rows' | 'rows-split' | 'texture' | 'other';
const linearArb = (path: LinearPath) => fc.record({
  s: {
    rows: fc.record({ m: dim(1, 70), k: fc.constantFrom(64, 128, 192), n: dim(4, 80) }),
    'rows-split': fc.record({ m: dim(1, 40), k: fc.constantFrom(512, 576, 640), n: dim(4, 40) }),
    texture: fc.record({ m: dim(64, 90), k: dim(1, 63), n: dim(64, 80) }),
    other: fc.record({ m: dim(1, 30), k: dim(1, 63), n: dim(1, 30) }),
  }[path],
  lead: fc.array(dim(1, 3), { maxLength: 2 }),
  bias: fc.boolean(), relu: fc.boolean(), viewX: fc.boolean(), seed: seedArb,
});

describe('linear', () => {
  for (const path of ['rows', 'rows-split', 'texture', 'other'] as const) {
    itProperty(`linear, ${path} shapes`, 'x·Wᵀ + b with a fused ReLU, the selection takes that program; x as a transposed view', () => linearArb(path), async ({ s, lead, bias, relu: withRelu, viewX, seed }, note) => {
      // Leading dims of x multiply into the product's rows.
      const rows = s.m * size(lead);
      const { program, block } = programOf({ batch: 1, m: rows, k: s.k, n: s.n, transA: false, transB: true, aBatchStride: 0, bBatchStride: 0 }, { bias, relu: withRelu });
      note(program);
      if (block) note(block);
      if (bias) note('bias');
      if (withRelu) note('relu');
      const ok = path === 'other' ? !program.startsWith('rows') : path === 'texture' ? program === 'texture' : program === path;
      if (!ok) throw new Error(`a ${path} linear case (${JSON.stringify({ rows, ...s })}) selected ${program} ${block}: the generator no longer reaches that path`);
      const g = new Generator(seed);
      const xShape = viewX ? [...lead, s.k, s.m] : [...lead, s.m, s.k];
      const inputs = [input(g, xShape), input(g, [s.n, s.k]), ...(bias ? [input(g, [s.n])] : [])];
      await parity(([x, w, b]) => linear(viewX ? transpose(x!, -1, -2) : x!, w!, b, { activation: withRelu ? 'relu' : null }), inputs, seed, {}, `${path} ${program}`);
    }, { numRuns: 3 });
  }
});

// ---------------------------------------------------------------------------
// Pooling

const poolArb = fc.record({
  n: dim(1, 3), c: dim(1, 4), h: dim(1, 13), w: dim(1, 13),
  kh: dim(1, 4), kw: dim(1, 4), sh: dim(1, 4), sw: dim(1, 4), ph: dim(0, 2), pw: dim(0, 2),
  avg: fc.boolean(), countIncludePad: fc.boolean(), ties: fc.boolean(), seed: seedArb,
}).filter((p) => 2 * p.ph <= p.kh && 2 * p.pw <= p.kw && p.h + 2 * p.ph >= p.kh && p.w + 2 * p.pw >= p.kw);

describe('pooling', () => {
  itProperty('max and average pooling', 'first maximum on ties; padding counted or not; any kernel, stride and padding', () => poolArb, async (p, note) => {
    note(p.avg ? 'avg' : 'max');
    if (p.ph || p.pw) note('padded');
    if (p.sh > p.kh || p.sw > p.kw) note('stride > kernel');
    const o = { stride: [p.sh, p.sw] as [number, number], padding: [p.ph, p.pw] as [number, number] };
    const x = input(new Generator(p.seed), [p.n, p.c, p.h, p.w], p.ties ? smallInts : normal);
    await parity(([t]) => (p.avg ? avgPool2d(t!, [p.kh, p.kw], { ...o, countIncludePad: p.countIncludePad }) : maxPool2d(t!, [p.kh, p.kw], o)), [x], p.seed, {}, JSON.stringify(p));
  }, { numRuns: 14, cover: ['avg', 'max', 'padded'] });
});

// ---------------------------------------------------------------------------
// Bad arguments

const shapeOf = (maxRank: number) => fc.array(dim(0, 4), { maxLength: maxRank });
/** Usually a plausible [N, C, H, W] (empty dims included), else any shape of rank ≤ 5. */
const nchwOr = (c: [number, number]) => fc.oneof(fc.tuple(dim(0, 2), dim(...c), dim(0, 6), dim(0, 6)), shapeOf(5));
const odd = fc.constantFrom(-1, 0, 1, 1, 2, 1.5);
/** Calls with random, often invalid, shapes and options: channel and feature mismatches, empty dims, bad strides, padding and axes. */
const callArb = fc.oneof(
  fc.record({ x: nchwOr([1, 3]), w: nchwOr([1, 3]), stride: odd, padding: fc.constantFrom(-1, 0, 1, 3), dilation: odd }).map((a) => ({ kind: 'conv2d', a })),
  fc.record({ a: shapeOf(3), b: shapeOf(3) }).map((a) => ({ kind: 'matmul', a })),
  fc.record({ x: shapeOf(3), w: shapeOf(3), bias: fc.option(shapeOf(2)), relu: fc.boolean() }).map((a) => ({ kind: 'linear', a })),
  fc.record({ x: nchwOr([1, 2]), kernel: fc.constantFrom(0, 1, 2, 3), stride: odd, padding: fc.constantFrom(-1, 0, 1, 2) }).map((a) => ({ kind: 'maxPool2d', a })),
  fc.record({ x: nchwOr([1, 2]), kernel: fc.constantFrom(0, 1, 2, 3), stride: odd, padding: fc.constantFrom(-1, 0, 1, 2), countIncludePad: fc.boolean() }).map((a) => ({ kind: 'avgPool2d', a })),
  fc.record({ a: shapeOf(4), b: shapeOf(4) }).map((a) => ({ kind: 'add', a })),
  fc.record({ x: shapeOf(3), target: fc.array(fc.constantFrom(-1, 0, 1, 2, 3, 4, 6), { maxLength: 3 }) }).map((a) => ({ kind: 'reshape', a })),
  fc.record({ x: shapeOf(3), axis: fc.integer({ min: -4, max: 4 }), keepDim: fc.boolean() }).map((a) => ({ kind: 'sum', a })),
);

/** Runs the call on the current backend (its inputs drawn from `g`). */
function call(c: { kind: string; a: Record<string, unknown> }, g: Generator): Tensor {
  const t = (shape: number[]) => tensor(Float32Array.from({ length: size(shape) }, () => g.normal()), shape);
  const a = c.a as never as Record<string, number & number[]>;
  switch (c.kind) {
    case 'conv2d': return conv2d(t(a.x), t(a.w), null, { stride: a.stride, padding: a.padding, dilation: a.dilation });
    case 'matmul': return matmul(t(a.a), t(a.b));
    case 'linear': return linear(t(a.x), t(a.w), a.bias ? t(a.bias) : null, { activation: c.a.relu ? 'relu' : null });
    case 'maxPool2d': return maxPool2d(t(a.x), a.kernel, { stride: a.stride, padding: a.padding });
    case 'avgPool2d': return avgPool2d(t(a.x), a.kernel, { stride: a.stride, padding: a.padding, countIncludePad: !!c.a.countIncludePad });
    case 'add': return add(t(a.a), t(a.b));
    case 'reshape': return reshape(t(a.x), a.target);
    default: return sum(t(a.x), a.axis, (c.a as { keepDim: boolean }).keepDim);
  }
}

async function attempt(backend: 'cpu' | 'webgpu', c: { kind: string; a: Record<string, unknown> }, seed: number): Promise<{ error?: string; out?: Float64Array; shape?: readonly number[] }> {
  setBackend(backend);
  try {
    const y = call(c, new Generator(seed));
    const out = await y.toFloat64Array();
    const shape = y.shape;
    y.dispose();
    return { out, shape };
  } catch (e) {
    return { error: (e as Error).message.replace(/tensor #\d+/g, 'tensor #N') };
  }
}

describe('bad arguments', () => {
  itProperty('error parity on random arguments', 'often invalid; both backends refuse the same calls with the same message naming the op, and agree on the rest', () => fc.record({ c: callArb, seed: seedArb }), async ({ c, seed }, note) => {
    const cpu = await attempt('cpu', c, seed);
    const gpu = await attempt('webgpu', c, seed);
    note(`${c.kind} ${cpu.error ? 'refused' : 'accepted'}`);
    expect(gpu.error, `${c.kind} ${JSON.stringify(c.a)}`).toBe(cpu.error);
    if (cpu.error) {
      expect(cpu.error, 'the message starts with the op\'s name').toMatch(new RegExp(`^${c.kind}: `));
      return;
    }
    expect(gpu.shape).toEqual(cpu.shape);
    expectClose(gpu.out!, cpu.out!, { rtol: 1e-4, atol: 1e-5 * Math.max(1, maxAbs(cpu.out!)) }, `${c.kind} ${JSON.stringify(c.a)}`);
  }, { numRuns: 60, badInputs: true });
});
