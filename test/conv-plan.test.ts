/**
 * The convolution planner (kernels/conv2d/plan.ts):
 *  - per device profile on a table of shapes (LeNet-5's layers, 32×32×64→64 3×3, 1×1, strided,
 *    dilated, padded, 1-channel input, empty reductions, a weight gradient over a big batch):
 *    `llvmpipe` makes the choices its measurements settled (the variants below); `gpu` never
 *    takes a texture path nor more than 64 accumulators an invocation, keeps workgroups at 64 to
 *    256 invocations, sends 1×1 convolutions to the matmul and splits small weight gradients;
 *  - forced variants (picked, or refused with the candidates named), tuned winners, limits;
 *  - every candidate either profile produces for a set of small geometries, forced and run on
 *    this adapter for the three passes, against the float64 CPU reference (engine/cpu/conv.ts).
 */
import { describe, expect, it } from 'vitest';
import type { Conv2dGeometry, Pool2dGeometry } from '../gpu/types.js';
import { settingsFor, type KernelSettings, type PlanRecord, type ProfileName } from '../gpu/profile.js';
import { UnknownVariantError } from '../kernels/choose.js';
import {
  accumulators, CONV_FAMILY, convCandidates, convProblemKey, planConv, WINDOW_MIN_CHANNELS, type ConvOptions, type ConvPass, type ConvPlan,
} from '../kernels/conv2d/plan.js';
import { conv2dForward, conv2dGradInput, conv2dGradWeight, convWith } from '../kernels/conv2d.js';
import * as cpuConv from '../engine/cpu/conv.js';
import * as cpuPool from '../engine/cpu/pool.js';
import { expectClose, f64, geometry, outSize, randn, rt, track, useGpuRuntime, type ConvSpec } from './helpers/conv.js';
import type { GpuStorage } from '../gpu/runtime.js';

/** 2×2 stride-2 max pooling of a convolution's output (or `k`×`k`, stride `s`). */
function poolOf(g: Conv2dGeometry, k = 2, s = 2): Pool2dGeometry {
  return { n: g.n, c: g.oc, h: g.oh, w: g.ow, kh: k, kw: k, sh: s, sw: s, ph: 0, pw: 0, oh: outSize(g.oh, k, s, 0, 1), ow: outSize(g.ow, k, s, 0, 1) };
}

const PASSES: readonly ConvPass[] = ['fwd', 'gradInput', 'gradWeight'];
const TEXTURE_VARIANTS = ['window', 'window+pool', 'shifted', 'im2col-texture'];
const fwdOptions = (bias = true, relu = true, pool: Pool2dGeometry | null = null): ConvOptions => ({ bias, relu, pool });
const optionsFor = (pass: ConvPass, o: ConvOptions): Partial<ConvOptions> => (pass === 'fwd' ? o : {});

/**
 * The table of shapes, with the llvmpipe profile's choice per pass (forward with bias and ReLU).
 * These are the choices measured on llvmpipe before the planner existed; a change here is a
 * change of the llvmpipe rules and needs a measurement behind it.
 */
