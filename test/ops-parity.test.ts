/**
 * Every public op, forward and backward, on the WebGPU backend against the CPU
 * reference (float64 loops) on the same float32 inputs and upstream gradients.
 *
 * Shapes come from fast-check with a fixed seed and few runs (llvmpipe compiles
 * each new pipeline once; after that a run costs a few dispatches), plus explicit
 * edge cases: rank 0, size-1 dims, sizes that are not multiples of 4 or of the
 * matmul tile (16), broadcasting, long rows for the workgroup-per-row reduction.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  abs, add, argmax, avgPool2d, batchNorm, concat, conv2d, crossEntropy, div, dropout, eq, exp, expand, flatten, ge, Generator, getBackend, gt,
  le, linear, log, logSoftmax, lt, matmul, max, maximum, mean, min, minimum, mul, narrow, ne, neg, permute, pow, reciprocal, relu, reshape,
  setBackend, sigmoid, sign, addcmul, slice, softmax, sqrt, squeeze, sub, sum, tanh, tensor, Tensor, transpose, unsqueeze, where, maxPool2d,
} from '../index.js';
import type { Operand } from '../engine/ops/elementwise.js';
import { expectClose, expectParity, initBoth, shutdown, type Tolerance } from './helpers/backends.js';
import { awayFromZero, bits, input, normal, positive, sizeOf, smallInts, type Values } from './helpers/values.js';

beforeAll(initBoth);
afterAll(shutdown);

// ---------------------------------------------------------------------------
// Inputs (test/helpers/values.ts) and tolerances

/**
 * Tolerances. The default (rtol 1e-4, atol 1e-5) holds everywhere, long rows
 * included: the GPU reduces a row in a 64-way tree, which keeps float32 error far
 * below it (checked with a 5× tighter bound). Dot products (matmul, linear, conv)
 * get a larger atol only: their float32 error scales with Σ|a·b| over up to ~150
 * terms, not with the (possibly cancelling, near-zero) result, so a purely relative
 * bound says nothing there. Measured worst case: 3e-6 on a conv output of 0.03.
 */
const DOT_TOL: Tolerance = { rtol: 1e-4, atol: 1e-4 };

/** Runs a property with a fixed seed so a failure is reproducible; fast-check shrinks to a minimal shape. */
function property<T>(arb: fc.Arbitrary<T>, body: (v: T) => Promise<void>, numRuns = 10): Promise<void> {
  return fc.assert(fc.asyncProperty(arb, body), { seed: 20240607, numRuns });
}

const seedArb = fc.integer({ min: 1, max: 1_000_000 });
const shapeArb = (minRank = 0, maxRank = 4, maxDim = 9) => fc.array(fc.integer({ min: 1, max: maxDim }), { minLength: minRank, maxLength: maxRank });

/** A shape and the same shape with leading dims dropped and some dims set to 1: it broadcasts against the first. */
const broadcastOf = (shape: number[]) =>
  fc
    .tuple(fc.integer({ min: 0, max: shape.length }), fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length }))
    .map(([drop, ones]) => shape.map((d, i) => (ones[i] ? 1 : d)).slice(drop));

/** Two (or three) operand shapes that broadcast together, either side possibly the smaller one. */
const broadcastShapesArb = (operands: number) =>
  shapeArb(0, 4, 7).chain((out) => fc.tuple(...Array.from({ length: operands }, () => broadcastOf(out))));

/** Explicit shapes for elementwise ops: rank 0, size-1 dims, > one 256-thread workgroup, odd sizes. */
const EDGE_SHAPES: number[][] = [[], [1], [17], [257], [1, 1, 1, 1], [3, 1, 5, 1], [33, 31], [2, 16, 1, 5]];

// ---------------------------------------------------------------------------
// Elementwise

describe('unary ops', () => {
  const cases: Array<[string, (x: Tensor) => Tensor, Values]> = [
    ['neg', neg, normal],
    ['exp', exp, normal],
    ['log', log, positive],
    ['sqrt', sqrt, positive],
    ['abs', abs, awayFromZero],
    ['relu', relu, awayFromZero],
    ['sigmoid', sigmoid, normal],
    ['tanh', tanh, normal],
    // sign has no gradient of its own; multiplying by x gives d/dx = sign(x), which checks that none leaks in.
    ['sign', (x) => mul(sign(x), x), awayFromZero],
    ['reciprocal', reciprocal, awayFromZero],
  ];
  for (const [name, fn, values] of cases) {
    it(`${name}: random shapes`, () =>
      property(fc.tuple(shapeArb(), seedArb), async ([shape, seed]) => {
        await expectParity(([x]) => fn(x!), [input(new Generator(seed), shape, values)], {}, seed);
      }));
    it(`${name}: edge shapes`, async () => {
      for (const [k, shape] of EDGE_SHAPES.entries()) await expectParity(([x]) => fn(x!), [input(new Generator(k), shape, values)], {}, k);
    });
  }

  it('abs, relu and sign at exactly zero and at large magnitudes (forward)', async () => {
    const data = Float32Array.from([0, -0, 1e-30, -1e-30, 50, -50, 100, -100, 3]);
    for (const fn of [abs, relu, sign, sigmoid, tanh, neg]) {
      await expectParity(([x]) => fn(x!), [{ shape: [9], data, requiresGrad: false }]);
    }
  });
});

