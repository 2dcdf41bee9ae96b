/** Elementwise kernels: unary maps, broadcasting binary ops, `where` and `addcmul`. */
import type { BinaryOp, StridedView, UnaryOp } from '../engine/backend.js';
import type { GpuRuntime, GpuStorage } from '../engine/webgpu/runtime.js';
import { f32Bits, perElementMain, type Program } from './program.js';
import { type StridedLaunch, stridedIndexWgsl, stridedLaunch, viewAt } from './strided-index.js';

const WG = 256;

const unaryWgsl: Record<UnaryOp, string> = {
  neg: '-x',
  exp: 'exp(x)',
  log: 'log(x)',
  sqrt: 'sqrt(x)',
  abs: 'abs(x)',
  relu: 'max(x, 0.0)',
  // Written to stay finite for large |x| (exp overflow would give inf/inf).
  sigmoid: 'select(exp(x) / (1.0 + exp(x)), 1.0 / (1.0 + exp(-x)), x >= 0.0)',
  // Clamped (tanh(±15) is ±1 in f32) to avoid inf/inf inside tanh; clamp would turn NaN into a number.
  tanh: 'select(tanh(clamp(x, -15.0, 15.0)), x, x != x)',
  sign: 'sign(x)',
  step: 'select(0.0, 1.0, x > 0.0)',
  recip: '1.0 / x',
};

const binaryWgsl: Record<BinaryOp, string> = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b',
  pow: 'powReal(a, b)',
  max: 'select(max(a, b), a + b, isNan(a) || isNan(b))',
  min: 'select(min(a, b), a + b, isNan(a) || isNan(b))',
  eq: 'select(0.0, 1.0, a == b)',
  ne: 'select(0.0, 1.0, a != b)',
  lt: 'select(0.0, 1.0, a < b)',
  le: 'select(0.0, 1.0, a <= b)',
  gt: 'select(0.0, 1.0, a > b)',
  ge: 'select(0.0, 1.0, a >= b)',
};

const mathHelpers = `
// A runtime NaN and infinity: WGSL rejects them in constant expressions.
var<private> NAN_BITS: u32 = 0x7fc00000u;
var<private> INF_BITS: u32 = 0x7f800000u;
fn isNan(x: f32) -> bool { return !(x == x); }
fn isInf(x: f32) -> bool { return abs(x) == bitcast<f32>(INF_BITS); }
// pow with C/PyTorch semantics where WGSL's pow (exp2(b·log2(a))) is undefined:
// x^0 = 1, NaN propagates, 0^b is 0 or inf (signed for -0 and odd b), and a negative
// base needs an integral exponent (the sign flips for odd ones) unless it is −inf.
fn powReal(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (isNan(a) || isNan(b)) { return bitcast<f32>(NAN_BITS); }
  let integral = floor(b) == b;
  let odd = integral && (abs(b) % 2.0) == 1.0;
  let negative = (bitcast<u32>(a) & 0x80000000u) != 0u;
  var mag: f32;
  if (a == 0.0) {
    mag = select(0.0, bitcast<f32>(INF_BITS), b < 0.0);
  } else {
    // (−inf)^b follows inf^b for non-integral b (IEEE 754 pow).
    if (negative && !integral && !isInf(a)) { return bitcast<f32>(NAN_BITS); }
    mag = pow(abs(a), b);
  }
  return select(mag, -mag, negative && odd);
}`;

function unaryProgram(op: UnaryOp): Program {
  return {
    key: `unary:${op}`,
    inputs: [{ name: 'x' }],
    outputs: [{ name: 'y' }],
    workgroupSize: [WG],
    body: () => `
${perElementMain(`  let x = x[i];
  y[i] = ${unaryWgsl[op]};`)}`,
  };
}

export function unary(rt: GpuRuntime, op: UnaryOp, x: GpuStorage): GpuStorage {
  const out = rt.alloc(x.size);
  rt.run(unaryProgram(op), [x], [out], [x.size], Math.ceil(x.size / WG));
  return out;
}

function binaryProgram(op: BinaryOp, launch: StridedLaunch): Program {
  return {
    key: `binary:${op}:${launch.key}`,
    inputs: [{ name: 'A' }, { name: 'B' }],
    outputs: [{ name: 'out' }],
    workgroupSize: [WG],
    body: () => `${mathHelpers}
${stridedIndexWgsl(launch)}
${perElementMain(`  let a = A[${viewAt(launch, 0)}];
  let b = B[${viewAt(launch, 1)}];
  out[i] = ${binaryWgsl[op]};`)}`,
  };
}

export function binary(rt: GpuRuntime, op: BinaryOp, a: GpuStorage, av: StridedView, b: GpuStorage, bv: StridedView, shape: readonly number[]): GpuStorage {
  const launch = stridedLaunch(shape, [av, bv]);
  const out = rt.alloc(launch.size);
  rt.run(binaryProgram(op, launch), [a, b], [out], launch.params, Math.ceil(launch.size / WG));
  return out;
}

function whereProgram(launch: StridedLaunch): Program {
  return {
    key: `where:${launch.key}`,
    inputs: [{ name: 'C' }, { name: 'A' }, { name: 'B' }],
    outputs: [{ name: 'out' }],
    workgroupSize: [WG],
    body: () => `${stridedIndexWgsl(launch)}
${perElementMain(`  out[i] = select(B[${viewAt(launch, 2)}], A[${viewAt(launch, 1)}], C[${viewAt(launch, 0)}] != 0.0);`)}`,
  };
}

export function where(rt: GpuRuntime, c: GpuStorage, cv: StridedView, a: GpuStorage, av: StridedView, b: GpuStorage, bv: StridedView, shape: readonly number[]): GpuStorage {
  const launch = stridedLaunch(shape, [cv, av, bv]);
  const out = rt.alloc(launch.size);
  rt.run(whereProgram(launch), [c, a, b], [out], launch.params, Math.ceil(launch.size / WG));
  return out;
}

function addcmulProgram(launch: StridedLaunch): Program {
  const value = 2 + launch.rank + 3 * (1 + launch.rank);
  return {
    key: `addcmul:${launch.key}`,
    inputs: [{ name: 'I' }, { name: 'A' }, { name: 'B' }],
    outputs: [{ name: 'out' }],
    workgroupSize: [WG],
    body: () => `${stridedIndexWgsl(launch)}
${perElementMain(`  out[i] = I[${viewAt(launch, 0)}] + pf(${value}u) * A[${viewAt(launch, 1)}] * B[${viewAt(launch, 2)}];`)}`,
  };
}

/** input + value · t1 · t2 with broadcasting (one pass: BatchNorm's x · α + β). */
export function addcmul(rt: GpuRuntime, input: GpuStorage, iv: StridedView, t1: GpuStorage, av: StridedView, t2: GpuStorage, bv: StridedView, value: number, shape: readonly number[]): GpuStorage {
  const launch = stridedLaunch(shape, [iv, av, bv]);
  const out = rt.alloc(launch.size);
  rt.run(addcmulProgram(launch), [input, t1, t2], [out], [...launch.params, f32Bits(value)], Math.ceil(launch.size / WG));
  return out;
}
