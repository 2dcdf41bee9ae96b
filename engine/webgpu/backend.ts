/** The WebGPU backend: implements the primitives by launching the kernels in `kernels/`. */
import type {
  AdamConfig, Backend, BinaryOp, Conv2dGeometry, MatmulGeometry, MemoryStats, Pool2dGeometry, ReduceOp, SgdConfig, Storage, StridedView, UnaryOp,
} from '../backend.js';
import * as elementwise from '../../kernels/elementwise.js';
import * as copy from '../../kernels/copy.js';
import * as reduction from '../../kernels/reduce.js';
import type { Activation, MatmulEpilogue } from '../backend.js';
import * as mm from '../../kernels/matmul.js';
import * as conv from '../../kernels/conv2d.js';
import * as pool from '../../kernels/pool2d.js';
import { fill } from '../../kernels/fill.js';
import * as optim from '../../kernels/optim.js';
import { uploadCsr, csrMatmul } from '../../kernels/sparse/csr-spmm.js';
import { uploadBsr, bsrMatmul } from '../../kernels/sparse/bsr-spmm.js';
import { sparseConv2d } from '../../kernels/sparse/sparse-conv.js';
import { GpuSparse } from '../../kernels/sparse/storage.js';
import type { SparseStorage } from '../backend.js';
import type { SparseMatrix } from '../../formats/bsr.js';
import { GpuRuntime, GpuStorage, type RuntimeOptions } from '../../gpu/runtime.js';
import type { GpuContext } from '../../gpu/device.js';

function gs(s: Storage): GpuStorage {
  if (!(s instanceof GpuStorage)) throw new Error('webgpu backend: storage belongs to another backend');
  return s;
}

function gsp(s: SparseStorage): GpuSparse {
  if (!(s instanceof GpuSparse)) throw new Error('webgpu backend: sparse storage belongs to another backend');
  return s;
}

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu' as const;
  readonly rt: GpuRuntime;

  constructor(readonly ctx: GpuContext, options: RuntimeOptions = {}) {
    this.rt = new GpuRuntime(ctx, options);
  }

  upload(data: ArrayLike<number>): Storage {
    return this.rt.upload(data);
  }

  fill(size: number, value: number): Storage {
    return fill(this.rt, size, value);
  }

  read(s: Storage, label?: string): Promise<Float32Array> {
    return this.rt.read(gs(s), label);
  }

  release(s: Storage): void {
    this.rt.release(gs(s));
  }

  unary(op: UnaryOp, x: Storage): Storage {
    return elementwise.unary(this.rt, op, gs(x));
  }

  binary(op: BinaryOp, a: Storage, av: StridedView, b: Storage, bv: StridedView, shape: readonly number[]): Storage {
    return elementwise.binary(this.rt, op, gs(a), av, gs(b), bv, shape);
  }

  where(c: Storage, cv: StridedView, a: Storage, av: StridedView, b: Storage, bv: StridedView, shape: readonly number[]): Storage {
    return elementwise.where(this.rt, gs(c), cv, gs(a), av, gs(b), bv, shape);
  }

  addcmul(input: Storage, iv: StridedView, t1: Storage, av: StridedView, t2: Storage, bv: StridedView, value: number, shape: readonly number[]): Storage {
    return elementwise.addcmul(this.rt, gs(input), iv, gs(t1), av, gs(t2), bv, value, shape);
  }

  gather(src: Storage, view: StridedView, shape: readonly number[]): Storage {
    return copy.gather(this.rt, gs(src), view, shape);
  }

  scatter(dst: Storage, view: StridedView, src: Storage, shape: readonly number[]): void {
    copy.scatter(this.rt, gs(dst), view, gs(src), shape);
  }

  reduce(op: ReduceOp, x: Storage, outer: number, inner: number): Storage {
    return reduction.reduce(this.rt, op, gs(x), outer, inner);
  }

  matmul(a: Storage, b: Storage, g: MatmulGeometry, epilogue: MatmulEpilogue = {}): Storage {
    return mm.matmul(this.rt, gs(a), gs(b), g, { bias: epilogue.bias ? gs(epilogue.bias) : null, relu: epilogue.relu });
  }

  conv2d(x: Storage, w: Storage, bias: Storage | null, g: Conv2dGeometry, activation: Activation | null = null, pooling: Pool2dGeometry | null = null): Storage {
    return conv.conv2dForward(this.rt, gs(x), gs(w), bias ? gs(bias) : null, g, activation === 'relu', pooling);
  }

  conv2dGradInput(gy: Storage, w: Storage, g: Conv2dGeometry): Storage {
    return conv.conv2dGradInput(this.rt, gs(gy), gs(w), g);
  }

  conv2dGradWeight(x: Storage, gy: Storage, g: Conv2dGeometry): Storage {
    return conv.conv2dGradWeight(this.rt, gs(x), gs(gy), g);
  }

  maxPool2d(x: Storage, g: Pool2dGeometry, indices: boolean): { out: Storage; argmax: Storage | null } {
    return pool.maxPool2d(this.rt, gs(x), g, indices);
  }

  maxPool2dGrad(gy: Storage, argmax: Storage, g: Pool2dGeometry): Storage {
    return pool.maxPool2dGrad(this.rt, gs(gy), gs(argmax), g);
  }

  avgPool2d(x: Storage, g: Pool2dGeometry, countIncludePad: boolean): Storage {
    return pool.avgPool2d(this.rt, gs(x), g, countIncludePad);
  }

  avgPool2dGrad(gy: Storage, g: Pool2dGeometry, countIncludePad: boolean): Storage {
    return pool.avgPool2dGrad(this.rt, gs(gy), g, countIncludePad);
  }

  sgdStep(param: Storage, grad: Storage, momentumBuf: Storage | null, c: SgdConfig): void {
    optim.sgdStep(this.rt, gs(param), gs(grad), momentumBuf ? gs(momentumBuf) : null, c);
  }

  adamStep(param: Storage, grad: Storage, m: Storage, v: Storage, c: AdamConfig): void {
    optim.adamStep(this.rt, gs(param), gs(grad), gs(m), gs(v), c);
  }

  uploadSparse(m: SparseMatrix): SparseStorage {
    return m.format === 'csr' ? uploadCsr(this.rt, m) : uploadBsr(this.rt, m);
  }

  releaseSparse(s: SparseStorage): void {
    gsp(s).release();
  }

  sparseMatmul(w: SparseStorage, x: Storage, bias: Storage | null, batch: number): Storage {
    const sw = gsp(w);
    const b = bias ? gs(bias) : null;
    return sw.matrix.format === 'csr' ? csrMatmul(this.rt, sw, gs(x), b, batch) : bsrMatmul(this.rt, sw, gs(x), b, batch);
  }

  sparseConv2d(x: Storage, w: SparseStorage, bias: Storage | null, g: Conv2dGeometry): Storage {
    return sparseConv2d(this.rt, gsp(w), gs(x), bias ? gs(bias) : null, g);
  }

  flush(): void {
    this.rt.flush();
  }

  sync(): Promise<void> {
    return this.rt.sync();
  }

  memoryStats(): MemoryStats {
    return this.rt.memoryStats();
  }

  destroy(): void {
    this.rt.destroy();
  }
}
