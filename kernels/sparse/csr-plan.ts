/**
 * Planner for CSR sparse × dense products (kernel family `spmm-csr`): which program runs
 * y[batch, out] = x[batch, in] · Wᵀ for a CSR W, decided from the matrix's statistics and the
 * batch alone (pure: no device, no matrix). csr-spmm.ts runs any plan (`csrSpmmWith`).
 *
 * Variants:
 * - `spmv`, `spmv-t256`: batch 1, one invocation per row segment (scalar), 64 or 256 a workgroup.
 * - `spmv-vector`: batch 1, 32 invocations per row segment (CSR-vector), 256 a workgroup.
 * - `tex-tb{1,2,4,8}`: SpMM reading the gathered operands — (column, value) pairs and the
 *   transposed x — through textures; each invocation owns tb vec4 batch columns of one row
 *   segment; 64 invocations a workgroup.
 * - `buf-tb{1,2,4,8}`, `buf-tb{…}-t256`: the same schedule from storage buffers, 64 or 256
 *   invocations a workgroup.
 *
 * Every plan also carries the row schedule its upload needs (segments of at most maxSegment
 * non-zeros, sorted longest first or in row order) and the textures it reads; the device-side
 * matrix builds what a plan needs on first use (csr-spmm.ts).
 */
import type { CsrMatrix } from '../../formats/csr.js';
import type { KernelSettings } from '../../gpu/profile.js';
import { type Candidate, type Chosen, choose } from '../choose.js';
import { flatWidthFor } from './layout.js';
import { gridShape } from './storage.js';

/** What the CSR planner reads: the matrix's shape and row statistics, and the batch. */
export interface CsrSpmmProblem {
  rows: number;
  cols: number;
  nnz: number;
  /** Non-zeros in the longest row. */
  maxRowLength: number;
  batch: number;
}

/** The row schedule uploaded for a plan. */
export interface CsrLayout {
  /** Segments sorted by length, longest first (false: row order). */
  sort: boolean;
  /** Longest segment; longer rows are split and their partial sums added by a fix-up pass. */
  maxSegment: number;
}

export interface CsrSpmmPlan {
  /** spmv-vector: VECTOR_LANES invocations per row segment, summed in workgroup memory. */
  kernel: 'spmv' | 'spmv-vector' | 'spmm';
  /** Where the gathered operands are read from (SpMV always reads buffers). */
  operands: 'texture' | 'buffer';
  layout: CsrLayout;
  /** vec4 batch columns per invocation (SpMM; 1 for SpMV). */
  tb: number;
  /** Invocations per workgroup. */
  threads: number;
}

/** The batch a matrix's upload is planned for (its layout follows that plan; other plans build theirs on first use). */
export const CSR_NOMINAL_BATCH = 64;

/** Invocations per row segment in the CSR-vector SpMV (a warp on most GPUs). */
export const VECTOR_LANES = 32;

/** Mean row length from which the gpu rule's SpMV gives each row segment a group of VECTOR_LANES invocations. */
const VECTOR_MIN_MEAN = 32;

const TILES = [1, 2, 4, 8];
const THREADS = [64, 256];

export function csrSpmmProblem(m: CsrMatrix, batch: number): CsrSpmmProblem {
  let maxRowLength = 0;
  for (let r = 0; r < m.rows; r++) maxRowLength = Math.max(maxRowLength, m.rowPtr[r + 1]! - m.rowPtr[r]!);
  return { rows: m.rows, cols: m.cols, nnz: m.nnz, maxRowLength, batch };
}

export function csrSpmmProblemKey(p: CsrSpmmProblem): string {
  return `${p.rows}x${p.cols} nnz ${p.nnz} maxrow ${p.maxRowLength} batch ${p.batch}`;
}

/** Segments of at most max(256, 8 × mean row length) non-zeros, longest first (Sputnik's row swizzle). */
export function csrDefaultLayout(p: Pick<CsrSpmmProblem, 'rows' | 'nnz'>): CsrLayout {
  return { sort: true, maxSegment: Math.max(256, Math.ceil((8 * p.nnz) / Math.max(1, p.rows))) };
}

/** Whether the (column, value) texture and the transposed x fit this device's 2-D textures. */
export function csrTexturesFit(p: CsrSpmmProblem, maxTexture: number): boolean {
  return flatWidthFor(maxTexture, p.nnz) !== null && Math.ceil(p.batch / 4) <= maxTexture && p.cols <= maxTexture;
}

function workgroupFits(s: KernelSettings, wg: readonly number[]): boolean {
  const l = s.limits;
  return wg[0]! * (wg[1] ?? 1) <= l.maxComputeInvocationsPerWorkgroup && wg[0]! <= l.maxComputeWorkgroupSizeX && (wg[1] ?? 1) <= l.maxComputeWorkgroupSizeY;
}

