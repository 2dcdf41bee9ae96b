/**
 * What a model costs, layer by layer, on one sample of `inputShape`:
 *
 *   const p = await profile(model, [1, 28, 28]);
 *   p.layers   // every layer in forward order: type, output shape, parameters, FLOPs, bytes
 *   p.totals   // sums over the layers, and the checkpoint's size
 *   console.log(formatProfile(p));
 *
 * Conventions (stated with every figure):
 *   - FLOPs count the multiply-adds of Conv2d and Linear layers, one multiply-add = 2 FLOPs,
 *     per sample: dense = 2 × (weight entries) × (output positions: oh·ow for a conv, 1 for a
 *     linear). Bias adds, BatchNorm, activations and pooling count 0 (well under 1 % for
 *     these models).
 *   - Effective FLOPs = 2 × (non-zero effective weights) × (output positions): what an ideal
 *     zero-skipping kernel would execute on a masked or sparse layer.
 *   - Parameters are the trainable tensors as the forward sees them (weight = weight_orig ×
 *     weight_mask when masked); masks and BatchNorm running statistics are buffers, counted in
 *     `bufferBytes` only.
 *   - Bytes, per layer, for its parameters: dense float32 (4 B per entry); CSR and BSR of the
 *     weight's 2-D view [out, in·kh·kw] as the engine's sparse formats store them (float32
 *     values, u32 row pointers, column indices packed 16-bit two per u32 when they fit) plus
 *     the dense bias / BatchNorm entries; `checkpoint`: the bytes of the layer's state-dict
 *     entries in a safetensors file (parameters, masks and buffers as float32).
 *   - `totals.checkpointBytes`: the exact size of the model's state dict as a safetensors file
 *     (header included; no metadata), computed in memory.
 *
 * The model is traced, not run: containers must be Sequential / Residual / Concat with the
 * built-in layers (see pruning's `traceModel`); anything else is refused naming the layer.
 */
import { type BlockShape, BsrMatrix, CsrMatrix } from '../engine/internal.js';
import { encodeSafetensors, type Module } from '../nn/index.js';
import { ParamCache, traceModel } from '../pruning/graph/index.js';

export interface LayerProfile {
  /** Dotted module name. */
  name: string;
  type: string;
  inShape: number[];
  outShape: number[];
  params: number;
  nonzeroParams: number;
  /** Dense FLOPs per sample (2 per multiply-add); 0 for layers without weights and for BatchNorm. */
  flops: number;
  /** 2 × non-zero weights × output positions. */
  effectiveFlops: number;
  /** Bytes to store the layer's parameters: dense float32, CSR and BSR weight (+ dense bias); checkpoint: its state-dict entries. */
  bytes: { dense: number; csr: number; bsr: number; checkpoint: number };
}

export interface ProfileTotals {
  params: number;
  nonzeroParams: number;
  flops: number;
  effectiveFlops: number;
  denseBytes: number;
  csrBytes: number;
  bsrBytes: number;
  /** Persistent buffers (BatchNorm statistics, masks) as float32. */
  bufferBytes: number;
  /** Size of the state dict as a safetensors file. */
  checkpointBytes: number;
}

export interface ModelProfile {
  inputShape: number[];
  outputShape: number[];
  layers: LayerProfile[];
  totals: ProfileTotals;
  /** The block shape of the BSR column. */
  bsrBlock: BlockShape;
  /** The conventions behind the figures, in one sentence. */
  conventions: string;
}

export interface ProfileOptions {
  /** BSR block (default 4×4). */
  bsrBlock?: BlockShape;
}

export const PROFILE_CONVENTIONS = 'FLOPs per sample, one multiply-add = 2 FLOPs, Conv2d/Linear only; effective FLOPs count non-zero weights; bytes as float32 (CSR/BSR as the engine stores them: f32 values, u32 row pointers, 16-bit packed column indices)';

function countNonzero(v: Float32Array): number {
  let n = 0;
  for (const x of v) if (x !== 0) n++;
  return n;
}

type Cost = Pick<LayerProfile, 'params' | 'nonzeroParams' | 'flops' | 'effectiveFlops'> & { bytes: { dense: number; csr: number; bsr: number } };

/**
 * Cost of one layer from its effective values (reusable for layers the trace does not know):
 * `weight` of `shape` [out, ...] is a GEMM weight when `gemm` (FLOPs over `positions` output
 * positions, CSR/BSR of its 2-D view), else per-channel entries (BatchNorm: dense storage only,
 * no FLOPs); `bias` is stored densely.
 */