const TABLE: Array<{ name: string; spec: ConvSpec; llvmpipe: [string, string, string] }> = [
  { name: 'LeNet-5 conv1 (1 channel, padded 5×5)', spec: { n: 64, c: 1, h: 28, w: 28, oc: 6, kh: 5, ph: 2 }, llvmpipe: ['implicit-2x8-wg16x4', 'implicit-2x8-wg16x4', 'implicit-2x8-wg16x4+split32'] },
  { name: 'LeNet-5 conv2 (rows 10 wide)', spec: { n: 64, c: 6, h: 14, w: 14, oc: 16, kh: 5 }, llvmpipe: ['im2col-texture', 'implicit-2x8-wg16x4', 'implicit-4x8-wg16x4+split12'] },
  { name: '32×32×64→64 3×3', spec: { n: 32, c: 64, h: 32, w: 32, oc: 64, kh: 3, ph: 1 }, llvmpipe: ['window', 'implicit-16x16-wg16x4', 'implicit-16x16-wg16x4'] },
  { name: '1×1 pointwise', spec: { n: 8, c: 64, h: 16, w: 16, oc: 128, kh: 1 }, llvmpipe: ['window', 'pointwise', 'implicit-8x8-wg8x8+split4'] },
  { name: '1×1 with bias, rows 6 wide', spec: { n: 4, c: 32, h: 6, w: 6, oc: 16, kh: 1 }, llvmpipe: ['implicit-4x8-wg16x4', 'pointwise', 'implicit-4x8-wg16x4'] },
  { name: 'strided 3×3', spec: { n: 8, c: 16, h: 32, w: 32, oc: 32, kh: 3, sh: 2, ph: 1 }, llvmpipe: ['shifted', 'implicit-4x8-wg16x4', 'implicit-8x16-wg16x4+split4'] },
  { name: 'dilated, padded', spec: { n: 4, c: 8, h: 20, w: 20, oc: 16, kh: 3, dh: 2, ph: 2 }, llvmpipe: ['shifted', 'implicit-2x8-wg16x4', 'implicit-4x8-wg16x4+split3'] },
  { name: 'padded, odd sizes', spec: { n: 2, c: 5, h: 9, w: 11, oc: 6, kh: 3, ph: 1 }, llvmpipe: ['implicit-2x8-wg16x4', 'implicit-2x8-wg16x4', 'implicit-2x8-wg16x4'] },
  { name: '1 input channel', spec: { n: 16, c: 1, h: 32, w: 32, oc: 8, kh: 3, ph: 1 }, llvmpipe: ['shifted', 'implicit-2x8-wg16x4', 'implicit-2x8-wg16x4+split32'] },
  { name: 'weight gradient over a big batch', spec: { n: 256, c: 16, h: 16, w: 16, oc: 16, kh: 3, ph: 1 }, llvmpipe: ['window', 'implicit-4x8-wg16x4', 'implicit-4x8-wg16x4+split32'] },
  { name: 'no input channels', spec: { n: 2, c: 0, h: 8, w: 8, oc: 4, kh: 3, ph: 1 }, llvmpipe: ['empty', 'empty', 'empty'] },
  { name: 'no output channels', spec: { n: 2, c: 3, h: 8, w: 8, oc: 0, kh: 3, ph: 1 }, llvmpipe: ['empty', 'empty', 'empty'] },
  { name: 'no images', spec: { n: 0, c: 3, h: 8, w: 8, oc: 4, kh: 3, ph: 1 }, llvmpipe: ['empty', 'empty', 'empty'] },
];

describe('conv planner, llvmpipe profile', () => {
  const s = settingsFor('llvmpipe');
  for (const { name, spec, llvmpipe } of TABLE) {
    it(`${name}: ${llvmpipe.join(', ')}`, () => {
      const g = geometry(spec);
      PASSES.forEach((pass, i) => {
        const chosen = planConv(pass, g, optionsFor(pass, fwdOptions()), s);
        expect(chosen.variant, `${name} ${pass}`).toBe(llvmpipe[i]);
        expect(chosen.record).toMatchObject({ family: CONV_FAMILY[pass], variant: llvmpipe[i], source: 'rule' });
        expect(chosen.record.why).toMatch(/^llvmpipe profile: /);
      });
    });
  }
  it('the window path from 3 input channels; shifted copies below', () => {
    const g3 = geometry({ n: 8, c: WINDOW_MIN_CHANNELS, h: 32, w: 32, oc: 16, kh: 3, ph: 1 });
    const g2 = geometry({ n: 8, c: WINDOW_MIN_CHANNELS - 1, h: 32, w: 32, oc: 16, kh: 3, ph: 1 });
    expect(planConv('fwd', g3, fwdOptions(), s).variant).toBe('window');
    expect(planConv('fwd', g2, fwdOptions(), s).variant).toBe('shifted');
    // The window path is a candidate for both: only the rule keeps it from 1- and 2-channel inputs.
    expect(convCandidates('fwd', g2, fwdOptions(), s).map((c) => c.variant)).toContain('window');
  });
  it('2×2 stride-2 pooling in the window stores; any other pooling after the convolution', () => {
    const g = geometry({ n: 8, c: 16, h: 16, w: 16, oc: 16, kh: 3, ph: 1 });
    const fused = planConv('fwd', g, fwdOptions(true, true, poolOf(g)), s);
    expect(fused.variant).toBe('window+pool');
    expect(fused.plan).toMatchObject({ path: 'window', poolFused: true });
    const after = planConv('fwd', g, fwdOptions(true, true, poolOf(g, 3, 1)), s);
    expect(after.variant).toBe('window');
    expect(after.plan).toMatchObject({ path: 'window', poolFused: false, pool: poolOf(g, 3, 1) });
  });
  it('a biased 1×1 forward pass stays on the GEMM paths; without bias 1×1 goes to the matmul where no texture path fits', () => {
    const g = geometry({ n: 2, c: 5, h: 3, w: 7, oc: 3, kh: 1 });
    expect(planConv('fwd', g, fwdOptions(false, true), s).variant).toBe('pointwise');
    expect(planConv('fwd', g, fwdOptions(true, true), s).variant).toMatch(/^implicit-/);
    expect(convCandidates('fwd', g, fwdOptions(true, false), s).map((c) => c.variant)).not.toContain('pointwise');
    expect(convCandidates('gradWeight', g, {}, s).map((c) => c.variant)).not.toContain('pointwise');
  });
});

