/**
 * Every matmul program variant against a float64 reference: each tile configuration
 * of the ladder, the four operand layouts (A·B, Aᵀ·B, A·Bᵀ, Aᵀ·Bᵀ), vec4 and scalar
 * loads, vec4 and scalar stores, bounds-checked and exact tiles, batches (including a
 * broadcast operand), the fused bias/ReLU epilogue, split-K and the gemv kernels —
 * the workgroup-memory GEMM's blocks, layouts, load modes, epilogues and split-K slices — each
 * forced explicitly through `matmulWith` — on shapes that do and do not divide the tiles
 * (1×N, N×1, primes, k = 1); then the automatic choice on a grid of shapes, and a WGSL compile
 * check of every generated variant. (test/matmul-plan.test.ts runs every candidate the planner
 * offers, the 64 × 32 register tile included.)
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Generator } from '../engine/random.js';
import { acquireDevice } from '../gpu/device.js';
import { GpuRuntime } from '../gpu/runtime.js';
import type { KernelSettings } from '../gpu/profile.js';
import { matmulWith, planPrograms, type MatmulPlan } from '../kernels/matmul.js';
import { bigTileAllowed, gemvFor, planMatmul, SHARED_LADDER, sharedFor, TILE_LADDER, tiledFor } from '../kernels/matmul/plan.js';
import { type TiledConfig, tiledProgram } from '../kernels/matmul/tiled.js';
import { type SharedGemmConfig, sharedGemmProgram } from '../kernels/matmul/shared-gemm.js';
import { gemvProgram } from '../kernels/matmul/gemv.js';
import { splitReduceProgram } from '../kernels/matmul/splitk.js';
import { rowsGemmFits } from '../kernels/matmul/rows-gemm.js';
import { programSource, type Program } from '../gpu/program.js';
import { type Epilogue, geometry, MatmulChecker, type Spec } from './helpers/matmul.js';

let rt: GpuRuntime;
const rng = new Generator(1234);
const checker = new MatmulChecker(() => rt, 1234);
const check = (s: Spec, plan: MatmulPlan | null, epi: Epilogue = {}) => checker.check(s, plan, epi);

beforeAll(async () => {
  rt = new GpuRuntime(await acquireDevice());
});
afterAll(() => rt?.destroy());

/** The device's limits with the llvmpipe profile's rules (the selection these tests pin down). */
const llvmpipe = (): KernelSettings => ({ ...rt.settings, profile: 'llvmpipe', forced: {}, tuned: null });
const select = (s: Spec, epi: Epilogue = {}) => planMatmul(geometry(s), epi, llvmpipe()).plan;

const single = (program: MatmulPlan['program'], k: number): MatmulPlan => ({ program, splits: 1, kChunk: k });
const LAYOUTS: Array<[boolean, boolean]> = [[false, false], [true, false], [false, true], [true, true]];
const SMALL = TILE_LADDER[TILE_LADDER.length - 1]!;
const MID = TILE_LADDER[TILE_LADDER.length - 2]!;

describe('tiled kernel: every tile configuration of the ladder', () => {
  // The 64 × 32 tile (~20 s for llvmpipe's LLVM to compile on a cold shader cache) runs once, with
  // every other candidate, in matmul-plan.test.ts.
  for (const tile of TILE_LADDER.filter((t) => t.tm * t.tn <= 256)) {
    const [tr, tc] = [tile.tm * tile.wgY, 4 * tile.tn * tile.wgX];
    const big = tile.tm * tile.tn > 64;
    it(`tile ${tile.tm}x${4 * tile.tn} wg ${tile.wgX}x${tile.wgY}: exact (${tr}x${tc}) shape${big ? ' (only variant used)' : ', checked shapes'}`, async () => {
      const exact = { m: tr, k: 12, n: tc };
      const cfg = tiledFor(geometry(exact), tile, {});
      expect(cfg.checked).toBe(false);
      expect(bigTileAllowed(cfg)).toBe(true);
      await check(exact, single(cfg, exact.k));
      if (big) {
        // Only the plain, exact, vec4 variant of a big tile is ever selected (see bigTileAllowed).
        expect(bigTileAllowed({ ...cfg, checked: true })).toBe(false);
        return;
      }
      const ragged = { m: tr + 4, k: 12, n: tc - 4 };
      const cfg2 = tiledFor(geometry(ragged), tile, {});
      expect(cfg2.checked).toBe(true);
      await check(ragged, single(cfg2, ragged.k));
      const odd = { m: tr + 3, k: 7, n: tc - 5 };
      await check(odd, single(tiledFor(geometry(odd), tile, {}), odd.k));
    });
  }
});

