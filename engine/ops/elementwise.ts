/** Elementwise ops with broadcasting; each forward sits next to its local chain rule. */
import type { Activation, BinaryOp, UnaryOp } from '../backend.js';
import { broadcastShapes, broadcastStrides } from '../shape.js';
import { commonBackend, makeResult, Tensor } from '../tensor.js';
import { scalar } from './creation.js';
import { sumToShape } from './reduce.js';

export type Operand = Tensor | number;

function unaryRaw(op: UnaryOp, x: Tensor): Tensor {
  const backend = x.backend;
  return makeResult(op, backend, backend.unary(op, x.storageFor(op)), x.shape, []);
}

function unary(op: UnaryOp, x: Tensor, grad?: (g: Tensor, y: Tensor) => Tensor): Tensor {
  const backend = commonBackend(op, [x]);
  const y: Tensor = makeResult(op, backend, backend.unary(op, x.storageFor(op)), x.shape, [x], grad && ((g) => [grad(g, y)]));
  return y;
}

export const neg = (x: Tensor): Tensor => unary('neg', x, (g) => neg(g));
export const exp = (x: Tensor) => unary('exp', x, (g, y) => mul(g, y));
export const log = (x: Tensor) => unary('log', x, (g) => div(g, x));
export const sqrt = (x: Tensor) => unary('sqrt', x, (g, y) => div(g, mul(y, 2)));
export const abs = (x: Tensor) => unary('abs', x, (g) => mul(g, unaryRaw('sign', x)));
export const relu = (x: Tensor) => unary('relu', x, (g) => mul(g, unaryRaw('step', x)));
/**
 * The chain rule of a ReLU fused into the op that produced `y` (conv2d, linear): the gradient
 * reaching the op's pre-activation is g · step(y), since y > 0 exactly where its input was.
 */
export const reluGradFromOutput = (g: Tensor, y: Tensor): Tensor => mul(g, unaryRaw('step', y));

/** A fused activation option, checked (null when absent). */
export function checkActivation(op: string, a: Activation | null | undefined): Activation | null {
  if (a === undefined || a === null) return null;
  if (a !== 'relu') throw new Error(`${op}: unknown activation ${JSON.stringify(a)} (supported: 'relu')`);
  return a;
}
export const sigmoid = (x: Tensor) => unary('sigmoid', x, (g, y) => mul(g, mul(y, sub(1, y))));
export const tanh = (x: Tensor) => unary('tanh', x, (g, y) => mul(g, sub(1, mul(y, y))));
export const reciprocal = (x: Tensor) => unary('recip', x, (g, y) => neg(mul(g, mul(y, y))));
/** Sign of each element (-1, 0, 1); gradient is zero, so none flows. */
export const sign = (x: Tensor) => unary('sign', x);

function toTensor(x: Operand, like: Tensor): Tensor {
  return typeof x === 'number' ? scalar(x, like.backend) : x;
}

function operands(op: string, a: Operand, b: Operand): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') throw new Error(`${op}: at least one operand must be a tensor`);
  commonBackend(op, [a, b].filter((x): x is Tensor => typeof x !== 'number'));
  const ta = typeof a === 'number' ? toTensor(a, b as Tensor) : a;
  const tb = typeof b === 'number' ? toTensor(b, ta) : b;
  return [ta, tb];
}

function binary(op: BinaryOp, a: Operand, b: Operand, grad?: (g: Tensor, a: Tensor, b: Tensor, y: Tensor) => [Tensor | null, Tensor | null]): Tensor {
  const [ta, tb] = operands(op, a, b);
  const backend = commonBackend(op, [ta, tb]);
  const shape = broadcastShapes(op, ta.shape, tb.shape);
  const storage = backend.binary(
    op, ta.storageFor(op), { offset: 0, strides: broadcastStrides(ta.shape, shape) },
    tb.storageFor(op), { offset: 0, strides: broadcastStrides(tb.shape, shape) }, shape,
  );
  const y: Tensor = makeResult(op, backend, storage, shape, [ta, tb], grad && ((g) => {
    const [ga, gb] = grad(g, ta, tb, y);
    return [ga && ta.requiresGrad ? sumToShape(ga, ta.shape) : null, gb && tb.requiresGrad ? sumToShape(gb, tb.shape) : null];
  }));
  return y;
}

