/**
 * The shape-based program choice for a matmul: which kernel, which tile, which load
 * modes, whether bounds checks are needed, and whether k is split.
 *
 * Measured on llvmpipe (2 cores): the fewer storage loads per multiply-add the better,
 * so big outputs get very large per-invocation tiles (64 × 32), smaller outputs step
 * down the ladder until there are enough invocations to fill the SIMD lanes of both
 * cores; small outputs with a long k split k; m == 1 or n == 1 goes to the gemv kernels.
 * Unbatched products that fit the device's textures go to the texture GEMMs first: they
 * avoid storage loads altogether (matmul/rows-gemm.ts for A·Bᵀ with rows of a multiple of
 * 64, matmul/texture-gemm.ts for the rest).
 */
import type { MatmulGeometry } from '../../gpu/types.js';
import type { GemvConfig } from './gemv.js';
import { allowedModes, type MatmulEpilogue } from './layout.js';
import { type RowsGemmConfig, rowsGemmFits, rowsGemmPlan } from './rows-gemm.js';
import { type TextureGemmConfig, textureGemmFits } from './texture-gemm.js';
import type { TiledConfig } from './tiled.js';

export type TexturePlan = TextureGemmConfig & { kind: 'texture'; split: false };
export type RowsPlan = RowsGemmConfig & { kind: 'rows' };

export interface MatmulPlan {
  program: TiledConfig | GemvConfig | TexturePlan | RowsPlan;
  /** k-slices (1: no split-K; otherwise partial sums reduced by the split-K kernel). */
  splits: number;
  /** k per slice (a multiple of 4). */
  kChunk: number;
}

/** Per-invocation tile (rows × vec4 column groups) and workgroup, largest first. */
export const TILE_LADDER: ReadonlyArray<Pick<TiledConfig, 'tm' | 'tn' | 'wgX' | 'wgY'>> = [
  { tm: 64, tn: 8, wgX: 8, wgY: 2 }, // only for outputs of at least HUGE_OUTPUTS elements (see below)
  { tm: 32, tn: 8, wgX: 8, wgY: 4 },
  { tm: 16, tn: 4, wgX: 8, wgY: 8 },
  { tm: 8, tn: 2, wgX: 8, wgY: 8 },
  { tm: 4, tn: 1, wgX: 16, wgY: 8 },
];

/**
 * Tiles above 16 × 16 per invocation are only used where LLVM (llvmpipe's JIT) compiles
 * them quickly: plain A·B with vec4 loads and stores and no bounds checks. Transposed or
 * clamped variants of the 32 × 32 and 64 × 32 tiles took 10 s to minutes to compile here.
 */
export function bigTileAllowed(c: Pick<TiledConfig, 'tm' | 'tn' | 'transA' | 'transB' | 'aMode' | 'bMode' | 'cVec' | 'checked'>): boolean {
  if (c.tm * c.tn <= 64) return true;
  return !c.transA && !c.transB && c.aMode === 'vecK' && c.bMode === 'vecMN' && c.cVec && !c.checked;
}

/**
 * The 64 × 32 tile is the fastest on llvmpipe but takes LLVM minutes to compile cold
 * (Mesa's on-disk shader cache makes later runs instant); it is kept for products
 * whose output has at least this many elements, where one call already costs ~0.1 s.
 */
export const HUGE_OUTPUTS = 1024 * 1024;

/** Invocations wanted before a bigger tile is worth it (2 cores × 8 lanes, a few rounds each). */
const MIN_THREADS = 64;

export interface DeviceLimits {
  /** Absent: the texture GEMM is not considered. */
  maxTextureDimension2D?: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxComputeWorkgroupSizeY: number;
  maxComputeWorkgroupsPerDimension: number;
}

export function fitsLimits(wgX: number, wgY: number, lim: DeviceLimits): boolean {
  return wgX * wgY <= lim.maxComputeInvocationsPerWorkgroup && wgX <= lim.maxComputeWorkgroupSizeX && wgY <= lim.maxComputeWorkgroupSizeY;
}

/** Completes a tiled configuration for a geometry: load modes, vec4 stores, bounds checks. */
export function tiledFor(g: MatmulGeometry, tile: Pick<TiledConfig, 'tm' | 'tn' | 'wgX' | 'wgY'>, epilogue: MatmulEpilogue, split = false): TiledConfig {
  const modes = allowedModes(g);
  let aMode = modes.a[0]!;
  if (aMode === 'vecMN' && tile.tm % 4 !== 0) aMode = 'scalar';
  const cVec = g.n % 4 === 0;
  const checked = g.m % (tile.tm * tile.wgY) !== 0 || g.n % (4 * tile.tn * tile.wgX) !== 0;
  return { kind: 'tiled', ...tile, transA: g.transA, transB: g.transB, aMode, bMode: modes.b[0]!, cVec, checked, split, epilogue: split ? {} : epilogue };
}