describe('tiled kernel: layouts × load modes × stores × bounds checks', () => {
  const shapes: Spec[] = [
    { m: 32, k: 16, n: 64 }, // every dimension a multiple of 4 and (for SMALL) dividing the tile: vec4 everywhere, exact
    { m: 36, k: 20, n: 44 }, // multiples of 4, tiles overhang: vec4, checked
    { m: 13, k: 31, n: 7 }, // primes: scalar loads and stores, checked, k tail
    { m: 31, k: 1, n: 127 }, // k = 1
    { m: 1, k: 13, n: 17 }, // a single row
    { m: 17, k: 8, n: 1 }, // a single column
    { m: 12, k: 9, n: 8 }, // m, n multiples of 4, k not
  ];
  for (const [transA, transB] of LAYOUTS) {
    for (const tile of [SMALL, MID]) {
      it(`${transA ? 'Aᵀ' : 'A'}·${transB ? 'Bᵀ' : 'B'} tile ${tile.tm}x${4 * tile.tn}: fastest modes, then scalar loads forced`, async () => {
        for (const s0 of shapes) {
          const s = { ...s0, transA, transB };
          const cfg = tiledFor(geometry(s), tile, {});
          await check(s, single(cfg, s.k));
          if (cfg.aMode !== 'scalar' || cfg.bMode !== 'scalar') await check(s, single({ ...cfg, aMode: 'scalar', bMode: 'scalar' }, s.k));
        }
      });
    }
  }
  it('vec4 loads combined with scalar stores and mixed modes', async () => {
    const s = { m: 16, k: 16, n: 64 };
    const cfg = tiledFor(geometry(s), SMALL, {});
    await check(s, single({ ...cfg, bMode: 'scalar', cVec: false }, s.k));
    await check(s, single({ ...cfg, aMode: 'scalar' }, s.k));
    const t = { m: 16, k: 16, n: 64, transA: true, transB: true };
    const cfg2 = tiledFor(geometry(t), MID, {});
    expect([cfg2.aMode, cfg2.bMode]).toEqual(['vecMN', 'vecK']);
    await check(t, single({ ...cfg2, bMode: 'scalar' }, t.k));
    await check(t, single({ ...cfg2, aMode: 'scalar' }, t.k));
  });
});

describe('batched', () => {
  for (const [transA, transB] of LAYOUTS) {
    it(`${transA ? 'Aᵀ' : 'A'}·${transB ? 'Bᵀ' : 'B'}: batch 3, and one operand broadcast (stride 0)`, async () => {
      await check({ batch: 3, m: 20, k: 12, n: 24, transA, transB }, null);
      await check({ batch: 3, m: 7, k: 5, n: 9, transA, transB }, null);
      await check({ batch: 2, m: 8, k: 8, n: 12, transA, transB, broadcast: 'a' }, null);
      await check({ batch: 2, m: 9, k: 6, n: 5, transA, transB, broadcast: 'b' }, null);
    });
  }
});

