/** Elementwise kernels: unary maps, broadcasting binary ops, `where` and `addcmul`. */
import type { BinaryOp, StridedView, UnaryOp } from '../gpu/types.js';
import type { GpuRuntime, GpuStorage } from '../gpu/runtime.js';
import { f32Bits, type ParamDecl, type ParamValues, perElementMain, type Program, programFamily, type ProgramSpec } from '../gpu/program.js';
import { outputType, type StridedForm, type StridedLaunch, stridedIndexWgsl, stridedLaunch, stridedParams, viewLoad, viewType } from './strided-index.js';

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

/**
 * `out[i] = expr` over values read through the launch's views (`loads`: name, view, array).
 * In a vec4 launch the expression is applied one component at a time: the maps are written
 * for f32 (select, NaN tests, powReal).
 */
function mapStatement(form: StridedForm, loads: Array<[string, number, string]>, expr: string): string {
  if (!form.vec4) return `${loads.map(([n, v, arr]) => `  let ${n} = ${viewLoad(form, v, arr)};`).join('\n')}
  out[i] = ${expr};`;
  return `${loads.map(([n, v, arr]) => `  let ${n}4 = ${viewLoad(form, v, arr)};`).join('\n')}
  var r: vec4<f32>;
  for (var j = 0u; j < 4u; j++) { ${loads.map(([n]) => `let ${n} = ${n}4[j];`).join(' ')} r[j] = ${expr}; }
  out[i] = r;`;
}

// Unary maps run as a one-view strided launch: vec4s when the length allows.
const unaryProgram = programFamily('unary', ({ op, form }: { op: UnaryOp; form: StridedForm }) => ({
  inputs: [{ name: 'X', type: viewType(form, 0) }],
  outputs: [{ name: 'out', type: outputType(form) }],
  workgroupSize: [WG],
  params: stridedParams(form),
  body: () => `${stridedIndexWgsl(form)}
${perElementMain(mapStatement(form, [['x', 0, 'X']], unaryWgsl[op]))}`,
}));

export function unary(rt: GpuRuntime, op: UnaryOp, x: GpuStorage): GpuStorage {
  const launch = stridedLaunch([x.size], [{ offset: 0, strides: [1] }], { vec4: true });
  return launchInto(rt, unaryProgram({ op, form: launch.form }), [x], launch);
}

const binaryProgram = programFamily('binary', ({ op, form }: { op: BinaryOp; form: StridedForm }) => ({
  inputs: [{ name: 'A', type: viewType(form, 0) }, { name: 'B', type: viewType(form, 1) }],
  outputs: [{ name: 'out', type: outputType(form) }],
  workgroupSize: [WG],
  params: stridedParams(form),
  body: () => `${mathHelpers}
${stridedIndexWgsl(form)}
${perElementMain(mapStatement(form, [['a', 0, 'A'], ['b', 1, 'B']], binaryWgsl[op]))}`,
}));

/** Runs a per-element program over a launch's invocations; returns the new contiguous output. */
function launchInto(rt: GpuRuntime, program: Program, inputs: GpuStorage[], launch: StridedLaunch, extra: ParamValues = {}): GpuStorage {
  const out = rt.alloc(launch.size);
  rt.run(program, inputs, [out], { ...launch.params, ...extra }, Math.ceil(launch.invocations / WG));
  return out;
}

export function binary(rt: GpuRuntime, op: BinaryOp, a: GpuStorage, av: StridedView, b: GpuStorage, bv: StridedView, shape: readonly number[]): GpuStorage {
  const launch = stridedLaunch(shape, [av, bv], { vec4: true });
  return launchInto(rt, binaryProgram({ op, form: launch.form }), [a, b], launch);
}

/** A per-element program over three strided views named `names`, writing `expr` (WGSL over their loads). */
function threeViewSpec(form: StridedForm, names: [string, string, string], expr: (load: (k: number) => string) => string, extra: ParamDecl = []): ProgramSpec {
  return {
    inputs: names.map((name, k) => ({ name, type: viewType(form, k) })),
    outputs: [{ name: 'out', type: outputType(form) }],
    workgroupSize: [WG],
    params: [...stridedParams(form), ...extra],
    body: () => `${stridedIndexWgsl(form)}
${perElementMain(`  out[i] = ${expr((k) => viewLoad(form, k, names[k]!))};`)}`,
  };
}

const whereProgram = programFamily('where', ({ form }: { form: StridedForm }) => {
  const zero = form.vec4 ? 'vec4<f32>(0.0)' : '0.0';
  return threeViewSpec(form, ['C', 'A', 'B'], (ld) => `select(${ld(2)}, ${ld(1)}, ${ld(0)} != ${zero})`);
});

export function where(rt: GpuRuntime, c: GpuStorage, cv: StridedView, a: GpuStorage, av: StridedView, b: GpuStorage, bv: StridedView, shape: readonly number[]): GpuStorage {
  const launch = stridedLaunch(shape, [cv, av, bv], { vec4: true });
  return launchInto(rt, whereProgram({ form: launch.form }), [c, a, b], launch);
}

// The value travels as its bit pattern: torch.addcmul takes infinities and NaN too.
const addcmulProgram = programFamily('addcmul', ({ form }: { form: StridedForm }) =>
  threeViewSpec(form, ['I', 'A', 'B'], (ld) => `${ld(0)} + bitcast<f32>(P.valueBits) * ${ld(1)} * ${ld(2)}`, [['valueBits', 'u32']]));

/** input + value · t1 · t2 with broadcasting (one pass: BatchNorm's x · α + β). */
export function addcmul(rt: GpuRuntime, input: GpuStorage, iv: StridedView, t1: GpuStorage, av: StridedView, t2: GpuStorage, bv: StridedView, value: number, shape: readonly number[]): GpuStorage {
  const launch = stridedLaunch(shape, [iv, av, bv], { vec4: true });
  return launchInto(rt, addcmulProgram({ form: launch.form }), [input, t1, t2], launch, { valueBits: f32Bits(value) });
}
