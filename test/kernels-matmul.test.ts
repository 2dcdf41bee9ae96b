/**
 * Every matmul program variant against a float64 reference: each tile configuration
 * of the ladder, the four operand layouts (A·B, Aᵀ·B, A·Bᵀ, Aᵀ·Bᵀ), vec4 and scalar
 * loads, vec4 and scalar stores, bounds-checked and exact tiles, batches (including a
 * broadcast operand), the fused bias/ReLU epilogue, split-K and the gemv kernels —
 * each forced explicitly through `matmulWith` — on shapes that do and do not divide
 * the tiles (1×N, N×1, primes, k = 1); then the automatic choice on a grid of shapes,
 * and a WGSL compile check of every generated variant.
 */
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import type { MatmulGeometry } from '../engine/backend.js';
import { Generator } from '../engine/random.js';
import { acquireDevice } from '../gpu/device.js';
import { GpuRuntime, type GpuStorage } from '../gpu/runtime.js';
import { matmul, matmulWith, planPrograms, type MatmulPlan } from '../kernels/matmul.js';
import { bigTileAllowed, gemvFor, selectMatmul, TILE_LADDER, tiledFor } from '../kernels/matmul/select.js';
import { type TiledConfig, tiledProgram } from '../kernels/matmul/tiled.js';
import { gemvProgram } from '../kernels/matmul/gemv.js';
import { splitReduceProgram } from '../kernels/matmul/splitk.js';
import { rowsGemmFits } from '../kernels/matmul/rows-gemm.js';
import { programSource, type Program } from '../gpu/program.js';

let rt: GpuRuntime;
const live: GpuStorage[] = [];
const track = (s: GpuStorage) => (live.push(s), s);
const rng = new Generator(1234);

beforeAll(async () => {
  rt = new GpuRuntime(await acquireDevice());
});
afterEach(() => {
  for (const s of live.splice(0)) rt.release(s);
});
afterAll(() => rt?.destroy());

function randn(size: number): Float32Array {
  const a = new Float32Array(size);
  for (let i = 0; i < size; i++) a[i] = rng.normal();
  return a;
}

type Spec = { batch?: number; m: number; k: number; n: number; transA?: boolean; transB?: boolean; broadcast?: 'a' | 'b' };

function geometry(s: Spec): MatmulGeometry {
  const batch = s.batch ?? 1;
  return {
    batch, m: s.m, k: s.k, n: s.n, transA: !!s.transA, transB: !!s.transB,
    aBatchStride: s.broadcast === 'a' ? 0 : s.m * s.k, bBatchStride: s.broadcast === 'b' ? 0 : s.k * s.n,
  };
}

/** float64 reference with either layout, plus Σ|a·b| per element for the tolerance. */
function reference(a: Float32Array, b: Float32Array, g: MatmulGeometry, bias: Float32Array | null, relu: boolean): { out: Float64Array; mag: Float64Array } {
  const { batch, m, k, n } = g;
  const out = new Float64Array(batch * m * n), mag = new Float64Array(batch * m * n);
  for (let z = 0; z < batch; z++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let acc = 0, abs = 0;
        for (let p = 0; p < k; p++) {
          const av = a[z * g.aBatchStride + (g.transA ? p * m + i : i * k + p)]!;
          const bv = b[z * g.bBatchStride + (g.transB ? j * k + p : p * n + j)]!;
          acc += av * bv;
          abs += Math.abs(av * bv);
        }
        if (bias) acc += bias[j]!;
        const o = (z * m + i) * n + j;
        out[o] = relu ? Math.max(acc, 0) : acc;
        mag[o] = abs + (bias ? Math.abs(bias[j]!) : 0);
      }
  return { out, mag };
}

async function check(s: Spec, plan: MatmulPlan | null, epi: { bias?: boolean; relu?: boolean } = {}): Promise<void> {
  const g = geometry(s);
  const aLen = s.broadcast === 'a' ? s.m * s.k : g.batch * s.m * s.k;
  const bLen = s.broadcast === 'b' ? s.k * s.n : g.batch * s.k * s.n;
  const a = randn(aLen), b = randn(bLen);
  const bias = epi.bias ? randn(s.n) : null;
  const ga = track(rt.upload(a)), gb = track(rt.upload(b));
  const gbias = bias ? track(rt.upload(bias)) : null;
  const e = { bias: gbias, relu: !!epi.relu };
  const out = track(plan ? matmulWith(rt, plan, ga, gb, g, e) : matmul(rt, ga, gb, g, e));
  const got = await rt.read(out);
  const { out: want, mag } = reference(a, b, g, bias, !!epi.relu);
  const what = `${JSON.stringify(s)} ${plan ? planPrograms(plan).map((p) => p.key).join(' + ') : 'auto'} ${JSON.stringify(epi)}`;
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= 1e-5 * mag[i]! + 1e-5)) expect.fail(`${what}: element ${i} is ${got[i]}, expected ${want[i]}`);
  }
}

const single = (program: MatmulPlan['program'], k: number): MatmulPlan => ({ program, splits: 1, kChunk: k });
const LAYOUTS: Array<[boolean, boolean]> = [[false, false], [true, false], [false, true], [true, true]];
const SMALL = TILE_LADDER[TILE_LADDER.length - 1]!;
const MID = TILE_LADDER[TILE_LADDER.length - 2]!;

