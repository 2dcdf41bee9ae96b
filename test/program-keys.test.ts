/**
 * Program keys come from a family name and a config; parameters are named and packed by
 * their declaration. The sweep builds every program a set of configs makes, for every
 * family the kernels define, and checks that a key names exactly one WGSL source (one
 * source per key: no wrong pipeline; one key per source: no needless recompile), then
 * compiles each source on the device.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../index.js';
import type { WebGpuBackend } from '../engine/webgpu/backend.js';
import { packParams, programFamilies, programFamily, programSource, stableSerialise } from '../gpu/program.js';
import type { BinaryOp, ReduceOp, StridedView, UnaryOp } from '../gpu/types.js';
import { stridedLaunch, type StridedForm } from '../kernels/strided-index.js';
import '../kernels/elementwise.js';
import '../kernels/copy.js';
import '../kernels/fill.js';
import '../kernels/optim.js';
import '../kernels/pool2d.js';
import '../kernels/reduce.js';
import '../kernels/texture-operand.js';

describe('config serialisation', () => {
  it('is independent of field order, leaves out undefined fields and keeps array order', () => {
    expect(stableSerialise({ b: 1, a: { y: [2, 1], x: 'v' } })).toBe(stableSerialise({ a: { x: 'v', y: [2, 1] }, b: 1 }));
    expect(stableSerialise({ a: 1, b: undefined })).toBe(stableSerialise({ a: 1 }));
    expect(stableSerialise([1, 2])).not.toBe(stableSerialise([2, 1]));
    expect(stableSerialise({ a: '1' })).not.toBe(stableSerialise({ a: 1 }));
    expect(stableSerialise({ a: null })).not.toBe(stableSerialise({}));
  });

  it('refuses what is not plain data', () => {
    expect(() => stableSerialise({ a: NaN })).toThrow(/not a finite number/);
    expect(() => stableSerialise({ f: () => 1 })).toThrow(/function is not plain data/);
    expect(() => stableSerialise({ m: new Map() })).toThrow(/Map is not plain data/);
  });
});

describe('program families', () => {
  const family = programFamily('test:family', (c: { tile: number; relu?: boolean }) => ({
    inputs: [], outputs: [{ name: 'out' }], workgroupSize: [c.tile],
    body: () => `@compute @workgroup_size(WG_X) fn main() { out[0] = ${c.relu ? 'max(1.0, 0.0)' : '1.0'}; }`,
  }));

  it('derives the key from the config: equal configs share it, different ones do not', () => {
    expect(family({ tile: 8 }).key).toBe(family({ tile: 8 }).key);
    expect(family({ relu: true, tile: 8 }).key).toBe(family({ tile: 8, relu: true }).key);
    expect(family({ tile: 8 }).key).not.toBe(family({ tile: 16 }).key);
    expect(family({ tile: 8 }).key).not.toBe(family({ tile: 8, relu: true }).key);
    expect(family({ tile: 8 }).key).toBe('test:family{"tile":8}');
    expect(family.key({ tile: 8 })).toBe(family({ tile: 8 }).key);
  });

  it('refuses a family defined twice and a name that could run into its config', () => {
    expect(() => programFamily('test:family', () => ({ inputs: [], outputs: [], workgroupSize: [1], body: () => '' }))).toThrow(/defined twice/);
    expect(() => programFamily('test{x}', () => ({ inputs: [], outputs: [], workgroupSize: [1], body: () => '' }))).toThrow(/letters, digits/);
  });

  it('generates the uniform struct of the declared parameters', () => {
    const p = programFamily('test:params', () => ({
      inputs: [], outputs: [{ name: 'out' }], workgroupSize: [1], params: [['n', 'u32'], ['alpha', 'f32'], ['ph', 'i32']],
      body: () => '@compute @workgroup_size(1) fn main() { out[0] = P.alpha; }',
    }))({});
    const src = programSource(p);
    expect(src).toContain('struct Params {\n  n: u32,\n  alpha: f32,\n  ph: i32,\n}');
    expect(src).toContain('@group(0) @binding(1) var<uniform> P: Params;');
    expect(src).not.toMatch(/\bpu\(|array<u32>/);
  });
});

describe('parameter packing', () => {
  const decl = [['n', 'u32'], ['alpha', 'f32'], ['ph', 'i32']] as const;

  it('packs by the declaration, in its order, into whole 16-byte blocks', () => {
    const words = packParams('k', decl, { ph: -2, alpha: 0.5, n: 10 });
    expect(words.byteLength).toBe(16);
    expect(words[0]).toBe(10);
    expect(new Float32Array(words.buffer)[1]).toBe(0.5);
    expect(new Int32Array(words.buffer)[2]).toBe(-2);
    expect(packParams('k', [['a', 'u32'], ['b', 'u32'], ['c', 'u32'], ['d', 'u32'], ['e', 'u32']], { a: 1, b: 2, c: 3, d: 4, e: 5 }).byteLength).toBe(32);
  });

  it.each([
    ['a missing field', { n: 1, alpha: 0 }, /needs parameter 'ph' \(i32\)/],
    ['an undeclared field', { n: 1, alpha: 0, ph: 0, extra: 1 }, /declares no parameter 'extra'/],
    ['NaN', { n: 1, alpha: NaN, ph: 0 }, /'alpha' is NaN, not a finite number/],
    ['an infinity', { n: Infinity, alpha: 0, ph: 0 }, /'n' is Infinity/],
    ['a float past f32', { n: 1, alpha: 1e39, ph: 0 }, /'alpha' = 1e\+39 overflows f32/],
    ['a fraction for an integer', { n: 1.5, alpha: 0, ph: 0 }, /'n' = 1.5 is not a u32/],
    ['a negative u32', { n: -1, alpha: 0, ph: 0 }, /'n' = -1 is not a u32/],
    ['an i32 out of range', { n: 1, alpha: 0, ph: 2 ** 31 }, /'ph' = 2147483648 is not a i32/],
  ])('refuses %s, naming the kernel', (_, values, message) => {
    expect(() => packParams('my-kernel', decl, values)).toThrow(message);
    expect(() => packParams('my-kernel', decl, values)).toThrow(/kernel 'my-kernel'/);
  });
});

// ---- Every program a set of configs makes ----

const views = (...v: Array<[number, number[]]>): StridedView[] => v.map(([offset, strides]) => ({ offset, strides }));
/** Launch forms: flat, broadcast (splat), transposed, rank 0, integer division, vec4 and not. */
const launches: Array<[number[], StridedView[]]> = [
  [[16], views([0, [1]], [0, [1]], [0, [1]])],
  [[3, 8], views([0, [8, 1]], [0, [0, 1]], [0, [1, 0]])],
  [[3, 6], views([0, [6, 1]], [2, [0, 1]], [0, [1, 0]])],
  [[4, 5, 8], views([0, [40, 8, 1]], [0, [0, 1, 0]], [4, [0, 0, 1]])],
  [[5, 4], views([0, [1, 5]], [0, [4, 1]], [0, [0, 0]])],
  [[], views([2, []], [0, []], [1, []])],
  [[2, 2 ** 23 + 4], views([0, [1, 0]], [0, [2 ** 23 + 4, 1]], [0, [0, 1]])],
];
const forms = (nViews: number, vec4s = [false, true]): StridedForm[] => {
  const out = new Map<string, StridedForm>();
  for (const [shape, v] of launches) {
    for (const vec4 of vec4s) {
      const form = stridedLaunch(shape, v.slice(0, nViews), { vec4 }).form;
      out.set(stableSerialise(form), form);
    }
  }
  return [...out.values()];
};
const UNARY: UnaryOp[] = ['neg', 'exp', 'log', 'sqrt', 'abs', 'relu', 'sigmoid', 'tanh', 'sign', 'step', 'recip'];
const BINARY: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'max', 'min', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'];
const REDUCE: ReduceOp[] = ['sum', 'max', 'min', 'argmax'];
const bools = [false, true];

