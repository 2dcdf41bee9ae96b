/**
 * Planner for BSR sparse × dense products (kernel family `spmm-bsr`): the program that runs
 * y[batch, out] = x[batch, in] · Wᵀ for W in r×c blocks, from the matrix's shape, block shape,
 * stored block count and the batch (pure). bsr-spmm.ts runs any plan (`bsrSpmmWith`).
 *
 * Variants (an invocation owns one block row: r output rows × tb vec4 batch columns):
 * - `tex-tb{1,2,4,8}`: block values and the transposed x read through textures, 64 invocations
 *   a workgroup;
 * - `buf-tb{…}`, `buf-tb{…}-t256`: from storage buffers, 64 or 256 invocations a workgroup.
 * Batch tiles stop at 8 for r < 8 and at 4 for larger blocks (r·tb vec4 accumulators); with
 * 256 invocations a workgroup (the GPU-style variants) at r·tb ≤ 16, i.e. at most 64 outputs
 * an invocation.
 * Block rows are always sorted by block count, longest first.
 */
import type { BsrMatrix } from '../../formats/bsr.js';
import type { KernelSettings } from '../../gpu/profile.js';
import { type Candidate, type Chosen, choose } from '../choose.js';
import { flatWidthFor } from './layout.js';
import { gridShape } from './storage.js';

export interface BsrSpmmProblem {
  rows: number;
  cols: number;
  block: readonly [number, number];
  /** Stored blocks. */
  nnzBlocks: number;
  batch: number;
}

export interface BsrSpmmPlan {
  /** Where block values and x are read from. */
  operands: 'texture' | 'buffer';
  /** vec4 batch columns per invocation. */
  tb: number;
  /** Invocations per workgroup. */
  threads: number;
}

/** The batch a matrix's upload is planned for (textures uploaded or not). */
export const BSR_NOMINAL_BATCH = 64;

const TILES = [1, 2, 4, 8];
const THREADS = [64, 256];

export function bsrSpmmProblem(m: BsrMatrix, batch: number): BsrSpmmProblem {
  return { rows: m.rows, cols: m.cols, block: [m.block[0], m.block[1]], nnzBlocks: m.nnzBlocks, batch };
}

export function bsrSpmmProblemKey(p: BsrSpmmProblem): string {
  return `${p.rows}x${p.cols} block ${p.block[0]}x${p.block[1]} blocks ${p.nnzBlocks} batch ${p.batch}`;
}

/** Largest batch tile for r-row blocks: r·tb vec4 accumulators per invocation. */
export const bsrTileCap = (r: number) => (r >= 8 ? 4 : 8);

/** Batch vec4s per invocation: enough to amortise the block values, few enough to keep r·tb accumulators. */
export function bsrBatchTile(r: number, nb4: number): number {
  return Math.max(1, Math.min(bsrTileCap(r), 2 ** Math.floor(Math.log2(Math.max(1, nb4 / 8)))));
}

/** Whether the block values (flat rgba32float texels) and the transposed x fit the device's 2-D textures. */
export function bsrTexturesFit(p: BsrSpmmProblem, maxTexture: number): boolean {
  const [r, c] = p.block;
  const paddedCols = Math.ceil(p.cols / c) * c;
  return flatWidthFor(maxTexture, (p.nnzBlocks * r * c) / 4) !== null && Math.ceil(p.batch / 4) <= maxTexture && paddedCols <= maxTexture;
}

function workgroupFits(s: KernelSettings, wg: readonly [number, number]): boolean {
  const l = s.limits;
  return wg[0] * wg[1] <= l.maxComputeInvocationsPerWorkgroup && wg[0] <= l.maxComputeWorkgroupSizeX && wg[1] <= l.maxComputeWorkgroupSizeY;
}

const suffix = (threads: number) => (threads === 64 ? '' : `-t${threads}`);

export function bsrSpmmCandidates(p: BsrSpmmProblem, s: KernelSettings): Candidate<BsrSpmmPlan>[] {
  const nb4 = Math.ceil(p.batch / 4);
  const tex = bsrTexturesFit(p, s.limits.maxTextureDimension2D);
  const out: Candidate<BsrSpmmPlan>[] = [];
  for (const tb of TILES) {
    if (tb > bsrTileCap(p.block[0]) || (tb > 1 && tb > nb4)) continue;
    const groups = Math.ceil(nb4 / tb);
    if (tex && workgroupFits(s, gridShape(groups, 64))) out.push({ variant: `tex-tb${tb}`, plan: { operands: 'texture', tb, threads: 64 } });
    for (const threads of THREADS) {
      if (threads > 64 && p.block[0] * tb > 16) continue;
      if (workgroupFits(s, gridShape(groups, threads))) out.push({ variant: `buf-tb${tb}${suffix(threads)}`, plan: { operands: 'buffer', tb, threads } });
    }
  }
  return out;
}

/** Today's llvmpipe choice, measured on llvmpipe (2 cores). */
function llvmpipeRule(p: BsrSpmmProblem, s: KernelSettings): { variant: string; why: string } {
  const tb = bsrBatchTile(p.block[0], Math.ceil(p.batch / 4));
  if (bsrTexturesFit(p, s.limits.maxTextureDimension2D)) {
    return { variant: `tex-tb${tb}`, why: `block values and x through textures (a divergent storage load is a per-lane loop on llvmpipe); ${tb} batch vec4s per invocation` };
  }
  return { variant: `buf-tb${tb}`, why: `the operands exceed the device's textures: storage buffers; ${tb} batch vec4s per invocation` };
}

/**
 * GPU practice for block-sparse products: storage buffers, an invocation per (block row, vec4 of
 * batch columns) holding an r × 4·tb register tile, block rows sorted longest first, 256
 * invocations a workgroup (up to 64 of them on one block row).
 */
function gpuRule(p: BsrSpmmProblem, s: KernelSettings): { variant: string; why: string } {
  const nb4 = Math.ceil(p.batch / 4);
  const tb = p.block[0] < 8 && nb4 >= 32 ? 2 : 1;
  const threads = workgroupFits(s, gridShape(Math.ceil(nb4 / tb), 256)) ? 256 : 64;
  return { variant: `buf-tb${tb}${suffix(threads)}`, why: `storage buffers; ${p.block[0]}×${4 * tb} outputs per invocation, ${threads} a workgroup` };
}

export function planBsrSpmm(p: BsrSpmmProblem, s: KernelSettings): Chosen<BsrSpmmPlan> {
  const rule = s.profile === 'gpu' ? gpuRule : llvmpipeRule;
  return choose(s, 'spmm-bsr', bsrSpmmProblemKey(p), bsrSpmmCandidates(p, s), () => rule(p, s), p);
}