describe('tiled kernel: every tile configuration of the ladder', () => {
  for (const tile of TILE_LADDER) {
    const [tr, tc] = [tile.tm * tile.wgY, 4 * tile.tn * tile.wgX];
    const big = tile.tm * tile.tn > 64;
    // The 64 × 32 tile takes llvmpipe's LLVM minutes to compile on a cold shader cache: its numeric
    // check runs with WGPRUNE_BIG_TILES=1 (the dense benchmark also spot-checks it against float64).
    const huge = tile.tm * tile.tn > 256;
    it.skipIf(huge && !process.env.WGPRUNE_BIG_TILES)(`tile ${tile.tm}x${4 * tile.tn} wg ${tile.wgX}x${tile.wgY}: exact (${tr}x${tc}) shape${big ? ' (only variant used)' : ', checked shapes'}`, async () => {
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
    const plan = selectMatmul(geometry({ m: 10, k: 4096, n: 10 }), {}, rt.limits);
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
      const plan = selectMatmul(geometry(s), {}, rt.limits);
      expect(plan.program.kind).toBe('gemv');
      forms.add(planPrograms(plan)[0]!.key.split(':').slice(2, 5).join(':'));
      await check(s, plan);
      const p = gemvFor(geometry(s), {}, false, 1, 32);
      await check(s, single(p, s.k));
      if (p.vec) await check(s, single({ ...p, vec: false }, s.k));
    }
    expect(forms.size).toBeGreaterThanOrEqual(6);
  });
});

function limitsOf(r: typeof rt) {
  const l = r.limits;
  return {
    maxTextureDimension2D: l.maxTextureDimension2D, maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX, maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
    maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
  };
}

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
    // Still live: the tracked A, B and C buffers (freed after the test); the two operand textures are gone.
    expect(rt.memoryStats().inUseBytes).toBe(before + (64 * 40 + 40 * 64 + 64 * 64) * 4);
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
    const linear = selectMatmul(geometry({ m: 256, k: 2048, n: 64, transB: true }), { bias: true, relu: true }, lim);
    expect(linear.program.kind).toBe('rows');
    expect(linear.splits).toBe(8);
    // k = 8192 is past the texture GEMM's limit (k ≤ 4096) but not past this one's (k/4 ≤ 4096).
    expect(selectMatmul(geometry({ m: 256, k: 8192, n: 256, transB: true }), {}, lim).program.kind).toBe('rows');
    expect(selectMatmul(geometry({ m: 256, k: 784, n: 300, transB: true }), {}, lim).program.kind).toBe('texture'); // rows of 784
    expect(selectMatmul(geometry({ m: 256, k: 1024, n: 256 }), {}, lim).program.kind).toBe('texture'); // B not transposed
    expect(rowsGemmFits(geometry({ m: 256, k: 4 * lim.maxTextureDimension2D! + 64, n: 8, transB: true }), lim.maxTextureDimension2D!)).toBe(false);
  });
  it('frees its row textures and partial sums', async () => {
    const before = rt.memoryStats().inUseBytes;
    await check({ m: 64, k: 256, n: 16, transB: true }, rows(4, 4, {}, 16, 4, 256));
    await rt.sync();
    expect(rt.memoryStats().inUseBytes).toBe(before + (64 * 256 + 16 * 256 + 64 * 16) * 4);
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
    expect(selectMatmul(geometry({ m: 1024, k: 1024, n: 1024 }), {}, rt.limits).program.kind).toBe('texture');
    expect(selectMatmul(geometry({ m: 256, k: 1000, n: 1024, transB: true }), { bias: true }, rt.limits).program.kind).toBe('texture');
    expect(selectMatmul(geometry({ batch: 2, m: 256, k: 64, n: 256 }), {}, rt.limits).program.kind).toBe('tiled');
    expect(selectMatmul(geometry({ m: 16, k: 64, n: 16 }), {}, rt.limits).program.kind).not.toBe('texture');
    const max = rt.limits.maxTextureDimension2D;
    expect(selectMatmul(geometry({ m: 64, k: max + 1, n: 64 }), {}, rt.limits).program.kind).not.toBe('texture');
  });
  it('large outputs take the large tile where textures are not considered; its shape is not part of the key', () => {
    const noTex = { ...limitsOf(rt), maxTextureDimension2D: undefined };
    const a = selectMatmul(geometry({ m: 1024, k: 1024, n: 1024 }), {}, noTex);
    const b = selectMatmul(geometry({ m: 2048, k: 512, n: 2048 }), {}, noTex);
    expect(a.program.kind).toBe('tiled');
    expect((a.program as TiledConfig).tm).toBe(TILE_LADDER[0]!.tm);
    expect(planPrograms(a)[0]!.key).toBe(planPrograms(b)[0]!.key);
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
    return out;
  }
  it('compiles without validation errors', async () => {
    const device = rt.device;
    const programs = variants();
    expect(new Set(programs.map((p) => p.key)).size).toBe(programs.length);
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