export const add = (a: Operand, b: Operand): Tensor => binary('add', a, b, (g) => [g, g]);
export const sub = (a: Operand, b: Operand): Tensor => binary('sub', a, b, (g) => [g, neg(g)]);
export const mul = (a: Operand, b: Operand): Tensor => binary('mul', a, b, (g, x, y) => [mul(g, y), mul(g, x)]);
export const div = (a: Operand, b: Operand): Tensor =>
  binary('div', a, b, (g, x, y, out) => [div(g, y), y.requiresGrad ? neg(div(mul(g, out), y)) : null]);
export const pow = (a: Operand, b: Operand): Tensor =>
  binary('pow', a, b, (g, x, y, out) => [
    x.requiresGrad ? mul(g, mul(y, pow(x, sub(y, 1)))) : null,
    y.requiresGrad ? mul(g, mul(out, log(x))) : null,
  ]);
/** Elementwise maximum; on ties the gradient is split evenly (as torch.maximum). */
export const maximum = (a: Operand, b: Operand): Tensor => binary('max', a, b, (g, x, y) => splitGrad(g, x, y, 'gt'));
export const minimum = (a: Operand, b: Operand): Tensor => binary('min', a, b, (g, x, y) => splitGrad(g, x, y, 'lt'));

function splitGrad(g: Tensor, x: Tensor, y: Tensor, wins: 'gt' | 'lt'): [Tensor, Tensor] {
  const xWins = add(compare(wins, x, y), mul(compare('eq', x, y), 0.5));
  return [mul(g, xWins), mul(g, sub(1, xWins))];
}

export type CompareOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';
/** 1.0 where the comparison holds, else 0.0 (not differentiable). */
export const compare = (op: CompareOp, a: Operand, b: Operand): Tensor => binary(op, a, b);
export const eq = (a: Operand, b: Operand) => compare('eq', a, b);
export const ne = (a: Operand, b: Operand) => compare('ne', a, b);
export const lt = (a: Operand, b: Operand) => compare('lt', a, b);
export const le = (a: Operand, b: Operand) => compare('le', a, b);
export const gt = (a: Operand, b: Operand) => compare('gt', a, b);
export const ge = (a: Operand, b: Operand) => compare('ge', a, b);

/**
 * input + value · t1 · t2 in one pass, with broadcasting over all three (torch.addcmul).
 * A number as `input` is broadcast like a scalar tensor.
 */
export function addcmul(input: Operand, t1: Tensor, t2: Tensor, value = 1): Tensor {
  const ti = toTensor(input, t1);
  const backend = commonBackend('addcmul', [ti, t1, t2]);
  const shape = broadcastShapes('addcmul', broadcastShapes('addcmul', ti.shape, t1.shape), t2.shape);
  const view = (t: Tensor) => ({ offset: 0, strides: broadcastStrides(t.shape, shape) });
  const storage = backend.addcmul(ti.storageFor('addcmul'), view(ti), t1.storageFor('addcmul'), view(t1), t2.storageFor('addcmul'), view(t2), value, shape);
  return makeResult('addcmul', backend, storage, shape, [ti, t1, t2], (g) => [
    ti.requiresGrad ? sumToShape(g, ti.shape) : null,
    t1.requiresGrad ? sumToShape(mul(g, value === 1 ? t2 : mul(t2, value)), t1.shape) : null,
    t2.requiresGrad ? sumToShape(mul(g, value === 1 ? t1 : mul(t1, value)), t2.shape) : null,
  ]);
}

/** Picks `a` where `cond` is non-zero, else `b`, with broadcasting over all three. */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  const [ta, tb] = operands('where', a, b);
  const backend = commonBackend('where', [cond, ta, tb]);
  const shape = broadcastShapes('where', broadcastShapes('where', cond.shape, ta.shape), tb.shape);
  const view = (t: Tensor) => ({ offset: 0, strides: broadcastStrides(t.shape, shape) });
  const storage = backend.where(cond.storageFor('where'), view(cond), ta.storageFor('where'), view(ta), tb.storageFor('where'), view(tb), shape);
  return makeResult('where', backend, storage, shape, [cond, ta, tb], (g) => [
    null,
    ta.requiresGrad ? sumToShape(where(cond, g, 0), ta.shape) : null,
    tb.requiresGrad ? sumToShape(where(cond, 0, g), tb.shape) : null,
  ]);
}