export function gemvFor(g: MatmulGeometry, epilogue: MatmulEpilogue, split = false, r = 4, wg = 64): GemvConfig {
  const side = g.n === 1 ? 'n1' : 'm1';
  const L = side === 'n1' ? g.m : g.n;
  // The matrix operand and whether it is contiguous along k.
  const dot = side === 'n1' ? !g.transA : g.transB;
  const stridesAligned = g.aBatchStride % 4 === 0 && g.bBatchStride % 4 === 0;
  const vec = stridesAligned && (dot ? g.k % 4 === 0 : L % 4 === 0);
  const outs = dot ? r : 4;
  return { kind: 'gemv', side, form: dot ? 'dot' : 'axpy', vec, r, wg, checked: L % (wg * outs) !== 0, split, epilogue: split ? {} : epilogue };
}

/** Splits k when the output alone cannot keep both cores busy. */
function chooseSplits(outputs: number, k: number, maxZ: number, batch: number): { splits: number; kChunk: number } {
  if (outputs >= 64 * 64 || k < 512) return { splits: 1, kChunk: k };
  const want = Math.min(32, Math.floor(k / 256), Math.floor(maxZ / batch));
  if (want < 2) return { splits: 1, kChunk: k };
  const kChunk = Math.ceil(k / want / 4) * 4;
  return { splits: Math.ceil(k / kChunk), kChunk };
}

/**
 * The texture GEMM's blocks (texels of m × texels of n per invocation), largest first,
 * with the invocations each needs. Measured on llvmpipe (2 cores, bench/RESULTS.md):
 * 16 × 16 ran 1024³ at 19 GFLOP/s against 16 for 16 × 8 and 13 for 8 × 8, but on
 * LeNet-sized outputs (128 × 100) 16 × 8 was fastest.
 */
export const TEXTURE_LADDER: ReadonlyArray<{ r: number; t: number; minThreads: number }> = [
  { r: 4, t: 4, minThreads: 4 * MIN_THREADS },
  { r: 4, t: 2, minThreads: MIN_THREADS },
  { r: 2, t: 2, minThreads: MIN_THREADS },
];

/**
 * The texture GEMM takes every unbatched product whose operands fit the device's
 * textures and whose output fills at least MIN_THREADS invocations of an 8 × 8 block.
 */
export function textureFor(g: MatmulGeometry, epilogue: MatmulEpilogue, lim: DeviceLimits): TexturePlan | null {
  if (!lim.maxTextureDimension2D || !textureGemmFits(g, lim.maxTextureDimension2D)) return null;
  if (g.m < 4 || g.n < 4 || !fitsLimits(8, 8, lim)) return null;
  const block = textureBlock(g.m, g.n);
  return block ? { kind: 'texture', ...block, epilogue, split: false } : null;
}

/** The largest block of TEXTURE_LADDER whose invocation count an m × n output fills, or null. */
export function textureBlock(m: number, n: number): { r: number; t: number } | null {
  for (const { r, t, minThreads } of TEXTURE_LADDER) {
    if (Math.ceil(m / (4 * r)) * Math.ceil(n / (4 * t)) >= minThreads) return { r, t };
  }
  return null;
}

export function selectMatmul(g: MatmulGeometry, epilogue: MatmulEpilogue, lim: DeviceLimits): MatmulPlan {
  // A·Bᵀ with both operands row-major (a linear layer's forward): row textures by copy, no conversion
  // (matmul/rows-gemm.ts; 1.3-2× the texture GEMM on 256 × 256 × 256 to 256 × 2048 × 64, and k up to 4× longer).
  if (lim.maxTextureDimension2D && rowsGemmFits(g, lim.maxTextureDimension2D)) {
    const { r, t, splits, kChunk4 } = rowsGemmPlan(g.m, g.k, g.n);
    return { program: { kind: 'rows', r, t, epilogue, split: splits > 1, vec4: g.n % 4 === 0 }, splits, kChunk: kChunk4 * 4 };
  }
  const texture = textureFor(g, epilogue, lim);
  if (texture) return { program: texture, splits: 1, kChunk: g.k };
  const maxZ = lim.maxComputeWorkgroupsPerDimension;
  const outputs = g.batch * g.m * g.n;
  const { splits, kChunk } = chooseSplits(outputs, g.k, maxZ, g.batch);
  if (g.m === 1 || g.n === 1) {
    const wg = Math.min(64, lim.maxComputeWorkgroupSizeX, lim.maxComputeInvocationsPerWorkgroup);
    return { program: gemvFor(g, epilogue, splits > 1, 4, wg), splits, kChunk };
  }
  let tile = TILE_LADDER[TILE_LADDER.length - 1]!;
  for (const t of TILE_LADDER) {
    if (!fitsLimits(t.wgX, t.wgY, lim)) continue;
    if (t.tm * t.tn > 256 && outputs < HUGE_OUTPUTS) continue;
    const threads = g.batch * Math.ceil(g.m / t.tm) * Math.ceil(g.n / (4 * t.tn));
    // Also refuse tiles that would mostly compute padding.
    const waste = (Math.ceil(g.m / (t.tm * t.wgY)) * t.tm * t.wgY * Math.ceil(g.n / (4 * t.tn * t.wgX)) * 4 * t.tn * t.wgX) / (g.m * g.n);
    if (threads >= MIN_THREADS && waste <= 1.5 && bigTileAllowed(tiledFor(g, t, epilogue, splits > 1))) {
      tile = t;
      break;
    }
  }
  return { program: tiledFor(g, tile, epilogue, splits > 1), splits, kChunk };
}
