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
import { settingsFor } from '../gpu/profile.js';
import type { BinaryOp, Conv2dGeometry, MatmulGeometry, ReduceOp, StridedView, UnaryOp } from '../gpu/types.js';
import { stridedLaunch, type StridedForm } from '../kernels/strided-index.js';
import { matmulCandidates } from '../kernels/matmul/plan.js';
import type { TextureGemmConfig } from '../kernels/matmul/texture-gemm.js';
import { convCandidates, type ConvPass } from '../kernels/conv2d/plan.js';
import '../kernels/elementwise.js';
import '../kernels/copy.js';
import '../kernels/fill.js';
import '../kernels/optim.js';
import '../kernels/pool2d.js';
import '../kernels/reduce.js';
import '../kernels/texture-operand.js';
import '../kernels/matmul.js';
import '../kernels/conv2d.js';
import '../kernels/sparse/csr-spmm.js';
import '../kernels/sparse/bsr-spmm.js';
import '../kernels/sparse/sparse-conv.js';

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
const each = <T,>(xs: readonly T[], f: (x: T) => object[]): object[] => xs.flatMap(f);
const profiles = [settingsFor('llvmpipe'), settingsFor('gpu')];

// Matmul programs: the configs the planner's candidates make on both profiles.
const mm = (m: number, k: number, n: number, o: Partial<MatmulGeometry> = {}): MatmulGeometry =>
  ({ batch: 1, m, k, n, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0, ...o });
const MATMULS = [
  mm(64, 64, 64), mm(256, 512, 256, { transB: true }), mm(13, 7, 31), mm(33, 100, 17, { transA: true }), mm(1, 64, 256), mm(256, 64, 1),
  mm(1, 13, 31, { transB: true }), mm(31, 5, 1, { transA: true }), mm(8, 4096, 8), mm(64, 256, 64, { batch: 3, aBatchStride: 64 * 256, bBatchStride: 256 * 64 }),
  mm(2048, 2048, 2048), mm(100, 1024, 12, { transA: true, transB: true }),
];
const EPILOGUES = [{}, { bias: true }, { relu: true }, { bias: true, relu: true }];
const matmulPrograms = () => MATMULS.flatMap((g) => EPILOGUES.flatMap((e) => profiles.flatMap((st) => matmulCandidates(g, e, st).map((c) => c.plan.program))));
const ofKind = (kind: string) => () => matmulPrograms().filter((p) => p.kind === kind);

// Convolutions: the implicit GEMMs the planner's candidates make, for every pass.
const conv = (n: number, c: number, h: number, oc: number, k: number, o: Partial<Conv2dGeometry> = {}): Conv2dGeometry => {
  const g = { n, c, h, w: h, oc, kh: k, kw: k, sh: 1, sw: 1, ph: 0, pw: 0, dh: 1, dw: 1, ...o };
  return { ...g, oh: Math.floor((g.h + 2 * g.ph - g.dh * (g.kh - 1) - 1) / g.sh) + 1, ow: Math.floor((g.w + 2 * g.pw - g.dw * (g.kw - 1) - 1) / g.sw) + 1 };
};
const CONVS = [conv(2, 3, 8, 8, 3, { ph: 1, pw: 1 }), conv(4, 16, 12, 32, 3), conv(1, 5, 9, 6, 5, { sh: 2, sw: 2, ph: 2, pw: 2 }), conv(2, 8, 7, 4, 3, { dh: 2, dw: 2 }), conv(64, 64, 16, 64, 3, { ph: 1, pw: 1 })];
const convGemms = () => CONVS.flatMap((g) => (['fwd', 'gradInput', 'gradWeight'] as ConvPass[]).flatMap((pass) =>
  (pass === 'fwd' ? [{}, { bias: true }, { bias: true, relu: true }] : [{}]).flatMap((o) => profiles.flatMap((st) =>
    convCandidates(pass, g, o, st).flatMap((c) => (c.plan.path === 'implicit' ? [c.plan.gemm.config] : []))))));