describe('fused epilogue (bias per column, ReLU)', () => {
  const epis = [{ bias: true }, { relu: true }, { bias: true, relu: true }];
  it('tiled, vec4 and scalar stores, exact and checked', async () => {
    for (const s of [{ m: 32, k: 8, n: 64 }, { m: 13, k: 7, n: 31 }, { m: 20, k: 12, n: 36, transB: true }]) {
      for (const e of epis) await check(s, single(tiledFor(geometry(s), SMALL, e), s.k), e);
    }
  });
  it('gemv, both sides and both forms', async () => {
    for (const s of [{ m: 1, k: 16, n: 40 }, { m: 1, k: 13, n: 31, transB: true }, { m: 37, k: 8, n: 1 }, { m: 12, k: 9, n: 1, transA: true }]) {
      for (const e of epis) await check(s, single(gemvFor(geometry(s), e), s.k), e);
    }
  });
  it('split-K reduction, vec4 and scalar', async () => {
    for (const s of [{ m: 8, k: 64, n: 12 }, { m: 5, k: 50, n: 7 }]) {
      for (const e of epis) await check(s, { program: tiledFor(geometry(s), SMALL, {}, true), splits: 4, kChunk: 16 }, e);
    }
  });
});

describe('split-K', () => {
  it('tiled partial sums over 2..5 slices, k not a multiple of the chunk, all layouts', async () => {
    for (const [transA, transB] of LAYOUTS) {
      for (const [s, splits, kChunk] of [
        [{ m: 16, k: 40, n: 16, transA, transB }, 3, 16],
        [{ m: 7, k: 31, n: 13, transA, transB }, 4, 8],
        [{ batch: 2, m: 12, k: 20, n: 8, transA, transB }, 5, 4],
      ] as Array<[Spec, number, number]>) {
        await check(s, { program: tiledFor(geometry(s), SMALL, {}, true), splits, kChunk });
      }
    }
  });
  it('gemv partial sums', async () => {
    await check({ m: 1, k: 96, n: 20 }, { program: gemvFor(geometry({ m: 1, k: 96, n: 20 }), {}, true), splits: 3, kChunk: 32 });
    await check({ m: 13, k: 50, n: 1 }, { program: gemvFor(geometry({ m: 13, k: 50, n: 1 }), {}, true), splits: 2, kChunk: 28 });
  });
  it('is chosen for a small output with a long k', () => {
    const plan = select({ m: 10, k: 4096, n: 10 });
    expect(plan.splits).toBeGreaterThan(1);
    expect(plan.kChunk % 4).toBe(0);
  });
});

describe('gemv (m == 1 or n == 1)', () => {
  it('dot and axpy forms, vec4 and scalar, exact and checked, on both sides', async () => {
    const specs: Spec[] = [
      { m: 1, k: 16, n: 256 }, { m: 1, k: 13, n: 31 }, { m: 1, k: 16, n: 256, transB: true }, { m: 1, k: 7, n: 127, transB: true },
      { m: 256, k: 16, n: 1 }, { m: 127, k: 13, n: 1 }, { m: 256, k: 8, n: 1, transA: true }, { m: 31, k: 5, n: 1, transA: true },
      { m: 1, k: 1, n: 1 }, { m: 1, k: 31, n: 1, transA: true, transB: true }, { batch: 3, m: 1, k: 12, n: 20 },
    ];
    const forms = new Set<string>();
    for (const s of specs) {
      const plan = select(s);
      expect(plan.program.kind).toBe('gemv');
      const gp = plan.program;
      if (gp.kind === 'gemv') forms.add(`${gp.side}:${gp.form}:${gp.vec ? 'vec4' : 'f32'}`);
      await check(s, plan);
      const p = gemvFor(geometry(s), {}, false, 1, 32);
      await check(s, single(p, s.k));
      if (p.vec) await check(s, single({ ...p, vec: false }, s.k));
    }
    expect(forms.size).toBeGreaterThanOrEqual(6);
  });
});