describe('binary ops with broadcasting', () => {
  // [name, op, values of a, values of b, a number that is a valid operand on either side]
  const cases: Array<[string, (a: Operand, b: Operand) => Tensor, Values, Values, number]> = [
    ['add', add, normal, normal, 1.5],
    ['sub', sub, normal, normal, -0.75],
    ['mul', mul, normal, normal, 1.5],
    ['div', div, awayFromZero, awayFromZero, -0.75],
    ['pow', pow, positive, normal, 1.5],
    ['maximum', maximum, normal, normal, 0.3],
    ['minimum', minimum, normal, normal, -0.3],
  ];
  for (const [name, op, va, vb, scalar] of cases) {
    it(`${name}: random broadcast shapes`, () =>
      property(fc.tuple(broadcastShapesArb(2), seedArb), async ([[sa, sb], seed]) => {
        const g = new Generator(seed);
        await expectParity(([a, b]) => op(a!, b!), [input(g, sa, va), input(g, sb, vb)], {}, seed);
      }));
    it(`${name}: explicit broadcasts and a number on either side`, async () => {
      const pairs: Array<[number[], number[]]> = [[[], []], [[17], []], [[], [3, 5]], [[3, 1], [1, 5]], [[2, 1, 4, 1], [3, 1, 6]], [[33], [7, 1]]];
      for (const [k, [sa, sb]] of pairs.entries()) {
        const g = new Generator(100 + k);
        await expectParity(([a, b]) => op(a!, b!), [input(g, sa, va), input(g, sb, vb)], {}, k);
      }
      // A number stands for the operand whose values it replaces (e.g. a denominator for div).
      await expectParity(([a]) => op(a!, scalar), [input(new Generator(7), [5, 3], va)]);
      await expectParity(([b]) => op(scalar, b!), [input(new Generator(8), [4, 1, 3], vb)]);
    });
  }

  it('maximum/minimum split the gradient evenly on ties', async () => {
    const g = new Generator(3);
    const a = input(g, [4, 6], smallInts);
    const b = input(g, [6], smallInts);
    for (const op of [maximum, minimum]) await expectParity(([x, y]) => op(x!, y!), [a, b]);
  });

  it('pow on negative bases with integer exponents, 0^0, and non-integer exponents (forward)', async () => {
    const g = new Generator(4);
    const base = input(g, [6, 5], normal, false);
    const exps = input(g, [5], smallInts, false);
    await expectParity(([x, e]) => pow(x!, e!), [base, exps]);
    for (const e of [2, 3, -1, -2, 0, 0.5]) await expectParity(([x]) => pow(x!, e), [base]);
    await expectParity(([x]) => pow(x!, 0), [{ shape: [3], data: Float32Array.from([0, -0, -2]), requiresGrad: false }]);
    await expectParity(([e]) => pow(-2, e!), [exps]);
  });

  const comparisons: Array<[string, (a: Operand, b: Operand) => Tensor]> = [['eq', eq], ['ne', ne], ['lt', lt], ['le', le], ['gt', gt], ['ge', ge]];
  for (const [name, op] of comparisons) {
    it(`${name} (forward, with ties and numbers on either side)`, () =>
      property(fc.tuple(broadcastShapesArb(2), seedArb), async ([[sa, sb], seed]) => {
        const g = new Generator(seed);
        const a = input(g, sa, smallInts, false);
        await expectParity(([x, y]) => op(x!, y!), [a, input(g, sb, smallInts, false)], {}, seed);
        await expectParity(([x]) => op(x!, 0), [a], {}, seed);
        await expectParity(([x]) => op(1, x!), [a], {}, seed);
      }, 6));
  }

  it('addcmul: broadcast input, t1 and t2, a number as input, any value', () =>
    property(fc.tuple(broadcastShapesArb(3), seedArb), async ([[si, sa, sb], seed]) => {
      const g = new Generator(seed);
      const [i, a, b] = [input(g, si), input(g, sa), input(g, sb)];
      await expectParity(([x, y, z]) => addcmul(x!, y!, z!), [i, a, b], {}, seed);
      await expectParity(([x, y, z]) => addcmul(x!, y!, z!, -0.75), [i, a, b], {}, seed);
      await expectParity(([y, z]) => addcmul(2, y!, z!), [a, b], {}, seed);
    }));

  it('where: broadcast condition and branches, numbers as branches', () =>
    property(fc.tuple(broadcastShapesArb(3), seedArb), async ([[sc, sa, sb], seed]) => {
      const g = new Generator(seed);
      const c = input(g, sc, bits, false);
      const a = input(g, sa);
      const b = input(g, sb);
      await expectParity(([cond, x, y]) => where(cond!, x!, y!), [c, a, b], {}, seed);
      await expectParity(([cond, x]) => where(cond!, x!, -2), [c, a], {}, seed);
      await expectParity(([cond, y]) => where(cond!, 0.5, y!), [c, b], {}, seed);
      // A condition computed on the device, as in practice.
      await expectParity(([x, y]) => where(gt(x!, y!), x!, y!), [a, b], {}, seed);
    }));
});

