/**
 * The CPU reference backend: plain TypeScript loops over float64 storage.
 * It is the oracle the WebGPU kernels are tested against and a selectable backend.
 */
import type {
  AdamConfig, Backend, BinaryOp, Conv2dGeometry, MatmulGeometry, MemoryStats, Pool2dGeometry, ReduceOp, SgdConfig, Storage, StridedView, UnaryOp,
} from '../backend.js';
import type { Activation, MatmulEpilogue } from '../backend.js';
import { binaryFns, unaryFns } from './elementwise.js';
import { forEachStrided } from './strided.js';
import * as conv from './conv.js';
import * as pool from './pool.js';
import * as optim from './optim.js';
import * as sparse from './sparse.js';
import type { SparseMatrix } from '../../formats/bsr.js';
import type { SparseStorage } from '../backend.js';

export class CpuStorage implements Storage {
  constructor(public data: Float64Array) {}
  get size(): number {
    return this.data.length;
  }
}

export class CpuBackend implements Backend {
  readonly name = 'cpu' as const;
  private live = new Set<CpuStorage>();

  private wrap(data: Float64Array): CpuStorage {
    const s = new CpuStorage(data);
    this.live.add(s);
    return s;
  }

  private data(s: Storage): Float64Array {
    if (!(s instanceof CpuStorage)) throw new Error('cpu backend: storage belongs to another backend');
    return s.data;
  }

  upload(values: ArrayLike<number>): Storage {
    return this.wrap(Float64Array.from(values));
  }

  fill(size: number, value: number): Storage {
    return this.wrap(new Float64Array(size).fill(value));
  }

  async read(s: Storage): Promise<Float64Array> {
    return this.data(s).slice();
  }

  release(s: Storage): void {
    this.live.delete(s as CpuStorage);
  }

  unary(op: UnaryOp, x: Storage): Storage {
    return this.wrap(this.data(x).map(unaryFns[op]));
  }

  binary(op: BinaryOp, a: Storage, aView: StridedView, b: Storage, bView: StridedView, outShape: readonly number[]): Storage {
    const fn = binaryFns[op];
    const ad = this.data(a), bd = this.data(b);
    const out = new Float64Array(outShape.reduce((p, d) => p * d, 1));
    forEachStrided(outShape, [aView, bView], (i, [ia, ib]) => {
      out[i] = fn(ad[ia!]!, bd[ib!]!);
    });
    return this.wrap(out);
  }

  where(cond: Storage, cView: StridedView, a: Storage, aView: StridedView, b: Storage, bView: StridedView, outShape: readonly number[]): Storage {
    const cd = this.data(cond), ad = this.data(a), bd = this.data(b);
    const out = new Float64Array(outShape.reduce((p, d) => p * d, 1));
    forEachStrided(outShape, [cView, aView, bView], (i, [ic, ia, ib]) => {
      out[i] = cd[ic!] !== 0 ? ad[ia!]! : bd[ib!]!;
    });
    return this.wrap(out);
  }

  addcmul(input: Storage, iView: StridedView, t1: Storage, aView: StridedView, t2: Storage, bView: StridedView, value: number, outShape: readonly number[]): Storage {
    const id = this.data(input), ad = this.data(t1), bd = this.data(t2);
    const out = new Float64Array(outShape.reduce((p, d) => p * d, 1));
    forEachStrided(outShape, [iView, aView, bView], (i, [ii, ia, ib]) => {
      out[i] = id[ii!]! + value * ad[ia!]! * bd[ib!]!;
    });
    return this.wrap(out);
  }

  gather(src: Storage, view: StridedView, shape: readonly number[]): Storage {
    const sd = this.data(src);
    const out = new Float64Array(shape.reduce((p, d) => p * d, 1));
    forEachStrided(shape, [view], (i, [is]) => {
      out[i] = sd[is!]!;
    });
    return this.wrap(out);
  }

  scatter(dst: Storage, dstView: StridedView, src: Storage, shape: readonly number[]): void {
    const dd = this.data(dst), sd = this.data(src);
    forEachStrided(shape, [dstView], (i, [id]) => {
      dd[id!] = sd[i]!;
    });
  }

  reduce(op: ReduceOp, x: Storage, outer: number, inner: number): Storage {
    const xd = this.data(x);
    const out = new Float64Array(outer);
    for (let o = 0; o < outer; o++) {
      const base = o * inner;
      if (op === 'sum') {
        let acc = 0;
        for (let i = 0; i < inner; i++) acc += xd[base + i]!;
        out[o] = acc;
      } else {
        // max/min/argmax: first extreme wins; NaN propagates (as in PyTorch).
        let best = xd[base]!;
        let bestIdx = 0;
        for (let i = 1; i < inner && !Number.isNaN(best); i++) {
          const v = xd[base + i]!;
          if (Number.isNaN(v) || (op === 'min' ? v < best : v > best)) {
            best = v;
            bestIdx = i;
          }
        }
        out[o] = op === 'argmax' ? bestIdx : best;
      }
    }
    return this.wrap(out);
  }