describe('texture GEMM', () => {
  const shapes: Spec[] = [
    { m: 32, k: 16, n: 64 }, // multiples of the 8 × 8 block
    { m: 13, k: 31, n: 7 }, // ragged in every direction
    { m: 70, k: 1, n: 36 }, // k = 1
    { m: 5, k: 300, n: 130 },
    { m: 36, k: 128, n: 20 }, // rows of 512 bytes: the operand transposes read a texture copy
  ];
  for (const [transA, transB] of LAYOUTS) {
    it(`${transA ? 'Aᵀ' : 'A'}·${transB ? 'Bᵀ' : 'B'}: blocks 1×1, 2×2, 4×2, 4×4, with and without bias and ReLU`, async () => {
      for (const s of shapes) {
        const spec = { ...s, transA, transB };
        for (const [r, t] of [[1, 1], [2, 2], [4, 2], [4, 4]] as const) {
          await check(spec, single({ kind: 'texture', r, t, epilogue: {}, split: false }, s.k));
        }
        await check(spec, single({ kind: 'texture', r: 2, t: 2, epilogue: { bias: true, relu: true }, split: false }, s.k), { bias: true, relu: true });
        await check(spec, single({ kind: 'texture', r: 2, t: 2, epilogue: { bias: true }, split: false }, s.k), { bias: true });
      }
    });
  }
  it('frees its operand textures', async () => {
    const before = rt.memoryStats().inUseBytes;
    await check({ m: 64, k: 40, n: 64 }, single({ kind: 'texture', r: 2, t: 2, epilogue: {}, split: false }, 40));
    await rt.sync();
    // The check released A, B and C; the two operand textures are gone too.
    expect(rt.memoryStats().inUseBytes).toBe(before);
  });
});

describe('row-texture GEMM (A·Bᵀ over texture copies of the rows)', () => {
  const shapes: Spec[] = [
    { m: 32, k: 64, n: 64, transB: true }, // whole blocks
    { m: 13, k: 128, n: 7, transB: true }, // ragged m; n % 4 != 0: scalar stores
    { m: 70, k: 64, n: 36, transB: true },
    { m: 5, k: 320, n: 130, transB: true }, // k not a power of two
  ];
  const rows = (r: number, t: number, epilogue: { bias?: boolean; relu?: boolean }, n: number, splits = 1, k = 0): MatmulPlan => {
    const kChunk = splits === 1 ? k : Math.ceil(k / 4 / splits) * 4;
    return { program: { kind: 'rows', r, t, epilogue, split: splits > 1, vec4: n % 4 === 0 }, splits: splits === 1 ? 1 : Math.ceil(k / kChunk), kChunk };
  };
  it(`blocks 1×1, 2×4, 4×4, with and without bias and ReLU`, async () => {
    for (const s of shapes) {
      expect(rowsGemmFits(geometry(s), rt.limits.maxTextureDimension2D!), JSON.stringify(s)).toBe(true);
      for (const [r, t] of [[1, 1], [2, 4], [4, 4]] as const) await check(s, rows(r, t, {}, s.n, 1, s.k));
      await check(s, rows(4, 4, { bias: true, relu: true }, s.n, 1, s.k), { bias: true, relu: true });
      await check(s, rows(2, 2, { bias: true }, s.n, 1, s.k), { bias: true });
    }
  });
  it('split k: slices of whole texels, the last one short, reduced with the epilogue', async () => {
    for (const s of [{ m: 20, k: 320, n: 12, transB: true }, { m: 9, k: 192, n: 10, transB: true }]) {
      for (const splits of [2, 3, 8]) await check(s, rows(4, 4, { bias: true, relu: true }, s.n, splits, s.k), { bias: true, relu: true });
    }
  });
  it('is chosen for A·Bᵀ whose rows are a multiple of 64 long, and splits small outputs', () => {
    const lim = rt.limits;
    const linear = select({ m: 256, k: 2048, n: 64, transB: true }, { bias: true, relu: true });
    expect(linear.program.kind).toBe('rows');
    expect(linear.splits).toBe(8);
    // k = 8192 is past the texture GEMM's limit (k ≤ 4096) but not past this one's (k/4 ≤ 4096).
    expect(select({ m: 256, k: 8192, n: 256, transB: true }).program.kind).toBe('rows');
    expect(select({ m: 256, k: 784, n: 300, transB: true }).program.kind).toBe('texture'); // rows of 784
    expect(select({ m: 256, k: 1024, n: 256 }).program.kind).toBe('texture'); // B not transposed
    expect(rowsGemmFits(geometry({ m: 256, k: 4 * lim.maxTextureDimension2D! + 64, n: 8, transB: true }), lim.maxTextureDimension2D!)).toBe(false);
  });
  it('frees its row textures and partial sums', async () => {
    const before = rt.memoryStats().inUseBytes;
    await check({ m: 64, k: 256, n: 16, transB: true }, rows(4, 4, {}, 16, 4, 256));
    await rt.sync();
    expect(rt.memoryStats().inUseBytes).toBe(before);
  });
});