describe('conv planner, gpu profile', () => {
  const s = settingsFor('gpu');
  const cases = TABLE.flatMap(({ name, spec }) => PASSES.map((pass) => ({ name, spec, pass })));
  it('never a texture path, at most 64 accumulators an invocation, 64 to 256 invocations a workgroup', () => {
    for (const { name, spec, pass } of cases) {
      for (const pool of [null, poolOf(geometry(spec))]) {
        const chosen = planConv(pass, geometry(spec), optionsFor(pass, fwdOptions(true, true, pool)), s);
        const label = `${name} ${pass}: ${chosen.variant}`;
        expect(TEXTURE_VARIANTS, label).not.toContain(chosen.variant);
        expect(chosen.record.why, label).toMatch(/^gpu profile: /);
        if (chosen.plan.path === 'implicit') {
          const c = chosen.plan.gemm.config;
          expect(accumulators(c), label).toBeLessThanOrEqual(64);
          expect(c.wgX * c.wgY, label).toBeGreaterThanOrEqual(64);
          expect(c.wgX * c.wgY, label).toBeLessThanOrEqual(256);
        }
      }
    }
  });
  it('1×1 convolutions go to the matmul (forward without bias, input gradient)', () => {
    const g = geometry({ n: 8, c: 64, h: 16, w: 16, oc: 128, kh: 1 });
    expect(planConv('fwd', g, fwdOptions(false, true), s).variant).toBe('pointwise');
    expect(planConv('gradInput', g, {}, s).variant).toBe('pointwise');
  });
  it('splits the weight gradient when its output is small, not when it is large', () => {
    const small = planConv('gradWeight', geometry({ n: 256, c: 16, h: 16, w: 16, oc: 16, kh: 3, ph: 1 }), {}, s);
    expect(small.variant).toMatch(/\+split\d+$/);
    expect(small.plan.path === 'implicit' && small.plan.gemm.splits).toBeGreaterThan(1);
    const large = planConv('gradWeight', geometry({ n: 2, c: 256, h: 8, w: 8, oc: 256, kh: 3, ph: 1 }), {}, s);
    expect(large.variant).toMatch(/^implicit-\d+x\d+-wg\d+x\d+$/);
    // The forward and input-gradient passes never split.
    for (const pass of ['fwd', 'gradInput'] as const) {
      for (const c of convCandidates(pass, geometry({ n: 256, c: 16, h: 16, w: 16, oc: 16, kh: 3, ph: 1 }), {}, s)) expect(c.variant).not.toMatch(/split/);
    }
  });
  it('empty reductions fill', () => {
    for (const { spec } of TABLE.filter((t) => t.llvmpipe[0] === 'empty')) {
      for (const pass of PASSES) expect(planConv(pass, geometry(spec), {}, s).variant).toBe('empty');
    }
  });
});

