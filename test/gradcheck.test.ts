/**
 * Every differentiable op's autograd gradient against central finite differences,
 * on the float64 CPU backend. Inputs stay away from kinks (abs, relu, reciprocal
 * at 0) and from ties (max/min, maxPool2d, maximum/minimum), where the derivative
 * is undefined.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  abs, add, addcmul, avgPool2d, batchNorm, concat, conv2d, crossEntropy, div, exp, expand, flatten, init, linear, log, logSoftmax, matmul,
  max, maximum, maxPool2d, mean, min, minimum, mul, narrow, neg, permute, pow, reciprocal, relu, reshape, shutdown, sigmoid, sign,
  slice, softmax, sqrt, squeeze, sub, sum, tanh, type Tensor, tensor, transpose, unsqueeze, where,
} from '../index.js';
import { recordGrad } from '../engine/tensor.js';
import { Data, gradcheck, type GradInput } from './helpers/gradcheck.js';

type Case = [name: string, fn: (xs: Tensor[]) => Tensor, inputs: GradInput[]];

const d = new Data(42);
const n = (...shape: number[]) => d.normal(shape);
const pos = (...shape: number[]) => d.uniform(shape, 0.5, 2);
const nz = (...shape: number[]) => d.awayFromZero(shape);
const distinct = (...shape: number[]) => d.distinct(shape);
const mask = (shape: number[], data: number[]) => tensor(data, shape);

const unary: Case[] = [
  ['neg', ([x]) => neg(x!), [n(2, 3)]],
  ['exp', ([x]) => exp(x!), [n(2, 3)]],
  ['log', ([x]) => log(x!), [pos(2, 3)]],
  ['sqrt', ([x]) => sqrt(x!), [pos(2, 3)]],
  ['abs', ([x]) => abs(x!), [nz(2, 3)]],
  ['relu', ([x]) => relu(x!), [nz(2, 3)]],
  ['sigmoid', ([x]) => sigmoid(x!), [n(2, 3)]],
  ['tanh', ([x]) => tanh(x!), [n(2, 3)]],
  ['reciprocal', ([x]) => reciprocal(x!), [nz(2, 3)]],
  // sign is piecewise constant: it must contribute a zero gradient.
  ['sign (zero gradient)', ([x]) => add(x!, sign(x!)), [nz(2, 3)]],
];

// Both operands require grad; shapes broadcast ([2,3,4] with [3,1] and [4]).
const binary: Case[] = [
  ['add', ([a, b]) => add(a!, b!), [n(2, 3, 4), n(3, 1)]],
  ['sub', ([a, b]) => sub(a!, b!), [n(3, 1), n(2, 3, 4)]],
  ['mul', ([a, b]) => mul(a!, b!), [n(2, 3, 4), n(4)]],
  ['div', ([a, b]) => div(a!, b!), [n(2, 3, 4), nz(3, 1)]],
  ['pow', ([a, b]) => pow(a!, b!), [pos(2, 3, 4), n(4)]],
  ['maximum', ([a, b]) => maximum(a!, b!), [distinct(2, 3, 4), d.distinct([3, 1], 0.1, 0.03)]],
  ['minimum', ([a, b]) => minimum(a!, b!), [d.distinct([3, 1], 0.1, 0.03), distinct(2, 3, 4)]],
  ['scalar operands', ([x]) => add(sub(2, x!), add(mul(pow(x!, 3), 0.5), div(1.5, x!))), [nz(2, 3)]],
  ['pow with a scalar base', ([x]) => pow(2, x!), [n(2, 3)]],
  ['where (broadcast cond, a and b)', ([a, b]) => where(mask([2, 1, 4], [1, 0, 0, 1, 0, 1, 1, 0]), a!, b!), [n(3, 4), n(2, 3, 1)]],
  ['addcmul (broadcast input, t1 and t2; value 0.5)', ([i, a, b]) => addcmul(i!, a!, b!, 0.5), [n(3, 1), n(2, 3, 4), n(4)]],
  ['addcmul with a number as input', ([a, b]) => addcmul(1.5, a!, b!), [n(2, 1, 3), n(4, 1)]],
  ['where with a scalar branch', ([a]) => where(mask([3], [0, 1, 0]), a!, 0.5), [n(2, 3)]],
];

const reductions: Case[] = [
  ['sum all', ([x]) => sum(x!), [n(2, 3, 4)]],
  ['sum axis 1', ([x]) => sum(x!, 1), [n(2, 3, 4)]],
  ['sum axes [0, 2] keepDim', ([x]) => sum(x!, [0, 2], true), [n(2, 3, 4)]],
  ['mean all', ([x]) => mean(x!), [n(2, 3, 4)]],
  ['mean axis -1', ([x]) => mean(x!, -1), [n(2, 3, 4)]],
  ['mean axes [0, 1] keepDim', ([x]) => mean(x!, [0, 1], true), [n(2, 3, 4)]],
  ['max all', ([x]) => max(x!), [distinct(2, 3, 4)]],
  ['max axis 0', ([x]) => max(x!, 0), [distinct(2, 3, 4)]],
  ['max axes [1, 2] keepDim', ([x]) => max(x!, [1, 2], true), [distinct(2, 3, 4)]],
  ['min all', ([x]) => min(x!), [distinct(2, 3, 4)]],
  ['min axis -1', ([x]) => min(x!, -1), [distinct(2, 3, 4)]],
  ['min axes [0, 2]', ([x]) => min(x!, [0, 2]), [distinct(2, 3, 4)]],
];

const shapes: Case[] = [
  ['reshape', ([x]) => reshape(x!, [4, -1]), [n(2, 3, 4)]],
  ['flatten', ([x]) => flatten(x!, 1), [n(2, 3, 4)]],
  ['permute', ([x]) => permute(x!, [2, 0, 1]), [n(2, 3, 4)]],
  ['transpose', ([x]) => transpose(x!, 0, 2), [n(2, 3, 4)]],
  ['expand', ([x]) => expand(x!, [2, 3, 4]), [n(3, 1)]],
  ['slice', ([x]) => slice(x!, [0, 1, 1], [2, 3, 3]), [n(2, 3, 4)]],
  ['narrow', ([x]) => narrow(x!, 2, 1, 2), [n(2, 3, 4)]],
  ['concat', ([a, b, c]) => concat([a!, b!, c!], 1), [n(2, 1, 3), n(2, 2, 3), n(2, 3, 3)]],
  ['squeeze', ([x]) => squeeze(x!, 1), [n(2, 1, 3)]],
  ['squeeze all', ([x]) => squeeze(x!), [n(1, 3, 1)]],
  ['unsqueeze', ([x]) => unsqueeze(x!, -1), [n(2, 3)]],
  // Non-linear use of a slice, so a wrong scatter offset cannot cancel out.
  ['slice of a product', ([x]) => mul(slice(x!, [1, 0], [3, 2]), narrow(x!, 0, 0, 2)), [n(3, 2)]],
];

const linearAlgebra: Case[] = [
  ['matmul 2-D', ([a, b]) => matmul(a!, b!), [n(3, 4), n(4, 2)]],
  ['matmul batched', ([a, b]) => matmul(a!, b!), [n(2, 3, 4), n(2, 4, 2)]],
  ['matmul broadcast batch', ([a, b]) => matmul(a!, b!), [n(2, 1, 2, 3), n(3, 3, 2)]],
  ['matmul matrix @ batched', ([a, b]) => matmul(a!, b!), [n(2, 3), n(2, 3, 2)]],
  ['matmul 1-D @ 2-D', ([a, b]) => matmul(a!, b!), [n(3), n(3, 4)]],
  ['matmul 2-D @ 1-D', ([a, b]) => matmul(a!, b!), [n(2, 3), n(3)]],
  ['matmul 1-D @ batched', ([a, b]) => matmul(a!, b!), [n(3), n(2, 3, 2)]],
  ['linear with bias', ([x, w, b]) => linear(x!, w!, b!), [n(3, 4), n(2, 4), n(2)]],
  ['linear without bias', ([x, w]) => linear(x!, w!), [n(3, 4), n(2, 4)]],
  ['linear on a 3-D input', ([x, w, b]) => linear(x!, w!, b!), [n(2, 2, 3), n(4, 3), n(4)]],
];

const conv: Case[] = [
  ['conv2d', ([x, w, b]) => conv2d(x!, w!, b!), [n(2, 2, 4, 4), n(3, 2, 3, 3), n(3)]],
  ['conv2d stride 2 padding 1', ([x, w, b]) => conv2d(x!, w!, b!, { stride: 2, padding: 1 }), [n(1, 2, 5, 5), n(2, 2, 3, 3), n(2)]],
  ['conv2d dilation 2', ([x, w]) => conv2d(x!, w!, null, { dilation: 2, padding: 1 }), [n(1, 2, 5, 5), n(2, 2, 2, 2)]],
  [
    'conv2d non-square stride/padding/dilation',
    ([x, w, b]) => conv2d(x!, w!, b!, { stride: [2, 1], padding: [1, 0], dilation: [1, 2] }),
    [n(1, 2, 5, 6), n(2, 2, 2, 3), n(2)],
  ],
  ['maxPool2d', ([x]) => maxPool2d(x!, 2), [distinct(2, 2, 4, 4)]],
  ['maxPool2d 3x3 stride 2 padding 1', ([x]) => maxPool2d(x!, 3, { stride: 2, padding: 1 }), [distinct(1, 2, 5, 5)]],
  ['avgPool2d', ([x]) => avgPool2d(x!, 2), [n(2, 2, 4, 4)]],
  ['avgPool2d padding, countIncludePad', ([x]) => avgPool2d(x!, 3, { stride: 2, padding: 1, countIncludePad: true }), [n(1, 2, 5, 5)]],
  ['avgPool2d padding, exclude pad', ([x]) => avgPool2d(x!, 3, { stride: 2, padding: 1, countIncludePad: false }), [n(1, 2, 5, 5)]],
  ['avgPool2d 2x3 stride [2, 1] exclude pad', ([x]) => avgPool2d(x!, [2, 3], { stride: [2, 1], padding: 1, countIncludePad: false }), [n(1, 1, 5, 4)]],
];

const targets = [2, 0, 3];
const bnRunning = () => [tensor([0.1, -0.2, 0.3], [3]), tensor([0.8, 1.2, 0.5], [3])] as const;

const losses: Case[] = [
  ['softmax last axis', ([x]) => softmax(x!), [n(3, 5)]],
  ['softmax axis 1 of 3-D', ([x]) => softmax(x!, 1), [n(2, 3, 4)]],
  ['logSoftmax last axis', ([x]) => logSoftmax(x!), [n(3, 5)]],
  ['logSoftmax axis 0', ([x]) => logSoftmax(x!, 0), [n(3, 4)]],
  ['crossEntropy mean', ([x]) => crossEntropy(x!, targets), [n(3, 4)]],
  ['crossEntropy sum', ([x]) => crossEntropy(x!, targets, { reduction: 'sum' }), [n(3, 4)]],
  ['crossEntropy none', ([x]) => crossEntropy(x!, targets, { reduction: 'none' }), [n(3, 4)]],
  ['batchNorm train 4-D', ([x, w, b]) => batchNorm(x!, ...bnRunning(), w!, b!, { training: true }), [n(2, 3, 2, 2), n(3), n(3)]],
  ['batchNorm train 2-D, no running stats', ([x, w, b]) => batchNorm(x!, null, null, w!, b!, { training: true }), [n(4, 3), n(3), n(3)]],
  ['batchNorm train, no affine', ([x]) => batchNorm(x!, null, null, null, null, { training: true, eps: 1e-3 }), [n(4, 3)]],
  ['batchNorm eval', ([x, w, b]) => batchNorm(x!, ...bnRunning(), w!, b!), [n(2, 3, 2, 2), n(3), n(3)]],
];

const composites: Case[] = [
  [
    '2-layer MLP + crossEntropy',
    ([x, w1, b1, w2, b2]) => crossEntropy(linear(relu(linear(x!, w1!, b1!)), w2!, b2!), [1, 0, 2, 1]),
    [n(4, 5), n(6, 5), n(6), n(3, 6), n(3)],
  ],
  [
    'conv → relu → maxPool2d → linear + crossEntropy',
    ([x, w, b, lw, lb]) => {
      const h = maxPool2d(relu(conv2d(x!, w!, b!, { padding: 1 })), 2);
      return crossEntropy(linear(flatten(h, 1), lw!, lb!), [2, 0]);
    },
    [n(2, 1, 4, 4), n(2, 1, 3, 3), n(2), n(3, 8), n(3)],
  ],
];

beforeAll(async () => {
  await init({ backend: 'cpu' });
});
afterAll(shutdown);

describe('gradcheck (float64 central differences)', () => {
  const groups = { unary, binary, reductions, shapes, linearAlgebra, conv, losses, composites };
  for (const [group, cases] of Object.entries(groups)) {
    describe(group, () => {
      it.each(cases)('%s', (_name, fn, inputs) => gradcheck(fn, inputs));
    });
  }

  // torch.matmul of two vectors is their 0-d dot product (this once threw: a double squeeze).
  it('linearAlgebra › matmul 1-D @ 1-D (dot product)', async () => {
    const y = matmul(tensor([1, 2, 3]), tensor([4, 5, 6]));
    expect(y.shape).toEqual([]);
    expect(await y.item()).toBe(32);
    await gradcheck(([a, b]) => matmul(a!, b!), [n(4), n(4)]);
  });

  it('rejects a wrong backward rule (the checker itself works)', async () => {
    const double = ([x]: Tensor[]) => recordGrad(x!.detach(), 'wrong', [x!], (g) => [mul(g, 2)]);
    await expect(gradcheck(double, [n(3)])).rejects.toThrow(/finite difference/);
  });
});
