/**
 * FLOP and size accounting for a model on one sample of `inputShape`.
 *
 *   const a = await accountModel(model, [3, 32, 32], { checkpoint: true });
 *   a.rows      // per Conv2d / Linear / BatchNorm layer
 *   a.totals    // sums over the rows (+ buffers, checkpoint size)
 *
 * Conventions (stated with every figure):
 *   - FLOPs count the multiply-adds of Conv2d and Linear layers, one
 *     multiply-add = 2 FLOPs, per sample: dense = 2 × (weight entries) × (output
 *     positions: oh·ow for a conv, 1 for a linear). Bias adds, BatchNorm,
 *     activations and pooling are not counted (well under 1% for these models).
 *   - Effective FLOPs = 2 × (non-zero effective weights) × (output positions):
 *     what an ideal sparse kernel would execute on a masked / sparse layer.
 *   - Parameters are the model's trainable tensors as the forward sees them
 *     (weight = weight_orig × weight_mask when masked); masks and BatchNorm
 *     running statistics are buffers, counted in bufferBytes only.
 *   - Bytes stored, per layer, for its parameters: dense float32 (4 B per entry);
 *     CSR and BSR of the weight's 2-D view [out, in·kh·kw] as the engine's sparse
 *     formats store them (float32 values, u32 row pointers, column indices packed
 *     16-bit two per u32 when they fit) plus the dense bias / BatchNorm entries.
 *     The bytes of a compacted model are its dense bytes (account the compacted model).
 *   - checkpointBytes: the size on disk of nn/checkpoint's safetensors file of the
 *     model's state dict (a masked model stores weight_orig and weight_mask).
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BlockShape, BsrMatrix, CsrMatrix } from '../engine/index.js';
import { type Module, saveCheckpoint } from '../nn/index.js';
import { ParamCache, traceModel } from '../pruning/graph/index.js';

export interface LayerAccount {
  /** Dotted module name. */
  name: string;
  type: string;
  inShape: number[];
  outShape: number[];
  params: number;
  nonzeroParams: number;
  /** Dense FLOPs per sample (2 per multiply-add); 0 for BatchNorm. */
  flops: number;
  /** 2 × non-zero weights × output positions. */
  effectiveFlops: number;
  /** Bytes to store the layer's parameters: dense float32, CSR and BSR weight (+ dense bias). */
  bytes: { dense: number; csr: number; bsr: number };
}

export interface AccountTotals {
  params: number;
  nonzeroParams: number;
  flops: number;
  effectiveFlops: number;
  denseBytes: number;
  csrBytes: number;
  bsrBytes: number;
  /** Persistent buffers (BatchNorm statistics, masks) as float32. */
  bufferBytes: number;
}

export interface ModelAccount {
  inputShape: number[];
  rows: LayerAccount[];
  totals: AccountTotals;
  /** Size of the saved checkpoint (only with `checkpoint: true`). */
  checkpointBytes?: number;
  /** The block shape used for the BSR column. */
  bsrBlock: BlockShape;
}

export interface AccountOptions {
  /** BSR block (default 4×4). */
  bsrBlock?: BlockShape;
  /** Save the state dict to a temporary file and report its size (default false). */
  checkpoint?: boolean;
}

function countNonzero(v: Float32Array): number {
  let n = 0;
  for (const x of v) if (x !== 0) n++;
  return n;
}

/**
 * Cost of one layer from its effective values (reusable for layers the trace does
 * not know, e.g. sparse inference layers): `weight` of `shape` [out, ...] is a GEMM
 * weight when `gemm` (FLOPs over `positions` output positions, CSR/BSR of its 2-D
 * view), else per-channel entries (BatchNorm: dense storage only, no FLOPs);
 * `bias` is stored densely.
 */
export function weightCost(weight: Float32Array | null, shape: readonly number[], bias: Float32Array | null, positions: number, block: BlockShape = [4, 4], gemm = true): Pick<LayerAccount, 'params' | 'nonzeroParams' | 'flops' | 'effectiveFlops' | 'bytes'> {
  const out = { params: 0, nonzeroParams: 0, flops: 0, effectiveFlops: 0, bytes: { dense: 0, csr: 0, bsr: 0 } };
  for (const v of [weight, bias]) {
    if (!v) continue;
    const nnz = countNonzero(v);
    out.params += v.length;
    out.nonzeroParams += nnz;
    out.bytes.dense += 4 * v.length;
    if (gemm && v === weight) {
      const r = shape[0]!, c = v.length / r;
      out.flops += 2 * v.length * positions;
      out.effectiveFlops += 2 * nnz * positions;
      out.bytes.csr += CsrMatrix.fromDense(v, r, c).bytes;
      out.bytes.bsr += BsrMatrix.fromDense(v, r, c, block).bytes;
    } else {
      out.bytes.csr += 4 * v.length;
      out.bytes.bsr += 4 * v.length;
    }
  }
  return out;
}

