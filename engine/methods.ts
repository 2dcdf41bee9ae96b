/**
 * Chainable methods (`x.add(y).relu().sum()`), attached to Tensor's prototype so
 * tensor.ts need not import every op. Each method forwards to the op function.
 */
import { Tensor } from './tensor.js';
import * as ew from './ops/elementwise.js';
import * as red from './ops/reduce.js';
import * as sh from './ops/shape.js';
import { matmul } from './ops/matmul.js';
import { logSoftmax, softmax } from './ops/softmax.js';
import type { Shape } from './shape.js';

declare module './tensor.js' {
  interface Tensor {
    add(b: ew.Operand): Tensor;
    sub(b: ew.Operand): Tensor;
    mul(b: ew.Operand): Tensor;
    div(b: ew.Operand): Tensor;
    pow(b: ew.Operand): Tensor;
    maximum(b: ew.Operand): Tensor;
    minimum(b: ew.Operand): Tensor;
    /** this + value · t1 · t2 (torch.Tensor.addcmul). */
    addcmul(t1: Tensor, t2: Tensor, value?: number): Tensor;
    eq(b: ew.Operand): Tensor;
    ne(b: ew.Operand): Tensor;
    lt(b: ew.Operand): Tensor;
    le(b: ew.Operand): Tensor;
    gt(b: ew.Operand): Tensor;
    ge(b: ew.Operand): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    abs(): Tensor;
    relu(): Tensor;
    sigmoid(): Tensor;
    tanh(): Tensor;
    sign(): Tensor;
    reciprocal(): Tensor;
    sum(axes?: red.Axes, keepDim?: boolean): Tensor;
    mean(axes?: red.Axes, keepDim?: boolean): Tensor;
    max(axes?: red.Axes, keepDim?: boolean): Tensor;
    min(axes?: red.Axes, keepDim?: boolean): Tensor;
    argmax(axis?: number, keepDim?: boolean): Tensor;
    reshape(shape: Shape): Tensor;
    flatten(startDim?: number): Tensor;
    squeeze(dim?: number): Tensor;
    unsqueeze(dim: number): Tensor;
    permute(dims: readonly number[]): Tensor;
    transpose(dim0?: number, dim1?: number): Tensor;
    expand(shape: Shape): Tensor;
    slice(starts: readonly number[], ends: readonly number[]): Tensor;
    narrow(dim: number, start: number, length: number): Tensor;
    matmul(b: Tensor): Tensor;
    softmax(axis?: number): Tensor;
    logSoftmax(axis?: number): Tensor;
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const methods: Record<string, (this: Tensor, ...args: any[]) => Tensor> = {
  add(b: ew.Operand) { return ew.add(this, b); },
  sub(b: ew.Operand) { return ew.sub(this, b); },
  mul(b: ew.Operand) { return ew.mul(this, b); },
  div(b: ew.Operand) { return ew.div(this, b); },
  pow(b: ew.Operand) { return ew.pow(this, b); },
  maximum(b: ew.Operand) { return ew.maximum(this, b); },
  minimum(b: ew.Operand) { return ew.minimum(this, b); },
  addcmul(t1: Tensor, t2: Tensor, value?: number) { return ew.addcmul(this, t1, t2, value); },
  eq(b: ew.Operand) { return ew.eq(this, b); },
  ne(b: ew.Operand) { return ew.ne(this, b); },
  lt(b: ew.Operand) { return ew.lt(this, b); },
  le(b: ew.Operand) { return ew.le(this, b); },
  gt(b: ew.Operand) { return ew.gt(this, b); },
  ge(b: ew.Operand) { return ew.ge(this, b); },
  neg() { return ew.neg(this); },
  exp() { return ew.exp(this); },
  log() { return ew.log(this); },
  sqrt() { return ew.sqrt(this); },
  abs() { return ew.abs(this); },
  relu() { return ew.relu(this); },
  sigmoid() { return ew.sigmoid(this); },
  tanh() { return ew.tanh(this); },
  sign() { return ew.sign(this); },
  reciprocal() { return ew.reciprocal(this); },
  sum(axes?: red.Axes, keepDim?: boolean) { return red.sum(this, axes, keepDim); },
  mean(axes?: red.Axes, keepDim?: boolean) { return red.mean(this, axes, keepDim); },
  max(axes?: red.Axes, keepDim?: boolean) { return red.max(this, axes, keepDim); },
  min(axes?: red.Axes, keepDim?: boolean) { return red.min(this, axes, keepDim); },
  argmax(axis?: number, keepDim?: boolean) { return red.argmax(this, axis, keepDim); },
  reshape(shape: Shape) { return sh.reshape(this, shape); },
  flatten(startDim?: number) { return sh.flatten(this, startDim); },
  squeeze(dim?: number) { return sh.squeeze(this, dim); },
  unsqueeze(dim: number) { return sh.unsqueeze(this, dim); },
  permute(dims: readonly number[]) { return sh.permute(this, dims); },
  transpose(dim0?: number, dim1?: number) { return sh.transpose(this, dim0, dim1); },
  expand(shape: Shape) { return sh.expand(this, shape); },
  slice(starts: readonly number[], ends: readonly number[]) { return sh.slice(this, starts, ends); },
  narrow(dim: number, start: number, length: number) { return sh.narrow(this, dim, start, length); },
  matmul(b: Tensor) { return matmul(this, b); },
  softmax(axis?: number) { return softmax(this, axis); },
  logSoftmax(axis?: number) { return logSoftmax(this, axis); },
};

Object.assign(Tensor.prototype, methods);