// ---------------------------------------------------------------------------
// Reductions

describe('reductions', () => {
  const ops: Array<[string, typeof sum]> = [['sum', sum], ['mean', mean], ['max', max], ['min', min]];

  /** A rank 1–4 shape, a shuffled non-empty subset of its axes (some negative), keepDim. */
  const reduceArb = shapeArb(1, 4, 9).chain((shape) =>
    fc.record({
      shape: fc.constant(shape),
      axes: fc.shuffledSubarray([...shape.keys()], { minLength: 1 }),
      negative: fc.boolean(),
      keepDim: fc.boolean(),
      seed: seedArb,
    }),
  );

  for (const [name, op] of ops) {
    it(`${name}: random axes, keepDim, negative axes`, () =>
      property(reduceArb, async ({ shape, axes, negative, keepDim, seed }) => {
        const ax = negative ? axes.map((a) => a - shape.length) : axes;
        const arg = ax.length === 1 && seed % 2 ? ax[0]! : ax; // a bare number as well as a list
        await expectParity(([x]) => op(x!, arg, keepDim), [input(new Generator(seed), shape)], {}, seed);
      }, 12));

    it(`${name}: all axes, rank 0 to 4`, async () => {
      for (const [k, shape] of [[], [1], [7], [3, 5], [2, 1, 9], [2, 3, 4, 5]].entries()) {
        const g = new Generator(k);
        await expectParity(([x]) => op(x!), [input(g, shape)], {}, k);
        await expectParity(([x]) => op(x!, undefined, true), [input(g, shape)], {}, k);
      }
    });

    it(`${name}: long rows (workgroup-per-row path) and rows around its threshold`, async () => {
      // Rows of ≤ 64 elements are reduced by one thread, longer ones by a 64-thread workgroup.
      const cases: Array<[number[], number | number[] | undefined]> = [
        [[5, 64], 1], [[2, 65], 1], [[3, 1000], -1], [[1000, 3], 0], [[2, 3, 200], [0, 2]], [[4, 4099], undefined], [[129, 130], [1]],
      ];
      for (const [k, [shape, axes]] of cases.entries()) {
        await expectParity(([x]) => op(x!, axes), [input(new Generator(k), shape)], {}, k);
      }
    });
  }

  it('max/min share the gradient among tied extremes (both reduction paths)', async () => {
    for (const shape of [[6, 10], [3, 300]]) {
      for (const op of [max, min]) await expectParity(([x]) => op(x!, 1), [input(new Generator(5), shape, smallInts)]);
    }
  });

  it('more rows than one dispatch dimension holds (grid split), forward', async () => {
    // 65 537 rows of 65: the workgroup-per-row launch needs more than 65 535 workgroups.
    const shape = [65_537, 65];
    const data = Float32Array.from({ length: sizeOf(shape) }, (_, i) => ((i * 7919) % 1013) / 1013 - 0.5);
    await expectParity(([x]) => sum(x!, 1), [{ shape, data, requiresGrad: false }]);
    await expectParity(([x]) => max(x!, 1), [{ shape, data, requiresGrad: false }]);
  });

  it('argmax along each axis, keepDim, negative axes, no axis (forward)', () =>
    property(
      shapeArb(1, 4, 9).chain((shape) =>
        fc.record({ shape: fc.constant(shape), axis: fc.integer({ min: -shape.length, max: shape.length - 1 }), keepDim: fc.boolean(), ties: fc.boolean(), seed: seedArb }),
      ),
      async ({ shape, axis, keepDim, ties, seed }) => {
        const x = input(new Generator(seed), shape, ties ? smallInts : normal, false);
        await expectParity(([t]) => argmax(t!, axis, keepDim), [x], {}, seed);
        await expectParity(([t]) => argmax(t!), [x], {}, seed);
      },
      12,
    ));

  it('argmax on long rows keeps the first of tied maxima', async () => {
    for (const [k, [shape, axis]] of ([[[3, 1000], 1], [[2, 65], -1], [[300, 2], 0], [[1, 64], 1]] as const).entries()) {
      for (const values of [normal, smallInts]) await expectParity(([x]) => argmax(x!, axis), [input(new Generator(k), shape, values, false)]);
    }
  });
});

// ---------------------------------------------------------------------------
// Shape ops

