/** Reading a layer's effective weight and building the sparse matrix from it. */
import { BsrMatrix, type BlockShape, checkBlockShape, CsrMatrix, noGrad, type SparseMatrix, type Tensor } from '../../engine/internal.js';
import { cloneTensor, type Module } from '../module.js';

export type SparseFormat = 'csr' | 'bsr';

/**
 * The weight the layer's forward uses (`getParam('weight')`: weight_orig × mask
 * when a pruning mask is attached) as float32 values, flattened to [rows, cols].
 */
export async function effectiveWeight(layer: Module): Promise<Float32Array> {
  const w = noGrad(() => layer.getParam('weight'));
  if (!w) throw new Error(`toSparse: ${layer.typeName()} has no weight`);
  try {
    return await w.toArray();
  } finally {
    // An override returns a fresh tensor owned by the caller; the plain parameter is the layer's.
    if (layer.hasParamOverride('weight')) w.dispose();
  }
}

/** A copy of the layer's effective bias (null when it has none). */
export function effectiveBias(layer: Module): Tensor | null {
  const b = noGrad(() => layer.getParam('bias'));
  if (!b) return null;
  if (layer.hasParamOverride('bias')) return b;
  return cloneTensor(b);
}

export function buildMatrix(data: Float32Array, rows: number, cols: number, format: SparseFormat, block: BlockShape = [4, 4]): SparseMatrix {
  if (format === 'csr') return CsrMatrix.fromDense(data, rows, cols);
  if (format === 'bsr') return BsrMatrix.fromDense(data, rows, cols, checkBlockShape(block));
  throw new Error(`toSparse: unknown format '${String(format)}' (expected 'csr', 'bsr' or 'auto')`);
}

export function describeMatrix(m: SparseMatrix): string {
  return m.format === 'csr' ? `csr, density=${m.density.toFixed(3)}` : `bsr ${m.block.join('x')}, density=${m.density.toFixed(3)}`;
}