export function weightCost(weight: Float32Array | null, shape: readonly number[], bias: Float32Array | null, positions: number, block: BlockShape = [4, 4], gemm = true): Cost {
  const out: Cost = { params: 0, nonzeroParams: 0, flops: 0, effectiveFlops: 0, bytes: { dense: 0, csr: 0, bsr: 0 } };
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

/** Size in bytes of `model`'s state dict written as a safetensors file (computed in memory, no metadata). */
export function checkpointSize(model: Module): number {
  const entries = [...model.stateDict().entries()].map(([k, t]) => [k, { shape: t.shape, data: new Float32Array(t.size) }] as const);
  return encodeSafetensors(entries).length;
}

/** Per-layer and total cost of `model` on one sample of `inputShape` ([C, H, W] or [F], no batch axis). */
export async function profile(model: Module, inputShape: readonly number[], options: ProfileOptions = {}): Promise<ModelProfile> {
  const block = options.bsrBlock ?? [4, 4];
  const trace = traceModel(model, { inputShape });
  const cache = new ParamCache();
  const state = model.stateDict();
  const layers: LayerProfile[] = [];
  for (const op of trace.ops) {
    if (op.kind === 'add' || op.kind === 'concat') continue;
    const inShape = op.inShape ?? [];
    const outShape = op.outShape ?? [];
    const prefix = op.name ? `${op.name}.` : '';
    let checkpoint = 0;
    for (const [k, t] of state) if (k.startsWith(prefix) && !k.slice(prefix.length).includes('.')) checkpoint += 4 * t.size;
    const row: LayerProfile = { name: op.name, type: op.module.typeName(), inShape, outShape, params: 0, nonzeroParams: 0, flops: 0, effectiveFlops: 0, bytes: { dense: 0, csr: 0, bsr: 0, checkpoint } };
    if (op.kind === 'conv' || op.kind === 'linear' || op.kind === 'norm') {
      const weight = await cache.get(op.module, 'weight');
      const bias = await cache.get(op.module, 'bias');
      const positions = op.kind === 'conv' ? outShape[1]! * outShape[2]! : op.kind === 'linear' ? 1 : 0;
      const cost = weightCost(weight?.effective ?? null, weight?.shape ?? [], bias?.effective ?? null, positions, block, op.kind !== 'norm');
      Object.assign(row, cost, { bytes: { ...cost.bytes, checkpoint } });
    }
    layers.push(row);
  }
  const sum = (f: (r: LayerProfile) => number) => layers.reduce((a, r) => a + f(r), 0);
  const params = new Set(model.parameters());
  const bufferBytes = [...state.values()].filter((t) => !params.has(t)).reduce((a, t) => a + 4 * t.size, 0);
  const totals: ProfileTotals = {
    params: sum((r) => r.params), nonzeroParams: sum((r) => r.nonzeroParams), flops: sum((r) => r.flops), effectiveFlops: sum((r) => r.effectiveFlops),
    denseBytes: sum((r) => r.bytes.dense), csrBytes: sum((r) => r.bytes.csr), bsrBytes: sum((r) => r.bytes.bsr), bufferBytes,
    checkpointBytes: checkpointSize(model),
  };
  return { inputShape: [...inputShape], outputShape: trace.outputShape ?? [], layers, totals, bsrBlock: block, conventions: PROFILE_CONVENTIONS };
}

/** A fixed-width table of the layers and totals. */
export function formatProfile(p: ModelProfile): string {
  const head = ['layer', 'type', 'out', 'params', 'non-zero', 'MFLOPs', 'eff. MFLOPs', 'dense B', 'CSR B', `BSR${p.bsrBlock.join('x')} B`];
  const mf = (x: number) => (x / 1e6).toFixed(3);
  const body = p.layers.map((r) => [r.name, r.type, `[${r.outShape.join(',')}]`, String(r.params), String(r.nonzeroParams), mf(r.flops), mf(r.effectiveFlops), String(r.bytes.dense), String(r.bytes.csr), String(r.bytes.bsr)]);
  const t = p.totals;
  body.push(['total', '', '', String(t.params), String(t.nonzeroParams), mf(t.flops), mf(t.effectiveFlops), String(t.denseBytes), String(t.csrBytes), String(t.bsrBytes)]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (c: string[]) => c.map((s, i) => (i >= 3 ? s.padStart(w[i]!) : s.padEnd(w[i]!))).join('  ').trimEnd();
  return [line(head), ...body.map(line), `(${p.conventions})`, `checkpoint: ${t.checkpointBytes} bytes`].join('\n');
}