describe('shape ops', () => {
  const withSeed = <T>(arb: fc.Arbitrary<T>) => fc.tuple(arb, seedArb);

  it('reshape (with -1) and flatten', () =>
    property(
      withSeed(
        shapeArb(0, 4, 6).chain((shape) => {
          const r = Math.max(shape.length, 1);
          // The target is a permutation of the dims with one replaced by -1; startDim may be negative.
          return fc.tuple(fc.constant(shape), fc.shuffledSubarray(shape, { minLength: shape.length }), fc.nat(), fc.integer({ min: -r, max: r - 1 }));
        }),
      ),
      async ([[shape, target, free, startDim], seed]) => {
        const x = input(new Generator(seed), shape);
        const dims = target.map((d, i) => (i === free % target.length ? -1 : d));
        // Multiply after reshaping so the backward pass has real work to route back.
        await expectParity(([t]) => mul(reshape(t!, dims), 2), [x], {}, seed);
        await expectParity(([t]) => flatten(t!, startDim), [x], {}, seed);
      },
    ));

  it('squeeze and unsqueeze', () =>
    property(
      withSeed(fc.array(fc.constantFrom(1, 1, 2, 5), { maxLength: 4 }).chain((shape) => fc.tuple(fc.constant(shape), fc.integer({ min: -shape.length - 1, max: shape.length })))),
      async ([[shape, dim], seed]) => {
        const x = input(new Generator(seed), shape);
        await expectParity(([t]) => squeeze(t!), [x], {}, seed);
        await expectParity(([t]) => unsqueeze(t!, dim), [x], {}, seed);
        const r = shape.length;
        if (r) await expectParity(([t]) => squeeze(t!, dim < 0 ? Math.max(dim, -r) : Math.min(dim, r - 1)), [x], {}, seed);
      },
    ));

  it('permute and transpose', () =>
    property(
      withSeed(shapeArb(1, 4, 7).chain((shape) => fc.tuple(fc.constant(shape), fc.shuffledSubarray([...shape.keys()], { minLength: shape.length }), fc.nat(), fc.nat()))),
      async ([[shape, perm, i, j], seed]) => {
        const x = input(new Generator(seed), shape);
        const r = shape.length;
        await expectParity(([t]) => permute(t!, perm.map((a) => (a % 2 ? a - r : a))), [x], {}, seed);
        await expectParity(([t]) => transpose(t!, i % r, -1 - (j % r)), [x], {}, seed);
        if (r >= 2) await expectParity(([t]) => transpose(t!), [x], {}, seed);
      },
    ));

  it('expand from size-1 and missing leading dims', () =>
    property(withSeed(shapeArb(0, 4, 6).chain((out) => fc.tuple(fc.constant(out), broadcastOf(out)))), async ([[out, src], seed]) => {
      await expectParity(([t]) => expand(t!, out), [input(new Generator(seed), src)], {}, seed);
    }));

  it('slice and narrow', () =>
    property(
      withSeed(
        shapeArb(1, 4, 9).chain((shape) =>
          fc.tuple(
            fc.constant(shape),
            fc.tuple(...shape.map((d) => fc.tuple(fc.integer({ min: 0, max: d - 1 }), fc.integer({ min: 1, max: d })))),
            fc.integer({ min: 0, max: shape.length - 1 }),
          ),
        ),
      ),
      async ([[shape, ranges, dim], seed]) => {
        const x = input(new Generator(seed), shape);
        // Each range [s, s + len) with len ≥ 1 clipped to the dim.
        const starts = ranges.map(([s]) => s);
        const ends = ranges.map(([s, len], i) => Math.min(s + len, shape[i]!));
        await expectParity(([t]) => slice(t!, starts, ends), [x], {}, seed);
        await expectParity(([t]) => narrow(t!, dim - shape.length, starts[dim]!, ends[dim]! - starts[dim]!), [x], {}, seed);
      },
    ));

  it('concat of several inputs along each axis', () =>
    property(
      withSeed(
        shapeArb(1, 4, 6).chain((shape) =>
          fc.tuple(fc.constant(shape), fc.integer({ min: 0, max: shape.length - 1 }), fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 4 })),
        ),
      ),
      async ([[shape, axis, sizes], seed]) => {
        const g = new Generator(seed);
        const inputs = sizes.map((s, k) => ({ ...input(g, shape.map((d, i) => (i === axis ? s : d))), requiresGrad: k !== 1 }));
        await expectParity((xs) => concat(xs, seed % 2 ? axis : axis - shape.length), inputs, {}, seed);
      },
    ));
});

// ---------------------------------------------------------------------------
// Matmul and linear