/** Configs per family; a family the kernels define but this table misses fails the sweep. */
const CONFIGS: Record<string, () => object[]> = {
  unary: () => UNARY.flatMap((op) => forms(1).map((form) => ({ op, form }))),
  binary: () => BINARY.flatMap((op) => forms(2).map((form) => ({ op, form }))),
  where: () => forms(3).map((form) => ({ form })),
  addcmul: () => forms(3).map((form) => ({ form })),
  // Scatters are scalar launches.
  copy: () => [...forms(1).map((form) => ({ kind: 'gather', form })), ...forms(1, [false]).map((form) => ({ kind: 'scatter', form }))],
  fill: () => [{}],
  sgd: () => bools.flatMap((momentum) => bools.map((nesterov) => ({ momentum, nesterov }))).filter((c) => c.momentum || !c.nesterov),
  adam: () => bools.map((decoupled) => ({ decoupled })),
  'maxpool2d:fwd': () => bools.map((indices) => ({ indices })),
  'maxpool2d:fwd:2x2vec4': () => [{}],
  'maxpool2d:grad': () => [{}],
  'avgpool2d:fwd': () => bools.map((countIncludePad) => ({ countIncludePad })),
  'avgpool2d:grad': () => bools.map((countIncludePad) => ({ countIncludePad })),
  'reduce:thread': () => REDUCE.map((op) => ({ op })),
  'reduce:workgroup': () => REDUCE.map((op) => ({ op })),
  'texture-operand:general': () => [{}],
  'texture-operand:cols': () => [{}],
  'texture-operand:rows4x4': () => bools.map((copied) => ({ copied })),
};