describe('workgroup-memory GEMM', () => {
  const SMALL_BLOCK = SHARED_LADDER[SHARED_LADDER.length - 1]!;
  const shared = (s: Spec, shape = SMALL_BLOCK, epi: Epilogue = {}, split = false) => sharedFor(geometry(s), shape, epi, split);
  const shapes: Spec[] = [
    { m: 64, k: 32, n: 64 }, // multiples of every dimension of the block: vec4 everywhere, exact
    { m: 36, k: 20, n: 44 }, // multiples of 4, blocks overhang, k not a multiple of the k-step
    { m: 13, k: 31, n: 7 }, // primes: scalar loads and stores, checked
    { m: 31, k: 1, n: 127 }, // k = 1
    { m: 1, k: 13, n: 17 }, // a single row
  ];
  for (const [transA, transB] of LAYOUTS) {
    it(`${transA ? 'Aᵀ' : 'A'}·${transB ? 'Bᵀ' : 'B'}: vec4 loads where aligned, then scalar loads forced`, async () => {
      for (const s0 of shapes) {
        const s = { ...s0, transA, transB };
        const cfg = shared(s);
        expect(cfg.checked).toBe(s.m % SMALL_BLOCK.bm !== 0 || s.n % SMALL_BLOCK.bn !== 0);
        await check(s, single(cfg, s.k));
        if (cfg.aVec || cfg.bVec) await check(s, single({ ...cfg, aVec: false, bVec: false }, s.k));
      }
    });
  }
  it('every block of the ladder, exact and ragged', async () => {
    for (const block of SHARED_LADDER) {
      const exact = { m: block.bm, k: 2 * block.bk + 4, n: block.bn };
      expect(shared(exact, block).checked).toBe(false);
      await check(exact, single(shared(exact, block), exact.k));
      const ragged = { m: block.bm + 3, k: block.bk - 3, n: block.bn + 5, transB: true };
      await check(ragged, single(shared(ragged, block), ragged.k));
    }
  });
  it('fused epilogue, vec4 and scalar stores, exact and checked', async () => {
    for (const s of [{ m: 32, k: 8, n: 64 }, { m: 13, k: 7, n: 31 }, { m: 20, k: 12, n: 36, transB: true }]) {
      for (const e of [{ bias: true }, { relu: true }, { bias: true, relu: true }]) await check(s, single(shared(s, SMALL_BLOCK, e), s.k), e);
    }
  });
  it('batches, a broadcast operand', async () => {
    for (const [transA, transB] of LAYOUTS) {
      await check({ batch: 3, m: 20, k: 12, n: 24, transA, transB }, single(shared({ batch: 3, m: 20, k: 12, n: 24, transA, transB }), 12));
      const s = { batch: 2, m: 9, k: 6, n: 5, transA, transB, broadcast: 'b' as const };
      await check(s, single(shared(s), s.k));
      const t = { batch: 2, m: 8, k: 8, n: 12, transA, transB, broadcast: 'a' as const };
      await check(t, single(shared(t), t.k));
    }
  });
  it('split-K partial sums: slices shorter and longer than the k-step, the last one short, with the reduction\'s epilogue', async () => {
    for (const [transA, transB] of LAYOUTS) {
      for (const [s, splits, kChunk] of [
        [{ m: 16, k: 40, n: 16, transA, transB }, 3, 16],
        [{ m: 7, k: 31, n: 13, transA, transB }, 4, 8],
        [{ batch: 2, m: 12, k: 100, n: 8, transA, transB }, 3, 36],
      ] as Array<[Spec, number, number]>) {
        await check(s, { program: shared(s, SMALL_BLOCK, {}, true), splits, kChunk }, { bias: true, relu: true });
      }
    }
  });
  it('refuses an epilogue on partial sums, and slices that would cut a vec4 along k', () => {
    const s = { m: 8, k: 40, n: 8 };
    expect(() => sharedGemmProgram({ ...shared(s, SMALL_BLOCK, {}, true), epilogue: { bias: true } })).toThrow(/partial sums take no epilogue/);
    const a = rt.upload(new Float32Array(8 * 40)), b = rt.upload(new Float32Array(40 * 8));
    try {
      expect(() => matmulWith(rt, { program: shared(s, SMALL_BLOCK, {}, true), splits: 3, kChunk: 14 }, a, b, geometry(s))).toThrow(/multiples of 4/);
    } finally {
      rt.release(a);
      rt.release(b);
    }
  });
});