describe('matmul and linear', () => {
  const cases: Array<[number[], number[]]> = [
    [[7, 13], [13, 17]], [[1, 31], [31, 1]], [[31, 1], [1, 31]], [[1, 17], [17, 13]], [[15, 16], [16, 17]], [[16, 16], [16, 16]],
    [[17, 15], [15, 33]], [[33, 64], [64, 7]], // multiple 16×16 tiles with ragged edges
    [[3, 7, 5], [3, 5, 13]], // batched
    [[2, 1, 3, 4], [5, 4, 2]], // batch dims broadcast both ways
    [[4, 5], [2, 3, 5, 6]], [[2, 3, 4, 5], [5, 6]], [[1, 4, 5], [3, 5, 2]], // one matrix reused across the batch
    [[5], [5]], [[5], [5, 3]], [[4, 5], [5]], [[5], [2, 5, 3]], [[2, 4, 5], [5]], [[1], [1, 1]], // 1-D operands
  ];
  for (const [sa, sb] of cases) {
    it(`${JSON.stringify(sa)} @ ${JSON.stringify(sb)}`, async () => {
      const g = new Generator(sa.length * 100 + sb[0]!);
      await expectParity(([a, b]) => matmul(a!, b!), [input(g, sa), input(g, sb)], DOT_TOL);
    });
  }

  it('random sizes around the 16×16 tile, with batch dims', () =>
    property(
      fc.record({
        m: fc.integer({ min: 1, max: 40 }),
        k: fc.integer({ min: 1, max: 40 }),
        n: fc.integer({ min: 1, max: 40 }),
        batchA: shapeArb(0, 2, 3),
        batchB: shapeArb(0, 2, 3),
        seed: seedArb,
      }),
      async ({ m, k, n, batchA, batchB, seed }) => {
        // Make the batch shapes broadcastable: where both have a dim, one of them is 1 or they agree.
        const lb = batchB.map((d, i) => {
          const a = batchA[batchA.length - batchB.length + i];
          return a === undefined || a === 1 || d === 1 ? d : a;
        });
        const g = new Generator(seed);
        await expectParity(([a, b]) => matmul(a!, b!), [input(g, [...batchA, m, k]), input(g, [...lb, k, n])], DOT_TOL, seed);
      },
      12,
    ));

  it('only one operand requires grad', async () => {
    const g = new Generator(9);
    const a = input(g, [3, 7, 5]), b = input(g, [5, 13]);
    await expectParity(([x, y]) => matmul(x!, y!), [a, { ...b, requiresGrad: false }], DOT_TOL);
    await expectParity(([x, y]) => matmul(x!, y!), [{ ...a, requiresGrad: false }, b], DOT_TOL);
  });

  const linearCases: Array<[number[], number[], boolean]> = [
    [[5, 7], [3, 7], true], [[5, 7], [3, 7], false], [[7], [13, 7], true], [[2, 3, 17], [16, 17], true], [[2, 3, 17], [16, 17], false],
    [[1, 31], [1, 31], true], [[33, 16], [17, 16], true], [[4, 1], [9, 1], true],
  ];
  for (const [sx, sw, bias] of linearCases) {
    it(`linear x${JSON.stringify(sx)} w${JSON.stringify(sw)} ${bias ? 'with' : 'without'} bias`, async () => {
      const g = new Generator(sx.length + sw[0]!);
      const inputs = [input(g, sx), input(g, sw), ...(bias ? [input(g, [sw[0]!])] : [])];
      await expectParity(([x, w, b]) => linear(x!, w!, b), inputs, DOT_TOL);
    });
  }
});

// ---------------------------------------------------------------------------
// Convolution and pooling

describe('conv2d and pooling', () => {
  interface ConvCase { x: number[]; w: number[]; bias: boolean; stride?: number | [number, number]; padding?: number | [number, number]; dilation?: number | [number, number] }
  const convCases: ConvCase[] = [
    { x: [1, 3, 8, 8], w: [4, 3, 3, 3], bias: true, padding: 1 },
    { x: [2, 5, 7, 9], w: [6, 5, 3, 3], bias: false },
    { x: [2, 3, 11, 10], w: [5, 3, 3, 3], bias: true, stride: 2, padding: 1 },
    { x: [1, 2, 10, 13], w: [3, 2, 3, 2], bias: true, stride: [3, 1], padding: [1, 0] },
    { x: [2, 2, 12, 11], w: [3, 2, 3, 3], bias: true, stride: 2, padding: 2, dilation: 2 },
    { x: [1, 2, 9, 10], w: [3, 2, 3, 2], bias: false, stride: [2, 1], padding: [1, 2], dilation: [1, 2] },
    { x: [2, 3, 5, 5], w: [4, 3, 5, 5], bias: true }, // kernel == input
    { x: [1, 1, 1, 1], w: [1, 1, 1, 1], bias: true },
    { x: [3, 1, 1, 7], w: [2, 1, 1, 3], bias: false, padding: [0, 1] },
    { x: [2, 17, 6, 6], w: [16, 17, 3, 3], bias: true, padding: 1 }, // long reduction over channels × taps
  ];
  for (const c of convCases) {
    it(`conv2d x${JSON.stringify(c.x)} w${JSON.stringify(c.w)} ${JSON.stringify({ bias: c.bias, s: c.stride, p: c.padding, d: c.dilation })}`, async () => {
      const g = new Generator(c.x[1]! * 31 + c.w[0]!);
      const inputs = [input(g, c.x), input(g, c.w), ...(c.bias ? [input(g, [c.w[0]!])] : [])];
      await expectParity(([x, w, b]) => conv2d(x!, w!, b, { stride: c.stride, padding: c.padding, dilation: c.dilation }), inputs, DOT_TOL);
    });
  }

  interface PoolCase { x: number[]; kernel: number | [number, number]; stride?: number | [number, number]; padding?: number | [number, number] }
  const poolCases: PoolCase[] = [
    { x: [2, 3, 8, 8], kernel: 2 },
    { x: [1, 2, 7, 9], kernel: 3, stride: 2, padding: 1 },
    { x: [1, 2, 5, 6], kernel: 3, stride: 1, padding: 1 },
    { x: [2, 2, 5, 7], kernel: [5, 7] },
    { x: [1, 3, 6, 11], kernel: [2, 3], stride: [1, 3], padding: 1 },
    { x: [1, 1, 1, 1], kernel: 1 },
    { x: [4, 1, 9, 10], kernel: 2, stride: 3 }, // stride > kernel: some inputs are in no window
    { x: [2, 4, 13, 12], kernel: 3, stride: 2, padding: 1 },
  ];
  for (const c of poolCases) {
    const o = { stride: c.stride, padding: c.padding };
    it(`pooling x${JSON.stringify(c.x)} kernel ${JSON.stringify(c.kernel)} ${JSON.stringify(o)}`, async () => {
      const g = new Generator(c.x[2]! * 13 + c.x[3]!);
      const x = input(g, c.x);
      await expectParity(([t]) => maxPool2d(t!, c.kernel, o), [x]);
      // Ties: the first maximum of a window must win on both backends.
      await expectParity(([t]) => maxPool2d(t!, c.kernel, o), [input(g, c.x, smallInts)]);
      for (const countIncludePad of [true, false]) await expectParity(([t]) => avgPool2d(t!, c.kernel, { ...o, countIncludePad }), [x]);
    });
  }
});

