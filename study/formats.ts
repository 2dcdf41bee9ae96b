/**
 * The execution formats of one pruned model, built and checked:
 *
 *   dense            the dense model before pruning (the reference every speedup is taken against)
 *   masked           the pruned model as torch.nn.utils.prune leaves it: weight_orig × weight_mask, dense kernels
 *   csr / bsr        every Conv2d / Linear on the CSR / block-sparse kernels (toSparse), from the effective weights
 *   auto             per layer, whichever of dense, CSR and BSR ran fastest on this device (toSparse 'auto')
 *   compacted        the pruned filters / neurons physically removed (compact): a smaller dense model
 *   compacted-fused  compacted, then BatchNorm folded and ReLU / max pooling fused (fuseForInference);
 *                    timed against the dense model fused the same way
 *
 * Each built format's output on a probe batch is compared with the masked model's: a format
 * that differs by more than `OUTPUT_TOLERANCE` (relative to the largest output) is marked
 * failed and not timed.
 */
import { Generator, noGrad, type Tensor, tensor } from '../engine/internal.js';
import { outputError } from '../measure/output-error.js';
import { fuseForInference, type Module, SparseSequential, toSparse } from '../nn/index.js';
import { compactWithPlan } from '../pruning/index.js';
import type { Format } from './results.js';

/** Largest accepted max |y − y_masked| / max |y_masked|. */
export const OUTPUT_TOLERANCE = 1e-4;

export interface BuiltFormat {
  format: Format;
  model: Module | null;
  status: 'ok' | 'skipped' | 'failed';
  reason?: string;
  reference: 'dense' | 'dense-fused';
  outputError: number | null;
  choices?: Array<{ name: string; choice: string; timings: Record<string, number> }>;
  /** Frees what was built for this format (never the dense or masked model). */
  dispose: () => void;
}

/** A seeded random batch of `shape`. */
export function probeInput(shape: readonly number[], seed: number): Float32Array {
  const g = new Generator(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => g.normal());
}

/** max |a − b| / max |a| of two models' eval-mode outputs on `x`. */
export async function relativeOutputError(a: Module, b: Module, x: Tensor): Promise<number> {
  a.eval();
  b.eval();
  const [ya, yb] = noGrad(() => [a.forward(x), b.forward(x)] as [Tensor, Tensor]);
  try {
    const [va, vb] = await Promise.all([ya.toArray(), yb.toArray()]);
    if (va.length !== vb.length) throw new Error(`output sizes differ (${va.length} vs ${vb.length})`);
    return outputError(vb, va);
  } finally {
    ya.dispose();
    yb.dispose();
  }
}

export interface BuildOptions {
  inputShape: readonly number[];
  bsrBlock: [number, number];
  /** Batch size 'auto' times its candidates at. */
  autoBatch: number;
  /** Hears what the conversions warn about (e.g. no zero weight to skip). */
  onWarning?: (message: string) => void;
}

/**
 * Builds the requested formats of `masked` (dense and masked are the given models). Compaction
 * that removes nothing (no filter or neuron entirely pruned) is skipped with the reason.
 */
export async function buildFormats(formats: readonly Format[], dense: Module, masked: Module, o: BuildOptions): Promise<BuiltFormat[]> {
  const out: BuiltFormat[] = [];
  const x = tensor(probeInput([2, ...o.inputShape], 99), [2, ...o.inputShape]);
  const none = () => undefined;
  try {
    let compacted: { model: Module; removed: number } | null = null;
    const compactOnce = async () => {
      if (!compacted) {
        // No compaction warning: a compaction that removes nothing is reported as a skipped format.
        const { model, plan } = await compactWithPlan(masked, { inputShape: o.inputShape });
        compacted = { model, removed: plan.removed.size };
      }
      return compacted;
    };
    for (const format of formats) {
      const entry: BuiltFormat = { format, model: null, status: 'ok', reference: format === 'compacted-fused' ? 'dense-fused' : 'dense', outputError: null, dispose: none };
      try {
        if (format === 'dense') entry.model = dense;
        else if (format === 'masked') entry.model = masked;
        else if (format === 'csr' || format === 'bsr' || format === 'auto') {
          const m = await toSparse(masked, format === 'auto'
            ? { format, inputShape: o.inputShape, batch: o.autoBatch, blocks: [o.bsrBlock, ...(o.bsrBlock[0] === 8 && o.bsrBlock[1] === 8 ? [] : [[8, 8] as [number, number]])], onWarning: o.onWarning }
            : { format, block: o.bsrBlock, onWarning: o.onWarning });
          entry.model = m;
          entry.dispose = () => m.dispose();
          if (m instanceof SparseSequential) entry.choices = m.choices.map((c) => ({ name: c.name.replace(/^model\./, ''), choice: c.choice, timings: c.timings }));
        } else {
          const c = await compactOnce();
          if (c.removed === 0) {
            entry.status = 'skipped';
            entry.reason = 'no filter or neuron is entirely pruned, so compaction removes nothing (compaction needs structured pruning: filter, channel or row granularity)';
          } else if (format === 'compacted') {
            entry.model = c.model;
          } else {
            const fused = fuseForInference(c.model.eval());
            entry.model = fused;
            entry.dispose = () => fused.dispose();
          }
        }
        if (entry.model && format !== 'dense' && format !== 'masked') {
          entry.outputError = await relativeOutputError(masked, entry.model, x);
          if (!(entry.outputError <= OUTPUT_TOLERANCE)) {
            entry.status = 'failed';
            entry.reason = `outputs differ from the masked model's by ${entry.outputError.toExponential(2)} (relative; the limit is ${OUTPUT_TOLERANCE})`;
          }
        }
      } catch (e) {
        entry.dispose();
        entry.model = null;
        entry.dispose = none;
        entry.status = 'failed';
        entry.reason = (e as Error).message;
      }
      out.push(entry);
    }
    const c = compacted as { model: Module; removed: number } | null;
    if (c) {
      const holder = out.find((f) => f.format === 'compacted' && f.status === 'ok');
      if (holder) holder.dispose = () => c.model.dispose();
      else {
        // Only the fused copy (or nothing) is kept: the compacted model itself can go once the copy is made.
        const fusedKept = out.some((f) => f.format === 'compacted-fused' && f.model);
        const prev = out.find((f) => f.format === 'compacted-fused');
        if (fusedKept && prev) {
          const d = prev.dispose;
          prev.dispose = () => {
            d();
            c.model.dispose();
          };
        } else c.model.dispose();
      }
    }
    return out;
  } finally {
    x.dispose();
  }
}