describe('automatic choice', () => {
  it('matches the reference on a grid of shapes around every tile', async () => {
    const sizes = [1, 2, 3, 4, 5, 7, 8, 13, 31, 64, 127];
    for (let i = 0; i < 40; i++) {
      const pick = () => sizes[Math.floor(rng.uniform() * sizes.length)]!;
      await check({ m: pick(), k: pick(), n: pick(), transA: rng.uniform() < 0.5, transB: rng.uniform() < 0.5 }, null);
    }
  });
  it('unbatched products that fit the textures take the texture GEMM; batched or tiny ones do not', () => {
    expect(select({ m: 1024, k: 1024, n: 1024 }).program.kind).toBe('texture');
    expect(select({ m: 256, k: 1000, n: 1024, transB: true }, { bias: true }).program.kind).toBe('texture');
    expect(select({ batch: 2, m: 256, k: 64, n: 256 }).program.kind).toBe('tiled');
    expect(select({ m: 16, k: 64, n: 16 }).program.kind).not.toBe('texture');
    const max = rt.limits.maxTextureDimension2D;
    expect(select({ m: 64, k: max + 1, n: 64 }).program.kind).not.toBe('texture');
  });
  it('the device profile decides: the gpu rules take the workgroup-memory GEMM on the same device', async () => {
    const gpu: KernelSettings = { ...rt.settings, profile: 'gpu', forced: {}, tuned: null };
    const s = { m: 256, k: 64, n: 256 };
    const chosen = planMatmul(geometry(s), { bias: true }, gpu);
    expect(chosen.plan.program.kind).toBe('shared');
    await check(s, chosen.plan, { bias: true });
  });
  it('empty reduction (k = 0) gives zeros plus the epilogue', async () => {
    await check({ m: 3, k: 0, n: 5 }, null);
    await check({ m: 4, k: 0, n: 8 }, null, { bias: true, relu: true });
  });
});