// ---------------------------------------------------------------------------
// Softmax, losses, normalisation, dropout

describe('softmax family and losses', () => {
  it('softmax and logSoftmax over each axis', () =>
    property(
      shapeArb(1, 4, 9).chain((shape) => fc.record({ shape: fc.constant(shape), axis: fc.integer({ min: -shape.length, max: shape.length - 1 }), seed: seedArb })),
      async ({ shape, axis, seed }) => {
        const x = input(new Generator(seed), shape);
        await expectParity(([t]) => softmax(t!, axis), [x], {}, seed);
        await expectParity(([t]) => logSoftmax(t!, axis), [x], {}, seed);
      },
      12,
    ));

  it('softmax and logSoftmax on long rows and large logits', async () => {
    const g = new Generator(11);
    const wide = input(g, [2, 1000], (r) => 30 * r.normal());
    await expectParity(([t]) => softmax(t!), [wide]);
    await expectParity(([t]) => logSoftmax(t!), [wide]);
    await expectParity(([t]) => logSoftmax(t!, 0), [input(g, [300, 3])]);
  });

  it('crossEntropy with reductions mean, sum and none', () =>
    property(
      fc.record({ n: fc.integer({ min: 1, max: 9 }), c: fc.integer({ min: 1, max: 20 }), seed: seedArb }),
      async ({ n, c, seed }) => {
        const g = new Generator(seed);
        const targets = Array.from({ length: n }, () => g.int(c));
        const logits = input(g, [n, c], (r) => 3 * r.normal());
        for (const reduction of ['mean', 'sum', 'none'] as const) {
          await expectParity(([t]) => crossEntropy(t!, targets, { reduction }), [logits], {}, seed);
        }
      },
      8,
    ));

  it('crossEntropy over many classes', async () => {
    const g = new Generator(12);
    await expectParity(([t]) => crossEntropy(t!, [0, 999, 500]), [input(g, [3, 1000])]);
  });
});

describe('batchNorm', () => {
  const cases: Array<[number[], boolean]> = [[[6, 5], true], [[6, 5], false], [[3, 4, 5, 7], true], [[3, 4, 5, 7], false], [[2, 3, 1, 1], true], [[1, 2, 9], true]];
  for (const [shape, affine] of cases) {
    const c = shape[1]!;
    it(`training ${JSON.stringify(shape)}${affine ? ' affine' : ''}: output, grads and running stats`, async () => {
      const g = new Generator(shape.length * 10 + c);
      const stats = new Map<string, Tensor[]>();
      const startMean = input(g, [c], normal, false).data!, startVar = input(g, [c], positive, false).data!;
      const inputs = [input(g, shape, (r) => 2 + 3 * r.normal()), ...(affine ? [input(g, [c], positive), input(g, [c])] : [])];
      await expectParity(([x, w, b]) => {
        const rm = tensor(startMean, [c]), rv = tensor(startVar, [c]);
        for (const t of stats.get(getBackend().name) ?? []) t.dispose();
        stats.set(getBackend().name, [rm, rv]);
        return batchNorm(x!, rm, rv, w ?? null, b ?? null, { training: true, momentum: 0.3 });
      }, inputs);
      const [cpu, gpu] = [stats.get('cpu')!, stats.get('webgpu')!];
      for (const k of [0, 1]) expectClose(await gpu[k]!.toFloat64Array(), await cpu[k]!.toFloat64Array(), {}, k ? 'running var' : 'running mean');
      for (const t of [...cpu, ...gpu]) t.dispose();
    });
    it(`evaluation ${JSON.stringify(shape)}${affine ? ' affine' : ''}`, async () => {
      const g = new Generator(shape.length * 10 + c + 1);
      const inputs = [input(g, shape), input(g, [c], normal, false), input(g, [c], positive, false), ...(affine ? [input(g, [c], positive), input(g, [c])] : [])];
      await expectParity(([x, rm, rv, w, b]) => batchNorm(x!, rm!, rv!, w ?? null, b ?? null), inputs);
    });
  }
});

