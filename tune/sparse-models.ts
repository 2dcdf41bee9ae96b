/**
 * Sparse problems from a model: a registered model only gives the sparse kernels problems once it
 * runs sparse layers, so the model is pruned to a target sparsity (L1 magnitude, each layer on its
 * own: single weights for CSR, r × c blocks of the [out, in·kh·kw] view for BSR), converted with
 * toSparse, and run forward at each batch size while its plans are recorded.
 *
 * The problems carry the pruned matrices' statistics (non-zeros, longest row, stored blocks), so a
 * tuned entry applies to a model pruned the same way: the same model, seed, sparsity and format.
 */
import { type BlockShape, checkBlockShape, noGrad, type PlanRecord, randn } from '../engine/internal.js';
import { createModel, MODELS, toSparse } from '../nn/index.js';
import { prune } from '../pruning/index.js';
import type { Problem } from './family.js';
import { problemsOf, recordingPlans } from './collect.js';

/** One way to prune and convert a model: CSR after unstructured pruning, or BSR after block pruning. */
export interface SparseTarget {
  format: 'csr' | 'bsr';
  /** BSR block shape. */
  block?: BlockShape;
  /** Fraction of weights (CSR) or blocks (BSR) pruned, in (0, 1). */
  sparsity: number;
}

/** `csr:0.9` or `bsr4x4:0.9`, as the targets are written. */
export function sparseTargetName(t: SparseTarget): string {
  return `${t.format === 'csr' ? 'csr' : `bsr${t.block![0]}x${t.block![1]}`}:${t.sparsity}`;
}

/**
 * Targets from `csr:S,bsrRxC:S,…` (`bsr:S` is 4×4 blocks), S in (0, 1); throws naming the item
 * that is not one.
 */
export function parseSparseTargets(value: string): SparseTarget[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (!items.length) throw new Error(`expected FORMAT:SPARSITY items such as csr:0.9,bsr4x4:0.9, got '${value}'`);
  return items.map((item) => {
    const m = /^(csr|bsr)(?:(\d+)x(\d+))?:([^:]+)$/i.exec(item);
    if (!m) throw new Error(`expected FORMAT:SPARSITY with FORMAT csr or bsrRxC (e.g. csr:0.9, bsr4x4:0.9), got '${item}'`);
    const format = m[1]!.toLowerCase() as 'csr' | 'bsr';
    const sparsity = Number(m[4]);
    if (!(sparsity > 0 && sparsity < 1)) throw new Error(`sparsity must be a fraction between 0 and 1 (exclusive), got '${m[4]}' in '${item}'`);
    if (format === 'csr') {
      if (m[2] !== undefined) throw new Error(`csr takes no block shape, got '${item}'`);
      return { format, sparsity };
    }
    const block: BlockShape = m[2] === undefined ? [4, 4] : [Number(m[2]), Number(m[3])];
    try {
      return { format, block: checkBlockShape(block), sparsity };
    } catch (e) {
      throw new Error(`${(e as Error).message.replace(/^BSR: /, '')} in '${item}'`);
    }
  });
}

/**
 * The problems the model `name`, pruned and converted as `target` says, gives its kernels when it
 * runs forward (eval mode) at each batch size (the WebGPU backend must be initialised).
 */
export async function sparseModelProblems(name: string, batches: number[], target: SparseTarget): Promise<{ problems: Problem[]; records: PlanRecord[] }> {
  const spec = MODELS.get(name);
  if (!spec) throw new Error(`unknown model '${name}' (known: ${[...MODELS.keys()].join(', ')})`);
  const model = createModel(name, { seed: 0, backend: 'webgpu' });
  const records: PlanRecord[] = [];
  try {
    await prune(model, { sparsity: target.sparsity, criterion: 'l1', scope: 'local', granularity: target.format === 'csr' ? 'weight' : { block: target.block! } });
    const sparse = await toSparse(model.eval(), { format: target.format, ...(target.block ? { block: target.block } : {}) });
    try {
      await recordingPlans((r) => records.push(r), async () => {
        for (const b of batches) {
          const x = randn([b, ...spec.inputShape]);
          const y = noGrad(() => sparse.forward(x));
          await y.toArray();
          x.dispose();
          y.dispose();
        }
      });
    } finally {
      sparse.dispose();
    }
  } finally {
    model.dispose();
  }
  return { problems: problemsOf(records), records };
}
