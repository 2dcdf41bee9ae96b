/**
 * The sparse families for the tuner (spmm-csr, spmm-bsr, sparse-conv): the planner's arguments
 * are a matrix's statistics (CSR: shape, non-zeros, longest row; BSR: shape, block shape, stored
 * blocks) with the batch or the convolution's geometry. A seeded random matrix with those
 * statistics (tune/sparse-matrices.ts) is uploaded as a sparse layer's weight is, and each
 * candidate plan runs through the launcher on seeded input and bias.
 */
import type { Conv2dGeometry } from '../../gpu/types.js';
import type { GpuRuntime, GpuStorage } from '../../gpu/runtime.js';
import { type BlockShape, checkBlockShape, type SparseMatrix } from '../../formats/index.js';
import { bsrSpmmCandidates, bsrSpmmProblemKey, type BsrSpmmPlan, type BsrSpmmProblem, planBsrSpmm } from '../../kernels/sparse/bsr-plan.js';
import { bsrSpmmWith, uploadBsr } from '../../kernels/sparse/bsr-spmm.js';
import { planSparseConv, sparseConvCandidates, type SparseConvPlan, type SparseConvProblem, sparseConvProblemKey } from '../../kernels/sparse/conv-plan.js';
import { csrSpmmCandidates, csrSpmmProblemKey, type CsrSpmmPlan, type CsrSpmmProblem, planCsrSpmm } from '../../kernels/sparse/csr-plan.js';
import { csrSpmmWith, uploadCsr } from '../../kernels/sparse/csr-spmm.js';
import { sparseConvWith } from '../../kernels/sparse/sparse-conv.js';
import type { GpuSparse } from '../../kernels/sparse/storage.js';
import type { ProblemRunner, TunableFamily } from '../family.js';
import { seededValues } from '../inputs.js';
import { blockSlots, csrStatsProblem, randomBsr, randomCsr } from '../sparse-matrices.js';

const GEOMETRY_KEYS = ['n', 'c', 'h', 'w', 'oc', 'kh', 'kw', 'sh', 'sw', 'ph', 'pw', 'dh', 'dw', 'oh', 'ow'] as const;

/** The record as an object, or an error naming the family and the expected shape. */
function record(family: string, raw: unknown, shape: string): Record<string, unknown> {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${family} problem: expected ${shape}`);
  return raw as Record<string, unknown>;
}

/** `r[key]` as an integer ≥ min, or an error naming the family and the key. */
function integer(family: string, r: Record<string, unknown>, key: string, min: number): number {
  const v = r[key];
  if (!Number.isInteger(v) || (v as number) < min) throw new Error(`${family} problem: ${key} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return v as number;
}

function blockOf(family: string, raw: unknown): BlockShape {
  if (!Array.isArray(raw) || raw.length !== 2) throw new Error(`${family} problem: block must be [rows, cols], got ${JSON.stringify(raw)}`);
  try {
    return checkBlockShape(raw as number[]);
  } catch (e) {
    throw new Error(`${family} problem: ${(e as Error).message.replace(/^BSR: /, '')}`);
  }
}

const percent = (part: number, whole: number) => `${((100 * part) / Math.max(1, whole)).toFixed(1)} %`;

/** Uploads `m` as a sparse layer's weight is, plus seeded input and bias, and runs plans with `launch`. */
function sparseRunner<P>(
  rt: GpuRuntime, m: SparseMatrix, inputSize: number, seed: number,
  launch: (plan: P, w: GpuSparse, x: GpuStorage, bias: GpuStorage) => GpuStorage,
): ProblemRunner<P> {
  const w = m.format === 'csr' ? uploadCsr(rt, m) : uploadBsr(rt, m);
  const x = rt.upload(seededValues(inputSize, seed + 2));
  const bias = rt.upload(seededValues(m.rows, seed + 3));
  return {
    run: (plan) => launch(plan, w, x, bias),
    dispose: () => {
      w.release();
      rt.release(x);
      rt.release(bias);
    },
  };
}

export const csrSpmmFamily: TunableFamily<CsrSpmmProblem, CsrSpmmPlan> = {
  family: 'spmm-csr',
  parse(raw) {
    const f = 'spmm-csr';
    const r = record(f, raw, '{ rows, cols, nnz, maxRowLength, batch }');
    const p = { rows: integer(f, r, 'rows', 1), cols: integer(f, r, 'cols', 1), nnz: integer(f, r, 'nnz', 0), maxRowLength: integer(f, r, 'maxRowLength', 0), batch: integer(f, r, 'batch', 1) };
    const bad = csrStatsProblem(p.rows, p.cols, p.nnz, p.maxRowLength);
    if (bad) throw new Error(`${f} problem: ${bad}`);
    return p;
  },
  key: csrSpmmProblemKey,
  candidates: csrSpmmCandidates,
  plan: planCsrSpmm,
  prepare: (rt, p, seed) =>
    sparseRunner<CsrSpmmPlan>(rt, randomCsr(p.rows, p.cols, p.nnz, p.maxRowLength, seed), p.batch * p.cols, seed, (plan, w, x, bias) => csrSpmmWith(rt, plan, w, x, bias, p.batch)),
  describe: (p) => `${p.rows}×${p.cols} csr, ${p.nnz} non-zeros (${percent(p.nnz, p.rows * p.cols)}), longest row ${p.maxRowLength}, batch ${p.batch}`,
  flops: (p) => 2 * p.batch * p.nnz,
};