describe('dropout', () => {
  it('the same Generator seed gives the same mask on both backends', async () => {
    for (const [k, [shape, p]] of ([[[7, 13], 0.5], [[1000], 0.3], [[2, 3, 17], 0.9], [[5], 0], [[4, 4], 1]] as const).entries()) {
      const x = input(new Generator(k), shape, awayFromZero);
      const cpu = await expectParity(([t]) => dropout(t!, p, true, new Generator(42 + k)), [x]);
      const zeros = cpu.out.filter((v) => v === 0).length;
      if (p === 0) expect(zeros).toBe(0);
      else if (p === 1) expect(zeros).toBe(cpu.out.length);
      else expect(zeros).toBeGreaterThan(0);
    }
  });

  it('survivors are scaled by exactly 1/(1−p) and the rest are zero, about a fraction p of them; the gradient is the same mask (each backend on its own)', async () => {
    for (const [k, [n, p]] of ([[4000, 0.3], [4000, 0.5], [2000, 0.9], [64, 0], [64, 1]] as const).entries()) {
      for (const backend of ['cpu', 'webgpu'] as const) {
        setBackend(backend);
        const data = Float32Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1) * (1 + (i % 7)));
        const x = tensor(data, [n], { requiresGrad: true });
        const y = dropout(x, p, true, new Generator(7 + k));
        y.sum().backward();
        const [out, grad] = [await y.toArray(), await x.grad!.toArray()];
        const scale = p === 1 ? 0 : 1 / (1 - p);
        let dropped = 0;
        for (let i = 0; i < n; i++) {
          const what = `${backend} p=${p} element ${i}: x ${data[i]}, y ${out[i]}, dy/dx ${grad[i]}`;
          if (out[i] === 0) {
            dropped++;
            if (grad[i] !== 0) expect.fail(`${what}: a dropped element passes gradient`);
          } else if (Math.abs(out[i]! - data[i]! * scale) > 1e-6 * Math.abs(data[i]! * scale) || Math.abs(grad[i]! - scale) > 1e-6 * scale) {
            expect.fail(`${what}: a survivor must be x/(1−p) = ${data[i]! * scale} with gradient ${scale}`);
          }
        }
        if (p === 0 || p === 1) expect(dropped, `${backend} p=${p}`).toBe(p * n);
        // Binomial(n, p) dropped elements: within 5 standard deviations.
        else expect(Math.abs(dropped / n - p), `${backend} p=${p}: fraction dropped ${dropped / n}`).toBeLessThanOrEqual(5 * Math.sqrt((p * (1 - p)) / n));
        for (const t of [x, y]) t.dispose();
      }
    }
  });

  it('evaluation mode is the identity', async () => {
    await expectParity(([t]) => dropout(t!, 0.5, false, new Generator(1)), [input(new Generator(2), [3, 5])]);
  });
});

// ---------------------------------------------------------------------------
// Special values and empty tensors (forward; the CPU reference defines the semantics)

describe('special values', () => {
  // No value whose result overflows float32 but not float64 (e.g. exp(100)): the reference is float64.
  const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 2, -2.5, 0.5, 3];
  const col = { shape: [SPECIAL.length, 1], data: Float32Array.from(SPECIAL), requiresGrad: false };
  const row = { ...col, shape: [1, SPECIAL.length] };

  const unaryOps = { neg, exp, log, sqrt, abs, relu, sigmoid, tanh, sign, reciprocal };
  for (const [name, fn] of Object.entries(unaryOps)) {
    it(`${name} on NaN, ±inf, ±0`, async () => {
      await expectParity(([x]) => fn(x!), [row]);
    });
  }

  const binaryOps = { add, sub, mul, div, pow, maximum, minimum, eq, ne, lt, le, gt, ge };
  for (const [name, op] of Object.entries(binaryOps)) {
    it(`${name} on every pair of special values`, async () => {
      await expectParity(([a, b]) => op(a!, b!), [col, row]);
    });
  }

  it('where with special values in the condition and branches', async () => {
    await expectParity(([c, a, b]) => where(c!, a!, b!), [col, row, { ...row, data: row.data.slice().reverse() }]);
  });

  it('reductions with NaN and inf, on both reduction paths; argmax takes the first NaN', async () => {
    for (const length of [9, 300]) {
      const data = Float32Array.from({ length: 4 * length }, (_, i) => (i % 13) - 6);
      data[3] = NaN; // row 0: NaNs at 3 and near the end
      data[length - 2] = NaN;
      data[length + (70 % length)] = NaN; // row 1: NaNs at 70 and 1; the tree meets them out of index order
      data[length + 1] = NaN;
      data[2 * length + 5] = Infinity; // row 2: ±inf
      data[2 * length + 1] = -Infinity;
      data[3 * length + length - 1] = -Infinity; // row 3: -inf at the end
      const x = { shape: [4, length], data, requiresGrad: false };
      for (const op of [sum, max, min]) await expectParity(([t]) => op(t!, 1), [x]);
      await expectParity(([t]) => argmax(t!, 1), [x]);
    }
  });
});