const suffix = (threads: number) => (threads === 64 ? '' : `-t${threads}`);

export function csrSpmmCandidates(p: CsrSpmmProblem, s: KernelSettings): Candidate<CsrSpmmPlan>[] {
  const layout = csrDefaultLayout(p);
  const out: Candidate<CsrSpmmPlan>[] = [];
  if (p.batch === 1) {
    for (const threads of THREADS) {
      if (workgroupFits(s, [threads])) out.push({ variant: `spmv${suffix(threads)}`, plan: { kernel: 'spmv', operands: 'buffer', layout, tb: 1, threads } });
    }
    if (workgroupFits(s, [256]) && s.limits.maxComputeWorkgroupStorageSize >= 256 * 4) {
      out.push({ variant: 'spmv-vector', plan: { kernel: 'spmv-vector', operands: 'buffer', layout, tb: 1, threads: 256 } });
    }
  }
  const nb4 = Math.ceil(p.batch / 4);
  const tex = csrTexturesFit(p, s.limits.maxTextureDimension2D);
  for (const tb of TILES) {
    // Tiles past the batch would only compute padding.
    if (tb > 1 && tb > nb4) continue;
    const groups = Math.ceil(nb4 / tb);
    if (tex && workgroupFits(s, gridShape(groups, 64))) out.push({ variant: `tex-tb${tb}`, plan: { kernel: 'spmm', operands: 'texture', layout, tb, threads: 64 } });
    for (const threads of THREADS) {
      if (workgroupFits(s, gridShape(groups, threads))) out.push({ variant: `buf-tb${tb}${suffix(threads)}`, plan: { kernel: 'spmm', operands: 'buffer', layout, tb, threads } });
    }
  }
  return out;
}

/** Today's llvmpipe choice, measured on llvmpipe (2 cores). */
function llvmpipeRule(p: CsrSpmmProblem, s: KernelSettings): { variant: string; why: string } {
  if (p.batch === 1) return { variant: 'spmv', why: 'batch 1: one invocation per row segment (SpMV)' };
  const nb4 = Math.ceil(p.batch / 4);
  // 8 at batch 256 on 1024×1024 (10 % density): ~10 % faster than 4 on llvmpipe.
  const tb = nb4 >= 64 ? 8 : nb4 >= 16 ? 2 : 1;
  if (csrTexturesFit(p, s.limits.maxTextureDimension2D)) {
    return {
      variant: `tex-tb${tb}`,
      why: `gathered operands through textures (~6× the storage-buffer kernel on llvmpipe, where a divergent storage load is a per-lane loop); ${tb} batch vec4s per invocation`,
    };
  }
  return { variant: `buf-tb${tb}`, why: `the operands exceed the device's textures: storage buffers; ${tb} batch vec4s per invocation` };
}

/**
 * GPU practice for SpMM (e.g. Sputnik, Gale et al. 2020): storage buffers, a warp-sized group
 * of invocations per row segment each owning a vec4 (or two) of batch columns, segments sorted
 * longest first so a workgroup's rows run equally long loops, 256 invocations a workgroup.
 */
function gpuRule(p: CsrSpmmProblem, s: KernelSettings): { variant: string; why: string } {
  const threads = workgroupFits(s, [256]) && workgroupFits(s, [1, 256]) ? 256 : 64;
  if (p.batch === 1) {
    const mean = p.nnz / Math.max(1, p.rows);
    if (threads === 256 && mean >= VECTOR_MIN_MEAN && s.limits.maxComputeWorkgroupStorageSize >= 256 * 4) {
      return { variant: 'spmv-vector', why: `batch 1, rows of ${mean.toFixed(0)} non-zeros on average: ${VECTOR_LANES} invocations per row segment (CSR-vector), 256 a workgroup` };
    }
    return { variant: `spmv${suffix(threads)}`, why: `batch 1: one invocation per row segment (long rows split), ${threads} a workgroup` };
  }
  const nb4 = Math.ceil(p.batch / 4);
  const tb = nb4 >= 32 ? 2 : 1;
  const perRow = Math.min(gridShape(Math.ceil(nb4 / tb), threads)[0], threads);
  return {
    variant: `buf-tb${tb}${suffix(threads)}`,
    why: `storage buffers; ${perRow} invocation${perRow === 1 ? '' : 's'} per row segment, ${4 * tb} batch columns (vec4) each, ${threads} a workgroup`,
  };
}

export function planCsrSpmm(p: CsrSpmmProblem, s: KernelSettings): Chosen<CsrSpmmPlan> {
  const rule = s.profile === 'gpu' ? gpuRule : llvmpipeRule;
  return choose(s, 'spmm-csr', csrSpmmProblemKey(p), csrSpmmCandidates(p, s), () => rule(p, s), p);
}