export const bsrSpmmFamily: TunableFamily<BsrSpmmProblem, BsrSpmmPlan> = {
  family: 'spmm-bsr',
  parse(raw) {
    const f = 'spmm-bsr';
    const r = record(f, raw, '{ rows, cols, block: [r, c], nnzBlocks, batch }');
    const p = { rows: integer(f, r, 'rows', 1), cols: integer(f, r, 'cols', 1), block: blockOf(f, r.block), nnzBlocks: integer(f, r, 'nnzBlocks', 0), batch: integer(f, r, 'batch', 1) };
    const slots = blockSlots(p.rows, p.cols, p.block);
    if (p.nnzBlocks > slots) throw new Error(`${f} problem: ${p.nnzBlocks} blocks do not fit the ${slots} block slots of ${p.rows}x${p.cols}`);
    return p;
  },
  key: bsrSpmmProblemKey,
  candidates: bsrSpmmCandidates,
  plan: planBsrSpmm,
  prepare: (rt, p, seed) =>
    sparseRunner<BsrSpmmPlan>(rt, randomBsr(p.rows, p.cols, p.block, p.nnzBlocks, seed), p.batch * p.cols, seed, (plan, w, x, bias) => bsrSpmmWith(rt, plan, w, x, bias, p.batch)),
  describe: (p) => `${p.rows}×${p.cols} bsr ${p.block[0]}×${p.block[1]}, ${p.nnzBlocks} blocks (${percent(p.nnzBlocks, blockSlots(p.rows, p.cols, p.block))}), batch ${p.batch}`,
  flops: (p) => 2 * p.batch * p.nnzBlocks * p.block[0] * p.block[1],
};

/** The random filter matrix [oc, c·kh·kw] of a sparse convolution problem (CSR rows about 1.5× the mean at the longest). */
function convMatrix(p: SparseConvProblem, seed: number): SparseMatrix {
  const g = p.geometry;
  const rows = g.oc, cols = g.c * g.kh * g.kw;
  if (p.format === 'bsr') return randomBsr(rows, cols, p.block, p.stored, seed);
  const longest = rows === 1 ? p.stored : Math.min(cols, Math.ceil((1.5 * p.stored) / rows));
  return randomCsr(rows, cols, p.stored, longest, seed);
}

export const sparseConvFamily: TunableFamily<SparseConvProblem, SparseConvPlan> = {
  family: 'sparse-conv',
  parse(raw) {
    const f = 'sparse-conv';
    const r = record(f, raw, "{ geometry, format: 'csr' | 'bsr', block: [r, c], stored }");
    const gr = record(f, r.geometry, 'geometry to be a convolution geometry { n, c, h, w, oc, kh, kw, … }');
    const geometry = Object.fromEntries(GEOMETRY_KEYS.map((k) => [k, integer(f, gr, k, 0)])) as unknown as Conv2dGeometry;
    if (r.format !== 'csr' && r.format !== 'bsr') throw new Error(`${f} problem: format must be 'csr' or 'bsr', got ${JSON.stringify(r.format)}`);
    const block: BlockShape = r.format === 'csr' ? [1, 1] : blockOf(f, r.block);
    const stored = integer(f, r, 'stored', 0);
    const slots = blockSlots(geometry.oc, geometry.c * geometry.kh * geometry.kw, block);
    if (stored > slots) throw new Error(`${f} problem: ${stored} stored ${r.format === 'csr' ? 'non-zeros' : 'blocks'} do not fit a ${geometry.oc}x${geometry.c * geometry.kh * geometry.kw} filter matrix`);
    return { geometry, format: r.format, block, stored };
  },
  key: sparseConvProblemKey,
  candidates: sparseConvCandidates,
  plan: planSparseConv,
  prepare: (rt, p, seed) => {
    const g = p.geometry;
    return sparseRunner<SparseConvPlan>(rt, convMatrix(p, seed), g.n * g.c * g.h * g.w, seed, (plan, w, x, bias) => sparseConvWith(rt, plan, w, x, bias, g));
  },
  describe: ({ geometry: g, format, block, stored }) =>
    `n${g.n} ${g.c}→${g.oc} ${g.kh}×${g.kw} on ${g.h}×${g.w}${g.sh > 1 || g.sw > 1 ? ` stride ${g.sh}` : ''}${g.ph || g.pw ? ` pad ${g.ph}` : ''}, ` +
    (format === 'csr' ? `csr, ${stored} non-zeros` : `bsr ${block[0]}×${block[1]}, ${stored} blocks`) +
    ` (${percent(stored, blockSlots(g.oc, g.c * g.kh * g.kw, block))})`,
  flops: ({ geometry: g, block, stored }) => 2 * g.n * g.oh * g.ow * stored * block[0] * block[1],
};

export const sparseFamilies: Array<TunableFamily<any, any>> = [csrSpmmFamily, bsrSpmmFamily, sparseConvFamily];