describe('WGSL compile check of every generated variant', () => {
  function variants(): Program[] {
    const out: Program[] = [];
    const modesA = (tA: boolean, tm: number) => (tA ? (tm % 4 === 0 ? ['vecMN', 'scalar'] : ['scalar']) : ['vecK', 'scalar']) as TiledConfig['aMode'][];
    const modesB = (tB: boolean) => (tB ? ['vecK', 'scalar'] : ['vecMN', 'scalar']) as TiledConfig['bMode'][];
    const epilogues = [{ bias: true }, { relu: true }, { bias: true, relu: true }, 'split' as const];
    const tiled = (c: Omit<TiledConfig, 'kind' | 'split' | 'epilogue'>, epi: (typeof epilogues)[number] | object) =>
      tiledProgram({ kind: 'tiled', ...c, split: epi === 'split', epilogue: epi === 'split' ? {} : epi });
    for (const tile of TILE_LADDER) {
      const big = tile.tm * tile.tn > 64;
      if (big) {
        // The only variants of the big tiles that selection uses (pipeline creation compiles the WGSL;
        // llvmpipe's own JIT runs at the first dispatch).
        for (const epi of [{}, ...epilogues]) out.push(tiled({ ...tile, transA: false, transB: false, aMode: 'vecK', bMode: 'vecMN', cVec: true, checked: false }, epi));
        continue;
      }
      const mid = tile.tm * tile.tn > 16;
      for (const [transA, transB] of LAYOUTS)
        for (const aMode of mid ? modesA(transA, tile.tm).slice(0, 1) : modesA(transA, tile.tm))
          for (const bMode of mid ? modesB(transB).slice(0, 1) : modesB(transB))
            for (const cVec of bMode === 'vecMN' ? [true] : [true, false])
              for (const checked of [false, true]) out.push(tiled({ ...tile, transA, transB, aMode, bMode, cVec, checked }, {}));
      for (const cVec of [true, false])
        for (const checked of [false, true])
          for (const epi of epilogues) out.push(tiled({ ...tile, transA: false, transB: true, aMode: 'vecK', bMode: 'vecK', cVec, checked }, epi));
    }
    for (const side of ['n1', 'm1'] as const)
      for (const form of ['dot', 'axpy'] as const)
        for (const vec of [true, false])
          for (const r of form === 'dot' ? [1, 4] : [4])
            for (const checked of [false, true])
              for (const epi of [{}, { bias: true, relu: true }, 'split' as const]) {
                out.push(gemvProgram({ kind: 'gemv', side, form, vec, r, wg: 64, checked, split: epi === 'split', epilogue: epi === 'split' ? {} : epi }));
              }
    for (const vec of [true, false]) for (const bias of [true, false]) for (const relu of [true, false]) out.push(splitReduceProgram({ vec, bias, relu }));
    const shared = (c: Omit<SharedGemmConfig, 'kind' | 'split' | 'epilogue'>, epi: (typeof epilogues)[number] | object) =>
      sharedGemmProgram({ kind: 'shared', ...c, split: epi === 'split', epilogue: epi === 'split' ? {} : epi });
    for (const block of SHARED_LADDER) {
      for (const [transA, transB] of LAYOUTS)
        for (const aVec of [true, false])
          for (const bVec of [true, false])
            for (const checked of [false, true]) out.push(shared({ ...block, transA, transB, aVec, bVec, cVec: bVec && !transB, checked }, {}));
      for (const cVec of [true, false])
        for (const checked of [false, true])
          for (const epi of epilogues) out.push(shared({ ...block, transA: false, transB: true, aVec: true, bVec: true, cVec, checked }, epi));
    }
    return out;
  }
  it('compiles without validation errors', async () => {
    const device = rt.device;
    // Variants whose WGSL is the same (split-K partial sums and no epilogue) share a key: compile each key once.
    const programs = [...new Map(variants().map((p) => [p.key, p])).values()];
    expect(programs.length).toBeGreaterThan(300);
    const failures: string[] = [];
    for (const p of programs) {
      device.pushErrorScope('validation');
      const module = device.createShaderModule({ code: programSource(p), label: p.key });
      device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: p.key });
      const err = await device.popErrorScope();
      if (err) failures.push(`${p.key}: ${err.message}`);
    }
    expect(failures).toEqual([]);
  });
});