/** Size in bytes of `model`'s checkpoint written by nn/checkpoint.ts. */
export async function checkpointSize(model: Module): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'wgprune-ckpt-'));
  try {
    const path = join(dir, 'model.safetensors');
    await saveCheckpoint(path, model);
    return (await stat(path)).size;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function accountModel(model: Module, inputShape: readonly number[], options: AccountOptions = {}): Promise<ModelAccount> {
  const block = options.bsrBlock ?? [4, 4];
  const trace = traceModel(model, { inputShape });
  const cache = new ParamCache();
  const rows: LayerAccount[] = [];
  for (const op of trace.ops) {
    if (op.kind !== 'conv' && op.kind !== 'linear' && op.kind !== 'norm') continue;
    const inShape = op.inShape ?? [];
    const outShape = op.outShape ?? [];
    const row: LayerAccount = { name: op.name, type: op.module.typeName(), inShape, outShape, params: 0, nonzeroParams: 0, flops: 0, effectiveFlops: 0, bytes: { dense: 0, csr: 0, bsr: 0 } };
    const weight = await cache.get(op.module, 'weight');
    const bias = await cache.get(op.module, 'bias');
    const positions = op.kind === 'conv' ? outShape[1]! * outShape[2]! : op.kind === 'linear' ? 1 : 0;
    Object.assign(row, weightCost(weight?.effective ?? null, weight?.shape ?? [], bias?.effective ?? null, positions, block, op.kind !== 'norm'));
    rows.push(row);
  }
  const sum = (f: (r: LayerAccount) => number) => rows.reduce((a, r) => a + f(r), 0);
  const params = new Set(model.parameters());
  const bufferBytes = [...model.stateDict().values()].filter((t) => !params.has(t)).reduce((a, t) => a + 4 * t.size, 0);
  const totals: AccountTotals = {
    params: sum((r) => r.params), nonzeroParams: sum((r) => r.nonzeroParams), flops: sum((r) => r.flops), effectiveFlops: sum((r) => r.effectiveFlops),
    denseBytes: sum((r) => r.bytes.dense), csrBytes: sum((r) => r.bytes.csr), bsrBytes: sum((r) => r.bytes.bsr), bufferBytes,
  };
  const out: ModelAccount = { inputShape: [...inputShape], rows, totals, bsrBlock: block };
  if (options.checkpoint) out.checkpointBytes = await checkpointSize(model);
  return out;
}

/** A fixed-width table of the rows and totals. */
export function formatAccount(a: ModelAccount): string {
  const head = ['layer', 'type', 'out', 'params', 'non-zero', 'MFLOPs', 'eff. MFLOPs', 'dense B', 'CSR B', `BSR${a.bsrBlock.join('x')} B`];
  const mf = (x: number) => (x / 1e6).toFixed(3);
  const body = a.rows.map((r) => [r.name, r.type, `[${r.outShape.join(',')}]`, String(r.params), String(r.nonzeroParams), mf(r.flops), mf(r.effectiveFlops), String(r.bytes.dense), String(r.bytes.csr), String(r.bytes.bsr)]);
  const t = a.totals;
  body.push(['total', '', '', String(t.params), String(t.nonzeroParams), mf(t.flops), mf(t.effectiveFlops), String(t.denseBytes), String(t.csrBytes), String(t.bsrBytes)]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (c: string[]) => c.map((s, i) => (i >= 3 ? s.padStart(w[i]!) : s.padEnd(w[i]!))).join('  ').trimEnd();
  const lines = [line(head), ...body.map(line), '(FLOPs per sample, multiply-add = 2 FLOPs, Conv2d/Linear only)'];
  if (a.checkpointBytes !== undefined) lines.push(`checkpoint: ${a.checkpointBytes} bytes`);
  return lines.join('\n');
}