describe('conv planner: candidates, keys, forcing, tuning, limits', () => {
  const g = geometry({ n: 4, c: 8, h: 16, w: 16, oc: 16, kh: 3, ph: 1 });
  it('candidates have unique names and include every profile\'s choice', () => {
    for (const { spec } of TABLE) {
      for (const pass of PASSES) {
        for (const profile of ['llvmpipe', 'gpu'] as ProfileName[]) {
          const s = settingsFor(profile);
          const names = convCandidates(pass, geometry(spec), optionsFor(pass, fwdOptions()), s).map((c) => c.variant);
          expect(new Set(names).size).toBe(names.length);
          expect(names).toContain(planConv(pass, geometry(spec), optionsFor(pass, fwdOptions()), s).variant);
        }
      }
    }
  });
  it('problem keys name the geometry and, for the forward pass, the fused epilogue', () => {
    expect(convProblemKey('fwd', g, fwdOptions(true, true, poolOf(g)))).toBe('n4.c8.16x16.oc16.k3x3.s1x1.p1x1.d1x1+bias+relu+pool2x2.s2x2.p0x0');
    expect(convProblemKey('gradWeight', g, {})).toBe('n4.c8.16x16.oc16.k3x3.s1x1.p1x1.d1x1');
    expect(convProblemKey('fwd', g, {})).not.toBe(convProblemKey('fwd', g, fwdOptions(true, false)));
    expect(() => planConv('gradInput', g, { relu: true }, settingsFor('llvmpipe'))).toThrow(/fused ReLU belongs to the forward pass/);
  });
  it('a forced variant wins over the rule, for its family only', () => {
    const s = settingsFor('llvmpipe', {}, { forced: { 'conv-fwd': 'implicit-4x8-wg16x4', 'conv-grad-weight': 'implicit-2x4-wg16x4+split2' } });
    const fwd = planConv('fwd', g, fwdOptions(), s);
    expect(fwd.variant).toBe('implicit-4x8-wg16x4');
    expect(fwd.record.source).toBe('forced');
    expect(fwd.plan.path === 'implicit' && fwd.plan.gemm.config).toMatchObject({ tm: 4, tn: 2, wgX: 16, wgY: 4, bias: true, relu: true, split: false });
    const gw = planConv('gradWeight', g, {}, s);
    expect(gw.plan.path === 'implicit' && [gw.plan.gemm.splits, gw.plan.gemm.config.split]).toEqual([2, true]);
    expect(planConv('gradInput', g, {}, s).record.source).toBe('rule');
  });
  it('a forced variant that does not apply throws, naming the candidates', () => {
    const s = settingsFor('llvmpipe', {}, { forced: { 'conv-grad-input': 'window' } });
    expect(() => planConv('gradInput', g, {}, s)).toThrow(UnknownVariantError);
    expect(() => planConv('gradInput', g, {}, s)).toThrow(/conv-grad-input: variant 'window' was forced but does not apply to n4\.c8.*; its candidates are implicit-16x16-wg16x4, /);
    const empty = settingsFor('gpu', {}, { forced: { 'conv-fwd': 'implicit-8x8-wg16x8' } });
    expect(() => planConv('fwd', geometry({ n: 2, c: 0, h: 4, w: 4, oc: 3, kh: 1 }), {}, empty)).toThrow(/its candidates are empty$/);
  });
  it('a tuned winner wins over the rule; a stale one (not a candidate) is ignored', () => {
    const key = convProblemKey('fwd', g, fwdOptions());
    const table = (variant: string): KernelSettings['tuned'] => ({ adapter: 'test', entries: { 'conv-fwd': { [key]: { variant, ms: 1, candidates: { [variant]: 1, window: 2 } } } } });
    const tuned = planConv('fwd', g, fwdOptions(), settingsFor('llvmpipe', {}, { tuned: table('shifted') }));
    expect([tuned.variant, tuned.record.source]).toEqual(['shifted', 'tuned']);
    const stale = planConv('fwd', g, fwdOptions(), settingsFor('llvmpipe', {}, { tuned: table('no-such-variant') }));
    expect([stale.variant, stale.record.source]).toEqual(['window', 'rule']);
  });
  it('reports every plan with the arguments to plan it again', () => {
    const records: PlanRecord[] = [];
    const s = { ...settingsFor('gpu'), onPlan: (r: PlanRecord) => records.push(r) };
    planConv('fwd', g, fwdOptions(true, false), s);
    expect(records).toHaveLength(1);
    const args = records[0]!.args as { pass: ConvPass; g: Conv2dGeometry; options: ConvOptions };
    expect(args).toEqual({ pass: 'fwd', g, options: fwdOptions(true, false) });
    expect(planConv(args.pass, args.g, args.options, settingsFor('gpu')).variant).toBe(records[0]!.variant);
  });
  it('keeps every workgroup and texture within the limits', () => {
    const narrow = settingsFor('llvmpipe', { maxComputeInvocationsPerWorkgroup: 64, maxComputeWorkgroupSizeY: 4 });
    for (const c of convCandidates('fwd', g, fwdOptions(), narrow)) {
      if (c.plan.path === 'implicit') expect(c.plan.gemm.config.wgY, c.variant).toBeLessThanOrEqual(4);
    }
    expect(planConv('fwd', g, fwdOptions(), narrow).variant).toBe('window');
    // Textures of 64 texels a side cannot hold these weights: no texture path.
    const small = settingsFor('llvmpipe', { maxTextureDimension2D: 64 });
    const names = convCandidates('fwd', geometry({ n: 4, c: 16, h: 16, w: 16, oc: 16, kh: 3, ph: 1 }), fwdOptions(), small).map((c) => c.variant);
    expect(names.filter((v) => TEXTURE_VARIANTS.includes(v))).toEqual([]);
    expect(names.length).toBeGreaterThan(0);
  });
});