  matmul(a: Storage, b: Storage, g: MatmulGeometry, epilogue: MatmulEpilogue = {}): Storage {
    const ad = this.data(a), bd = this.data(b);
    const bias = epilogue.bias ? this.data(epilogue.bias) : null;
    const { batch, m, k, n } = g;
    const out = new Float64Array(batch * m * n);
    // Element (i, p) of A and (p, j) of B for either storage order.
    const aRow = g.transA ? 1 : k, aCol = g.transA ? m : 1;
    const bRow = g.transB ? 1 : n, bCol = g.transB ? k : 1;
    for (let bi = 0; bi < batch; bi++) {
      const ao = bi * g.aBatchStride, bo = bi * g.bBatchStride, oo = bi * m * n;
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let acc = 0;
          for (let p = 0; p < k; p++) acc += ad[ao + i * aRow + p * aCol]! * bd[bo + p * bRow + j * bCol]!;
          if (bias) acc += bias[j]!;
          out[oo + i * n + j] = epilogue.relu ? Math.max(acc, 0) : acc;
        }
    }
    return this.wrap(out);
  }

  conv2d(x: Storage, w: Storage, bias: Storage | null, g: Conv2dGeometry, activation: Activation | null = null, pooling: Pool2dGeometry | null = null): Storage {
    const y = conv.conv2d(this.data(x), this.data(w), bias ? this.data(bias) : null, g, activation === 'relu');
    return this.wrap(pooling ? pool.maxPool2d(y, pooling).out : y);
  }

  conv2dGradInput(gy: Storage, w: Storage, g: Conv2dGeometry): Storage {
    return this.wrap(conv.conv2dGradInput(this.data(gy), this.data(w), g));
  }

  conv2dGradWeight(x: Storage, gy: Storage, g: Conv2dGeometry): Storage {
    return this.wrap(conv.conv2dGradWeight(this.data(x), this.data(gy), g));
  }

  maxPool2d(x: Storage, g: Pool2dGeometry, indices: boolean): { out: Storage; argmax: Storage | null } {
    const r = pool.maxPool2d(this.data(x), g);
    return { out: this.wrap(r.out), argmax: indices ? this.wrap(r.argmax) : null };
  }

  maxPool2dGrad(gy: Storage, argmax: Storage, g: Pool2dGeometry): Storage {
    return this.wrap(pool.maxPool2dGrad(this.data(gy), this.data(argmax), g));
  }

  avgPool2d(x: Storage, g: Pool2dGeometry, countIncludePad: boolean): Storage {
    return this.wrap(pool.avgPool2d(this.data(x), g, countIncludePad));
  }

  avgPool2dGrad(gy: Storage, g: Pool2dGeometry, countIncludePad: boolean): Storage {
    return this.wrap(pool.avgPool2dGrad(this.data(gy), g, countIncludePad));
  }

  sgdStep(param: Storage, grad: Storage, momentumBuf: Storage | null, c: SgdConfig): void {
    optim.sgdStep(this.data(param), this.data(grad), momentumBuf ? this.data(momentumBuf) : null, c);
  }

  adamStep(param: Storage, grad: Storage, m: Storage, v: Storage, c: AdamConfig): void {
    optim.adamStep(this.data(param), this.data(grad), this.data(m), this.data(v), c);
  }

  uploadSparse(m: SparseMatrix): SparseStorage {
    return { matrix: m, deviceBytes: m.bytes };
  }

  releaseSparse(): void {}

  sparseMatmul(w: SparseStorage, x: Storage, bias: Storage | null, batch: number): Storage {
    return this.wrap(sparse.sparseMatmul(w.matrix, this.data(x), bias ? this.data(bias) : null, batch));
  }

  sparseConv2d(x: Storage, w: SparseStorage, bias: Storage | null, g: Conv2dGeometry): Storage {
    return this.wrap(sparse.sparseConv2d(w.matrix, this.data(x), bias ? this.data(bias) : null, g));
  }

  flush(): void {}

  async sync(): Promise<void> {}

  memoryStats(): MemoryStats {
    let bytes = 0;
    for (const s of this.live) bytes += s.data.byteLength;
    return { allocatedBytes: bytes, inUseBytes: bytes, pooledBytes: 0, storages: this.live.size };
  }

  destroy(): void {
    this.live.clear();
  }
}
