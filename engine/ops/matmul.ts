/**
 * Matrix products. Backward passes use the kernels' transposed-operand variants
 * (Aᵀ·B, A·Bᵀ), so no transpose is ever materialised.
 */
import type { Activation, Backend, MatmulEpilogue, MatmulGeometry, Storage } from '../backend.js';
import { broadcastShapes, fmtShape, sameShape, sizeOf } from '../shape.js';
import { commonBackend, makeResult, type Tensor } from '../tensor.js';
import { checkActivation, reluGradFromOutput } from './elementwise.js';
import { sumToShape } from './reduce.js';
import { expand, reshape, squeeze, unsqueeze } from './shape.js';

/** Raw batched product of row-major operands, with optional transposed storage. */
function product(backend: Backend, a: Storage, b: Storage, g: MatmulGeometry, epilogue?: MatmulEpilogue): Storage {
  return backend.matmul(a, b, g, epilogue);
}

/**
 * torch.matmul semantics for rank ≥ 1: 1-D operands are promoted and the added
 * dimension removed; batch dimensions broadcast.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.rank === 0 || b.rank === 0) throw new Error(`matmul: both operands need at least one dimension, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  if (a.rank === 1 && b.rank === 1) return reshape(matmul(unsqueeze(a, 0), unsqueeze(b, 1)), []);
  if (a.rank === 1) return squeeze(matmul(unsqueeze(a, 0), b), -2);
  if (b.rank === 1) return squeeze(matmul(a, unsqueeze(b, 1)), -1);
  const backend = commonBackend('matmul', [a, b]);
  const [m, k] = a.shape.slice(-2) as [number, number];
  const [k2, n] = b.shape.slice(-2) as [number, number];
  if (k !== k2) throw new Error(`matmul: inner dimensions differ: ${fmtShape(a.shape)} @ ${fmtShape(b.shape)} (${k} vs ${k2})`);
  const batchShape = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = sizeOf(batchShape);
  // Operands whose batch dims are partly broadcast are materialised; a single matrix is reused with stride 0.
  const operand = (t: Tensor, rows: number, cols: number): [Tensor, number] => {
    const own = t.shape.slice(0, -2);
    if (sizeOf(own) === 1) return [t, 0];
    if (sameShape(own, batchShape)) return [t, rows * cols];
    return [expand(t, [...batchShape, rows, cols]), rows * cols];
  };
  const [ea, aStride] = operand(a, m, k);
  const [eb, bStride] = operand(b, k, n);
  const storage = product(backend, ea.storageFor('matmul'), eb.storageFor('matmul'), {
    batch, m, k, n, transA: false, transB: false, aBatchStride: aStride, bBatchStride: bStride,
  });
  const outShape = [...batchShape, m, n];
  return makeResult('matmul', backend, storage, outShape, [a, b], (g) => {
    const gs = g.storageFor('matmul backward');
    const grads: Array<Tensor | null> = [null, null];
    if (a.requiresGrad) {
      // dA = G · Bᵀ, per batch; then summed over broadcast batch dims.
      const s = product(backend, gs, eb.storageFor('matmul backward'), { batch, m, k: n, n: k, transA: false, transB: true, aBatchStride: m * n, bBatchStride: bStride });
      grads[0] = sumToShape(makeResult('matmul grad', backend, s, [...batchShape, m, k], []), a.shape);
    }
    if (b.requiresGrad) {
      // dB = Aᵀ · G.
      const s = product(backend, ea.storageFor('matmul backward'), gs, { batch, m: k, k: m, n, transA: true, transB: false, aBatchStride: aStride, bBatchStride: m * n });
      grads[1] = sumToShape(makeResult('matmul grad', backend, s, [...batchShape, k, n], []), b.shape);
    }
    return grads;
  });
}

export interface LinearOptions {
  /** Applied in the matmul's epilogue (after the bias): relu(linear(x)) in one pass. */
  activation?: Activation | null;
}

/**
 * y = x·Wᵀ + b with W stored [out, in] (torch.nn.functional.linear); x is [..., in].
 * The bias (and the optional activation) are fused into the matmul's epilogue; the bias
 * gradient is the sum of g over rows.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null, options: LinearOptions = {}): Tensor {
  const inputs = bias ? [x, weight, bias] : [x, weight];
  const backend = commonBackend('linear', inputs);
  const activation = checkActivation('linear', options.activation);
  if (weight.rank !== 2) throw new Error(`linear: weight must be [out, in], got ${fmtShape(weight.shape)}`);
  const [out, inF] = weight.shape as [number, number];
  if (x.rank < 1 || x.shape[x.rank - 1] !== inF) {
    throw new Error(`linear: input ${fmtShape(x.shape)} does not end in in_features=${inF} of weight ${fmtShape(weight.shape)}`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== out)) throw new Error(`linear: bias ${fmtShape(bias.shape)} must be [${out}]`);
  const lead = x.shape.slice(0, -1);
  // Not x.size / in: with in_features 0 that is 0 / 0.
  const rows = sizeOf(lead);
  const s = product(backend, x.storageFor('linear'), weight.storageFor('linear'), {
    batch: 1, m: rows, k: inF, n: out, transA: false, transB: true, aBatchStride: 0, bBatchStride: 0,
  }, { bias: bias ? bias.storageFor('linear') : null, relu: activation === 'relu' });
  const y: Tensor = makeResult(activation ? 'linear+relu' : 'linear', backend, s, [...lead, out], inputs, (gOut) => {
    // Through the fused ReLU first: the product's own output gradient.
    const g = activation ? reluGradFromOutput(gOut, y) : gOut;
    const gs = g.storageFor('linear backward');
    return [
      x.requiresGrad
        ? makeResult('linear grad', backend, product(backend, gs, weight.storageFor('linear backward'), { batch: 1, m: rows, k: out, n: inF, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 }), x.shape, [])
        : null,
      weight.requiresGrad
        ? makeResult('linear grad', backend, product(backend, gs, x.storageFor('linear backward'), { batch: 1, m: out, k: rows, n: inF, transA: true, transB: false, aBatchStride: 0, bBatchStride: 0 }), weight.shape, [])
        : null,
      bias?.requiresGrad ? sumToShape(g, bias.shape) : null,
    ];
  });
  return y;
}