describe('empty tensors', () => {
  const cases: Array<[string, number[][], (xs: Tensor[]) => Tensor]> = [
    ['exp', [[0, 3]], ([x]) => exp(x!)],
    ['broadcast add', [[0, 3], [3]], ([x, y]) => add(x!, y!)],
    ['sum over an empty axis', [[2, 0]], ([x]) => sum(x!, 1)],
    ['concat with an empty piece', [[2, 0], [2, 3]], (xs) => concat(xs, 1)],
    ['matmul with k = 0', [[2, 0], [0, 3]], ([a, b]) => matmul(a!, b!)],
    ['matmul with m = 0', [[0, 4], [4, 3]], ([a, b]) => matmul(a!, b!)],
    ['empty slice', [[3, 4]], ([x]) => slice(x!, [1, 2], [1, 4])],
    ['softmax of no rows', [[0, 4]], ([x]) => softmax(x!)],
    ['linear with no input features (the bias)', [[2, 3, 0], [5, 0], [5]], ([x, w, b]) => linear(x!, w!, b)],
    ['conv2d with no input channels (the bias)', [[2, 0, 5, 5], [3, 0, 3, 3], [3]], ([x, w, b]) => conv2d(x!, w!, b, { padding: 1 })],
    ['conv2d of an empty batch (the weight gradient sums over nothing)', [[0, 3, 5, 5], [2, 3, 3, 3], [2]], ([x, w, b]) => conv2d(x!, w!, b)],
  ];
  for (const [name, shapes, build] of cases) {
    it(name, async () => {
      const g = new Generator(name.length);
      await expectParity(build, shapes.map((s) => input(g, s)));
    });
  }
});

// ---------------------------------------------------------------------------
// Autograd plumbing

describe('gradient accumulation', () => {
  // Each subexpression feeds two consumers, so gradients from both paths must be summed.
  const chains: Array<[string, (xs: Tensor[]) => Tensor, number[][], Tolerance?]> = [
    ['x·x + exp(x), summed', ([x]) => x!.mul(x!).add(x!.exp()).sum(), [[3, 5]]],
    ['shared broadcast operand', ([x, b]) => x!.add(b!).mul(b!).relu().mean([0]), [[4, 6], [6]]],
    ['softmax(x) · x', ([x]) => softmax(x!, -1).mul(x!).sum(-1), [[5, 7]]],
    ['(a@b) reused with a residual', ([a, b]) => { const y = matmul(a!, b!); return y.add(y.tanh()).mul(y).sum(0); }, [[6, 9], [9, 5]], DOT_TOL],
    ['diamond through transpose and reshape', ([x]) => { const h = x!.sigmoid(); return transpose(h, 0, 1).mul(h).reshape([-1]).add(h.reshape([-1])); }, [[4, 4]]],
  ];
  for (const [name, build, shapes, tol] of chains) {
    it(name, async () => {
      const g = new Generator(name.length);
      await expectParity(build, shapes.map((s) => input(g, s)), tol);
    });
  }

  it('a graph longer than the dispatch budget (automatic submits mid-forward and mid-backward)', async () => {
    // 3 dispatches per step forward and more backward: well past the runtime's 256-dispatch budget.
    // x and w feed every step, so their gradients accumulate 200 contributions; tanh keeps h bounded.
    const build = ([x, w]: Tensor[]) => {
      let h = x!;
      for (let i = 0; i < 200; i++) h = h.mul(w!).add(x!).tanh();
      return h;
    };
    const g = new Generator(21);
    await expectParity(build, [input(g, [3, 5]), input(g, [5], (r) => 0.5 * r.normal())]);
  });

  it('two backward calls add into .grad (leaf grad = sum of both)', async () => {
    const data = input(new Generator(13), [4, 5]).data!;
    const twoBackwards = async (backend: 'cpu' | 'webgpu') => {
      setBackend(backend);
      const x = tensor(data, [4, 5], { requiresGrad: true });
      x.mul(x).sum().backward(); // adds 2x
      x.exp().sum().backward(); // adds exp(x)
      const grad = await x.grad!.toFloat64Array();
      x.dispose();
      return grad;
    };
    const cpu = await twoBackwards('cpu');
    expectClose(cpu, Float64Array.from(data, (v) => 2 * v + Math.exp(v)), { rtol: 1e-12, atol: 1e-12 }, 'cpu vs closed form');
    expectClose(await twoBackwards('webgpu'), cpu, {}, 'webgpu vs cpu');
  });
});