// The texture GEMM as runTextureGemm launches it: planned products, and the convolution layouts.
const textureConfigs = (): TextureGemmConfig[] => {
  const planned = ofKind('texture')() as TextureGemmConfig[];
  const convs: TextureGemmConfig[] = [];
  for (const epilogue of [{}, { bias: true, relu: true }]) {
    for (const [r, t] of [[1, 1], [2, 4]]) {
      convs.push({ r, t, epilogue, layout: 'nchw' }, { r, t, epilogue, layout: 'nchw', shifted: { width: 4096 } });
      convs.push({ r, t: 2 * t, epilogue, layout: 'nchw', window: { width: 4096, kh: 3, kw: 3, ph: 1, pw: 1 }, pool: false });
      convs.push({ r, t: 2 * t, epilogue, layout: 'nchw', window: { width: 4096, kh: 5, kw: 5, ph: 4, pw: 4 }, pool: true });
    }
  }
  return [...planned, ...convs].flatMap((c) => bools.flatMap((vec4Store) => (c.window ? [1] : [1, 8]).map((wgY) => ({ ...c, vec4Store, wgY }))));
};
const WG: Array<[number, number]> = [[64, 1], [16, 4]];

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
  'matmul:tiled': ofKind('tiled'),
  'matmul:gemv': ofKind('gemv'),
  'matmul:shared': ofKind('shared'),
  'matmul:rows-texture': ofKind('rows'),
  'matmul:texture': textureConfigs,
  'matmul:splitk-reduce': () => each(bools, (vec) => each(bools, (bias) => bools.map((relu) => ({ vec, bias, relu })))),
  'conv2d:gemm': convGemms,
  'conv2d:im2col-texture': () => [0, 4096].map((xWidth) => ({ xWidth })),
  'conv2d:shifted-copies': () => [null, { kw: 3, pw: 1 }, { kw: 5, pw: 2 }].map((window) => ({ width: 4096, window })),
  'sparse:xt': () => [{}],
  'sparse:bsr-spmm': () => each([[1, 4], [4, 4], [2, 8]], ([r, c]) => each([1, 4], (tb) => each([16, 32], (bits) => each(bools, (bias) =>
    each(WG, (wg) => [0, 4096].map((valsWidth) => ({ r, c, tb, bits, bias, wg, valsWidth }))))))),
  'sparse:csr-spmm': () => each([1, 2], (tb) => each(bools, (bias) => each(WG, (wg) =>
    [...[16, 32].map((bits) => ({ bits, tb, bias, wg, cvWidth: 0 })), { tb, bias, wg, cvWidth: 4096 }]))),
  'sparse:csr-spmv': () => each([16, 32], (bits) => each(bools, (bias) => [64, 256].map((threads) => ({ bits, bias, threads })))),
  'sparse:csr-spmv-vector': () => each([16, 32], (bits) => each(bools, (bias) => [64, 256].map((threads) => ({ bits, bias, threads })))),
  'sparse:csr-fixup': () => bools.map((bias) => ({ bias })),
  'sparse:conv-pad': () => [{}],
  'sparse:conv-quad': () => [{}],
  'sparse:conv-csr': () => each(bools, (bias) => each([64, 128], (threads) =>
    [...[16, 32].map((bits) => ({ bits, bias, ovWidth: 0, threads })), { bias, ovWidth: 4096, threads }])),
  'sparse:conv-bsr': () => each([[1, 4], [4, 4]], ([r, c]) => each([16, 32], (bits) => each(bools, (bias) => each(bools, (tex) => [64].map((threads) => ({ r, c, bits, bias, tex, threads })))))),
  'sparse:conv-shifted-csr': () => each([1, 2, 4], (rows) => each(bools, (bias) => WG.map((wg) => ({ rows, bias, ovWidth: 4096, sWidth: 4096, wg })))),
  'sparse:conv-shifted-bsr': () => each([[1, 4], [4, 4]], ([r, c]) => each([1, 4], (rows) => each([16, 32], (bits) => each(bools, (bias) =>
    [0, 4096].map((valsWidth) => ({ r, c, rows, bits, bias, valsWidth, sWidth: 4096, wg: [64, 1] })))))),
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
