/**
 * Planner for direct sparse convolution (kernel family `sparse-conv`): which of the three
 * kernels runs a convolution with CSR or BSR filters, from the geometry, the format and block
 * shape and the number of stored non-zeros (CSR) or blocks (BSR) — pure, no device.
 * sparse-conv.ts runs any plan (`sparseConvWith`).
 *
 * Variants:
 * - `shifted-r{1..4}`: over the dense convolution's shifted copies of x (textures), R output
 *   rows of 4 pixels per invocation (sparse-conv-shifted.ts); output rows a multiple of 4 wide;
 *   R limited so that r·R ≤ 32 vec4 accumulators.
 * - `quad`: one output column × 4 rows per invocation, input from a "row quad" texture.
 * - `storage`, `storage-t256`: the same from a zero-padded input buffer (storage buffers only),
 *   64 or 256 invocations a workgroup.
 */
import type { Conv2dGeometry } from '../../gpu/types.js';
import type { SparseMatrix } from '../../formats/bsr.js';
import type { KernelSettings } from '../../gpu/profile.js';
import { paddedRows } from '../conv2d/shifted-conv.js';
import { type Candidate, type Chosen, choose } from '../choose.js';
import { flatWidthFor } from './layout.js';
import { gridShape } from './storage.js';

export interface SparseConvProblem {
  geometry: Conv2dGeometry;
  format: 'csr' | 'bsr';
  /** Block shape; [1, 1] for CSR. */
  block: readonly [number, number];
  /** Stored non-zeros (CSR) or blocks (BSR). */
  stored: number;
}

export interface SparseConvPlan {
  path: 'shifted' | 'quad' | 'storage';
  /** Shifted path: output rows per invocation. */
  rowTile: number;
  /** Invocations per workgroup (the shifted path sizes its own: up to 64 along the pixels). */
  threads: number;
  /** BSR on the shifted path: block values from a texture (where they fit) or a buffer. */
  values: 'texture' | 'buffer';
}

/** The padded input the quad and storage paths read: Hp × Wp per plane; `direct` when x itself serves. */
export interface PaddedInput { hp: number; wp: number; direct: boolean }

export function paddedGeometry(g: Conv2dGeometry): PaddedInput {
  const oh4 = Math.ceil(g.oh / 4) * 4;
  const needH = (oh4 - 1) * g.sh + (g.kh - 1) * g.dh + 1;
  const direct = g.ph === 0 && g.pw === 0 && oh4 === g.oh;
  return { hp: direct ? g.h : Math.max(g.h + 2 * g.ph, needH), wp: g.w + 2 * g.pw, direct };
}

export function sparseConvProblem(m: SparseMatrix, g: Conv2dGeometry): SparseConvProblem {
  return m.format === 'csr'
    ? { geometry: { ...g }, format: 'csr', block: [1, 1], stored: m.nnz }
    : { geometry: { ...g }, format: 'bsr', block: [m.block[0], m.block[1]], stored: m.nnzBlocks };
}

export function sparseConvProblemKey(p: SparseConvProblem): string {
  const g = p.geometry;
  const fmt = p.format === 'csr' ? `csr nnz ${p.stored}` : `bsr ${p.block[0]}x${p.block[1]} blocks ${p.stored}`;
  return `n${g.n} ${g.c}x${g.h}x${g.w}->${g.oc} k${g.kh}x${g.kw} s${g.sh}x${g.sw} p${g.ph}x${g.pw} d${g.dh}x${g.dw} ${fmt}`;
}

/** Output rows per invocation on the shifted path: r·R vec4 accumulators stay at 16 or fewer. */
export const shiftedRowTile = (r: number) => Math.max(1, Math.min(4, Math.floor(16 / r)));

/** Images per chunk whose shifted copies fit one flat texture, or 0 when not even one does. */
function shiftedChunk(g: Conv2dGeometry, maxTexture: number): number {
  const width = flatWidthFor(maxTexture, 1);
  if (!width || g.ow % 4 !== 0) return 0;
  const perImage = g.kw * g.c * paddedRows(g) * (g.ow / 4);
  return Math.min(g.n, Math.floor((width * maxTexture) / perImage));
}

/**
 * The shifted path applies: output rows a multiple of 4 wide, one image's shifted copies within
 * one texture, and for CSR the (offset, value) texture of its non-zeros (none when all are zero).
 */