// ---- every candidate, run --------------------------------------------------------------------

useGpuRuntime(31);

/** The variants either profile (and this device's limits) offers for a pass, once each. */
function allVariants(pass: ConvPass, g: Conv2dGeometry, o: Partial<ConvOptions>): string[] {
  const names = new Set<string>();
  for (const s of [settingsFor('llvmpipe'), settingsFor('gpu'), rt.settings]) for (const c of convCandidates(pass, g, o, s)) names.add(c.variant);
  return [...names];
}

/** The plan of `variant` on this device (forced through the settings, as WGPRUNE_KERNEL would). */
function forcedPlan(pass: ConvPass, g: Conv2dGeometry, o: Partial<ConvOptions>, variant: string): ConvPlan {
  const s: KernelSettings = { ...rt.settings, forced: { [CONV_FAMILY[pass]]: variant } };
  const chosen = planConv(pass, g, o, s);
  expect(chosen.record.source).toBe('forced');
  return chosen.plan;
}

/**
 * Small geometries that reach every path: window (and its pooled stores), shifted copies, im2col
 * texture, 1×1, split-K, empty. Each pipeline compiles once per geometry (slowly, on llvmpipe),
 * so the set is short and every shape covers several features.
 */
const RUN: ConvSpec[] = [
  // The texture paths need outputs that fill their GEMM's blocks (kernels/matmul/plan.ts's textureBlock).
  { n: 8, c: 3, h: 8, w: 8, oc: 8, kh: 3, ph: 1 }, // window (+pool), shifted, im2col texture; weight gradient k = 512: split-K
  { n: 8, c: 1, h: 9, w: 15, oc: 9, kh: 3, kw: 2, sh: 2, dh: 2, ph: 2, pw: 1 }, // 1 channel, strided, dilated, padded, non-square, 9 output channels, 5×8 outputs
  { n: 2, c: 5, h: 3, w: 7, oc: 3, kh: 1 }, // 1×1: pointwise; odd sizes (no vec4 stores)
  { n: 2, c: 0, h: 5, w: 5, oc: 3, kh: 3, ph: 1 }, // no input channels: the forward pass is the bias
  { n: 2, c: 3, h: 5, w: 5, oc: 0, kh: 3, ph: 1 }, // no output channels: the input gradient is zero
  { n: 0, c: 3, h: 5, w: 5, oc: 4, kh: 3, ph: 1 }, // no images: the weight gradient is zero
];