/** Every program of every kernel family over CONFIGS, each built afresh: [key, source] pairs. */
function sweep(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [name, family] of programFamilies()) {
    if (name.startsWith('test:')) continue;
    const configs = CONFIGS[name];
    expect(configs, `configs for program family '${name}'`).toBeDefined();
    for (const config of configs!()) {
      const p = family.build(config as never);
      out.push([p.key, programSource(p)]);
    }
  }
  return out;
}

/** Keys naming two sources (a wrong pipeline would be reused) and sources under two keys (a needless recompile). */
function keyProblems(programs: Array<[string, string]>): string[] {
  const problems: string[] = [];
  const byKey = new Map<string, string>();
  const bySource = new Map<string, string>();
  for (const [key, src] of programs) {
    const seen = byKey.get(key);
    if (seen !== undefined && seen !== src) problems.push(`two sources under key ${key}`);
    byKey.set(key, src);
    const other = bySource.get(src);
    if (other !== undefined && other !== key) problems.push(`keys ${other} and ${key} compile the same source`);
    bySource.set(src, key);
  }
  return problems;
}

describe('every program a set of configs makes', () => {
  beforeAll(() => wg.init({ backend: 'webgpu' }));
  afterAll(() => wg.shutdown());

  it('has one source per key and one key per source', () => {
    const programs = sweep();
    expect(new Set(programs.map(([k]) => k)).size).toBeGreaterThan(Object.keys(CONFIGS).length);
    expect(keyProblems(programs)).toEqual([]);
  });

  it('the check finds a source that depends on more than the config, and a config field the source ignores', () => {
    let calls = 0;
    const leaky = programFamily('test:leaky', (_: { v: number }) => ({ inputs: [], outputs: [], workgroupSize: [1], body: () => `// ${calls++}` }));
    const built = (c: { v: number }): [string, string] => { const p = leaky.build(c); return [p.key, programSource(p)]; };
    expect(keyProblems([built({ v: 1 }), built({ v: 1 })])).toEqual([expect.stringMatching(/two sources under key test:leaky\{"v":1\}/)]);
    const ignoring = programFamily('test:ignoring', (_: { v: number }) => ({ inputs: [], outputs: [], workgroupSize: [1], body: () => '' }));
    const src = (c: { v: number }): [string, string] => { const p = ignoring.build(c); return [p.key, programSource(p)]; };
    expect(keyProblems([src({ v: 1 }), src({ v: 2 })])).toEqual([expect.stringMatching(/compile the same source/)]);
  });

  it('compiles every one of them', async () => {
    const device = (wg.getBackend('webgpu') as WebGpuBackend).rt.device;
    const failures: string[] = [];
    for (const [key, code] of new Map(sweep())) {
      const info = await device.createShaderModule({ code }).getCompilationInfo();
      const errors = info.messages.filter((m) => m.type === 'error');
      if (errors.length) failures.push(`${key}: line ${errors[0]!.lineNum}: ${errors[0]!.message}`);
    }
    expect(failures).toEqual([]);
  });
});