export function sparseShiftedFits(p: SparseConvProblem, maxTexture: number): boolean {
  if (shiftedChunk(p.geometry, maxTexture) < 1) return false;
  return p.format === 'bsr' || flatWidthFor(maxTexture, p.stored) !== null;
}

/** The quad path applies: the row-quad texture fits (and its coordinates 16 bits), and for CSR the (offset, value) texture. */
export function sparseQuadFits(p: SparseConvProblem, maxTexture: number): boolean {
  const g = p.geometry;
  const pad = paddedGeometry(g);
  const max = Math.min(maxTexture, 65535);
  if (g.n * g.c * pad.hp > max || pad.wp > max) return false;
  return p.format === 'bsr' || flatWidthFor(maxTexture, p.stored) !== null;
}

const suffix = (threads: number) => (threads === 64 ? '' : `-t${threads}`);

export function sparseConvCandidates(p: SparseConvProblem, s: KernelSettings): Candidate<SparseConvPlan>[] {
  const maxTex = s.limits.maxTextureDimension2D;
  const r = p.block[0];
  const values = p.format === 'bsr' && flatWidthFor(maxTex, (p.stored * p.block[0] * p.block[1]) / 4) !== null ? 'texture' : 'buffer';
  const out: Candidate<SparseConvPlan>[] = [];
  if (sparseShiftedFits(p, maxTex)) {
    const ow4 = p.geometry.ow / 4;
    for (let rowTile = 1; rowTile <= 4 && r * rowTile <= 32; rowTile++) {
      const wg = gridShape(ow4 * Math.ceil(p.geometry.oh / rowTile));
      if (wg[0] * wg[1] <= s.limits.maxComputeInvocationsPerWorkgroup) out.push({ variant: `shifted-r${rowTile}`, plan: { path: 'shifted', rowTile, threads: 64, values } });
    }
  }
  if (sparseQuadFits(p, maxTex)) out.push({ variant: 'quad', plan: { path: 'quad', rowTile: 4, threads: 64, values: 'buffer' } });
  for (const threads of [64, 256]) {
    if (threads <= s.limits.maxComputeInvocationsPerWorkgroup && threads <= s.limits.maxComputeWorkgroupSizeX) {
      out.push({ variant: `storage${suffix(threads)}`, plan: { path: 'storage', rowTile: 4, threads, values: 'buffer' } });
    }
  }
  return out;
}

/** Today's llvmpipe choice, measured on llvmpipe (2 cores; figures from the CIFAR 3×3 layers at batch 1). */
function llvmpipeRule(p: SparseConvProblem, s: KernelSettings): { variant: string; why: string } {
  const maxTex = s.limits.maxTextureDimension2D;
  if (sparseShiftedFits(p, maxTex)) {
    const rowTile = shiftedRowTile(p.block[0]);
    return {
      variant: `shifted-r${rowTile}`,
      why: `shifted copies of x: one texel per stored weight and 4-pixel output row (at density 0.2: CSR 8.4 → 4.1 ms, BSR 4×4 3.6 → 2.4 ms over the row-quad kernel on 32×32×64→64); ${rowTile} rows per invocation`,
    };
  }
  if (sparseQuadFits(p, maxTex)) return { variant: 'quad', why: 'input through a row-quad texture (textureLoad is one vectorised gather on llvmpipe; divergent storage loads are per-lane loops)' };
  return { variant: 'storage', why: "the input exceeds the device's textures: padded storage buffer" };
}

/**
 * GPU practice for direct sparse convolution (Park et al. 2017): storage buffers, neighbouring
 * invocations on neighbouring output pixels of one channel (coalesced input reads, the sparse
 * row's index and value the same for the whole workgroup), 4 outputs per invocation, 256 a workgroup.
 */
function gpuRule(_p: SparseConvProblem, s: KernelSettings): { variant: string; why: string } {
  const wide = s.limits.maxComputeInvocationsPerWorkgroup >= 256 && s.limits.maxComputeWorkgroupSizeX >= 256;
  return { variant: wide ? 'storage-t256' : 'storage', why: `storage buffers; 4 output rows of one pixel per invocation, ${wide ? 256 : 64} a workgroup along the pixels` };
}

export function planSparseConv(p: SparseConvProblem, s: KernelSettings): Chosen<SparseConvPlan> {
  const rule = s.profile === 'gpu' ? gpuRule : llvmpipeRule;
  return choose(s, 'sparse-conv', sparseConvProblemKey(p), sparseConvCandidates(p, s), () => rule(p, s), p);
}