describe('every candidate of every profile, forced and run on this adapter, vs the CPU reference', () => {
  for (const spec of RUN) {
    const g = geometry(spec);
    it(`${JSON.stringify(spec)}`, { timeout: 300_000 }, async () => {
      const x = randn(g.n * g.c * g.h * g.w), w = randn(g.oc * g.c * g.kh * g.kw), bias = randn(g.oc), gy = randn(g.n * g.oc * g.oh * g.ow);
      const [gx, gw, gb, ggy] = [x, w, bias, gy].map((a) => track(rt.upload(a))) as [GpuStorage, GpuStorage, GpuStorage, GpuStorage];
      const ran = new Set<string>();
      // Each forward variant runs once, with the epilogues taken in turn (plain; bias + ReLU; bias + ReLU + pooling)
      // among those it is a candidate for: every variant runs, and every epilogue on most of them.
      const epilogues = [fwdOptions(false, false), fwdOptions(true, true), ...(g.oh >= 2 && g.ow >= 2 ? [fwdOptions(true, true, poolOf(g))] : [])];
      const offered = epilogues.map((o) => allVariants('fwd', g, o));
      const variants = [...new Set(offered.flat())];
      const runs = variants.map((variant, i): [string, ConvOptions] => {
        const usable = epilogues.filter((_, e) => offered[e]!.includes(variant));
        return [variant, usable[i % usable.length]!];
      });
      // With few variants (an empty reduction has one), every epilogue still runs once.
      epilogues.forEach((o, e) => {
        if (!runs.some(([, used]) => used === o) && offered[e]!.length) runs.push([offered[e]![0]!, o]);
      });
      for (const [variant, o] of runs) {
        let want = cpuConv.conv2d(f64(x), f64(w), o.bias ? f64(bias) : null, g, o.relu);
        if (o.pool) want = cpuPool.maxPool2d(want, o.pool).out;
        const y = track(convWith(rt, forcedPlan('fwd', g, o, variant), g, { x: gx, w: gw, bias: o.bias ? gb : null }));
        expectClose(await rt.read(y), want, `forward ${variant} ${convProblemKey('fwd', g, o)}`);
        ran.add(`fwd:${variant}`);
      }
      const wantGx = cpuConv.conv2dGradInput(f64(gy), f64(w), g);
      for (const variant of allVariants('gradInput', g, {})) {
        const dx = track(convWith(rt, forcedPlan('gradInput', g, {}, variant), g, { gy: ggy, w: gw }));
        expectClose(await rt.read(dx), wantGx, `grad input ${variant}`);
        ran.add(`gradInput:${variant}`);
      }
      const wantGw = cpuConv.conv2dGradWeight(f64(x), f64(gy), g);
      for (const variant of allVariants('gradWeight', g, {})) {
        const dw = track(convWith(rt, forcedPlan('gradWeight', g, {}, variant), g, { x: gx, gy: ggy }));
        expectClose(await rt.read(dw), wantGw, `grad weight ${variant}`);
        ran.add(`gradWeight:${variant}`);
      }
      // Every pass ran at least one program.
      for (const pass of PASSES) expect([...ran].some((r) => r.startsWith(`${pass}:`)), pass).toBe(true);
    });
  }

  it('the geometries reach every kind of variant', () => {
    const kinds = new Set<string>();
    for (const spec of RUN) {
      const g = geometry(spec);
      for (const pass of PASSES) {
        for (const o of [fwdOptions(false, false), fwdOptions(true, true, poolOf(g))]) {
          for (const v of allVariants(pass, g, optionsFor(pass, o))) kinds.add(`${pass}:${v.startsWith('implicit-') ? (v.includes('+split') ? 'implicit+split' : 'implicit') : v}`);
        }
      }
    }
    expect([...kinds].sort()).toEqual([
      'fwd:empty', 'fwd:im2col-texture', 'fwd:implicit', 'fwd:pointwise', 'fwd:shifted', 'fwd:window', 'fwd:window+pool',
      'gradInput:empty', 'gradInput:implicit', 'gradInput:pointwise',
      'gradWeight:empty', 'gradWeight:implicit', 'gradWeight:implicit+split',
    ]);
  });

  it('the launchers follow the runtime\'s settings: a variant forced there is the one that runs', async () => {
    const g = geometry(RUN[0]!);
    const records: PlanRecord[] = [];
    const saved = rt.settings;
    rt.settings = { ...saved, forced: { 'conv-fwd': 'im2col-texture', 'conv-grad-input': 'implicit-2x4-wg16x4', 'conv-grad-weight': 'implicit-4x8-wg16x8' }, onPlan: (r) => records.push(r) };
    try {
      const x = randn(g.n * g.c * g.h * g.w), w = randn(g.oc * g.c * 9), gy = randn(g.n * g.oc * g.oh * g.ow);
      const [gx, gw, ggy] = [x, w, gy].map((a) => track(rt.upload(a))) as [GpuStorage, GpuStorage, GpuStorage];
      expectClose(await rt.read(track(conv2dForward(rt, gx, gw, null, g, true))), cpuConv.conv2d(f64(x), f64(w), null, g, true), 'forward');
      expectClose(await rt.read(track(conv2dGradInput(rt, ggy, gw, g))), cpuConv.conv2dGradInput(f64(gy), f64(w), g), 'grad input');
      expectClose(await rt.read(track(conv2dGradWeight(rt, gx, ggy, g))), cpuConv.conv2dGradWeight(f64(x), f64(gy), g), 'grad weight');
    } finally {
      rt.settings = saved;
    }
    expect(records.map((r) => [r.family, r.variant, r.source])).toEqual([
      ['conv-fwd', 'im2col-texture', 'forced'], ['conv-grad-input', 'implicit-2x4-wg16x4', 'forced'], ['conv-grad-weight', 'implicit-4x8-wg16x8', 'forced'],
    ]);
  });
});
