/**
 * Tensor: a float32 n-d array on a backend, with reverse-mode autograd.
 *
 * Storage is always contiguous and may be shared (reshape is free), so it is
 * reference counted. Ops are built with `makeResult`, which records the local
 * backward rule next to the forward when gradients are needed.
 */
import type { Backend, Storage } from './backend.js';
import { settleOnShutdown } from '../gpu/errors.js';
import { getBackend } from './registry.js';
import { keep, tidy, track } from './scope.js';
import { fmtShape, sizeOf, type Shape } from './shape.js';

/** Shared, reference-counted storage. */
class StorageRef {
  refs = 1;
  constructor(readonly backend: Backend, readonly storage: Storage) {}
  retain(): this {
    this.refs++;
    return this;
  }
  drop(): void {
    if (--this.refs === 0) this.backend.release(this.storage);
  }
}

/** Backstop for tensors that were never disposed: frees their storage after GC. */
const finalizer = new FinalizationRegistry<StorageRef>((ref) => ref.drop());

/** The local chain rule of the op that produced a tensor. */
export interface GradNode {
  op: string;
  inputs: readonly Tensor[];
  /** Maps the gradient of the output to gradients of each input (null: no gradient). */
  backward: (grad: Tensor) => ReadonlyArray<Tensor | null>;
}

let gradEnabled = true;
let nextId = 0;

/** Runs `fn` without recording autograd nodes (like torch.no_grad). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly size: number;
  readonly backend: Backend;
  requiresGrad = false;
  /** Accumulated gradient (leaves and tensors marked with `retainGrad()`). */
  grad: Tensor | null = null;
  node: GradNode | null = null;
  private ref: StorageRef | null;
  private retainsGrad = false;
  /** Cached constants are never disposed. */
  persistent = false;
  /** Tensors whose lifetime is tied to this one (e.g. indices saved for backward). */
  private owned: Tensor[] | null = null;

  constructor(ref: StorageRef, shape: Shape) {
    this.ref = ref;
    this.backend = ref.backend;
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(shape);
    finalizer.register(this, ref, this);
    track(this);
  }

  /** Wraps a freshly produced storage (ownership moves to the tensor). */
  static fromStorage(backend: Backend, storage: Storage, shape: Shape): Tensor {
    if (storage.size !== sizeOf(shape)) throw new Error(`internal: storage of ${storage.size} elements for shape ${fmtShape(shape)}`);
    return new Tensor(new StorageRef(backend, storage), shape);
  }

  get rank(): number {
    return this.shape.length;
  }


  get isDisposed(): boolean {
    return this.ref === null;
  }

  /** The storage, checked for use after dispose; `op` names the caller in the error. */
  storageFor(op: string): Storage {
    return this.live(op).storage;
  }

  private live(op: string): StorageRef {
    if (!this.ref) throw new Error(`${op}: tensor #${this.id} ${fmtShape(this.shape)} was used after dispose()`);
    return this.ref;
  }

  /** A tensor sharing this storage with another shape of the same size (no autograd). */
  shareAs(shape: Shape): Tensor {
    return new Tensor(this.live('reshape').retain(), shape);
  }

  dispose(): void {
    if (!this.ref || this.persistent) return;
    finalizer.unregister(this);
    this.ref.drop();
    this.ref = null;
    this.node = null;
    for (const t of this.owned ?? []) t.dispose();
    this.owned = null;
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
  }

  /**
   * Replaces this tensor's contents with `src`'s (same shape and backend), in place:
   * the storage is shared, so `src` may be disposed afterwards. Used by optimizers
   * and running statistics. Not recorded by autograd.
   */
  assign(src: Tensor): this {
    if (src.shape.length !== this.shape.length || src.shape.some((d, i) => d !== this.shape[i])) {
      throw new Error(`assign: shape ${fmtShape(src.shape)} does not match ${fmtShape(this.shape)}`);
    }
    if (src.backend !== this.backend) throw new Error('assign: tensors live on different backends');
    const next = src.live('assign').retain();
    this.live('assign').drop();
    finalizer.unregister(this);
    this.ref = next;
    finalizer.register(this, next, this);
    return this;
  }

  // Readbacks settle with DeviceShutdownError when shutdown() comes first; one nobody awaits
  // then does not count as an unhandled rejection (see settleOnShutdown).

  /** The values, read back from the device. */
  toArray(): Promise<Float32Array> {
    return settleOnShutdown(async () => {
      const data = await this.backend.read(this.storageFor('toArray'), this.describe());
      return data instanceof Float32Array ? data : Float32Array.from(data);
    });
  }

  /** Values at the backend's precision (float64 on the CPU reference). */
  toFloat64Array(): Promise<Float64Array> {
    return settleOnShutdown(async () => {
      const data = await this.backend.read(this.storageFor('toFloat64Array'), this.describe());
      return data instanceof Float64Array ? data : Float64Array.from(data);
    });
  }

  /** The single value of a one-element tensor. */
  item(): Promise<number> {
    return settleOnShutdown(async () => {
      if (this.size !== 1) throw new Error(`item: tensor has ${this.size} elements, shape ${fmtShape(this.shape)}; item() needs exactly one`);
      return (await this.toFloat64Array())[0]!;
    });
  }

  /** "tensor #id of shape [..]", for error messages. */
  private describe(): string {
    return `tensor #${this.id} of shape ${fmtShape(this.shape)}`;
  }

  /** Marks a leaf as requiring gradients (chainable). */
  requireGrad(flag = true): this {
    if (flag && this.node) throw new Error('requireGrad: only leaf tensors can be marked; use retainGrad() on intermediates');
    this.requiresGrad = flag;
    return this;
  }

  /** Keeps `.grad` for a non-leaf tensor too. */
  retainGrad(): this {
    this.retainsGrad = true;
    return this;
  }

  /** Ties `t`'s lifetime to this tensor: no scope disposes it; it goes when this tensor does. */
  own(t: Tensor): void {
    keep(t);
    (this.owned ??= []).push(t);
  }

  /** A tensor sharing this storage, cut from the graph. */
  detach(): Tensor {
    return this.shareAs(this.shape);
  }

  /**
   * Reverse-mode autograd from this tensor. Walks the graph in reverse topological
   * order, so each node's backward runs once with its fully accumulated gradient.
   * `grad` defaults to ones for a one-element tensor.
   */
  backward(grad?: Tensor): void {
    if (!this.requiresGrad) throw new Error('backward: tensor does not require grad (no input had requiresGrad, or it was built under noGrad)');
    if (!grad && this.size !== 1) throw new Error(`backward: a gradient is needed for a non-scalar output of shape ${fmtShape(this.shape)}`);
    if (grad && grad.size !== this.size) throw new Error(`backward: gradient shape ${fmtShape(grad.shape)} does not match output ${fmtShape(this.shape)}`);
    const order = topoOrder(this);
    const grads = new Map<Tensor, Tensor>();
    grads.set(this, grad ? grad.shareAs(this.shape) : Tensor.fromStorage(this.backend, this.backend.fill(1, 1), this.shape));
    noGrad(() => {
      for (let i = order.length - 1; i >= 0; i--) {
        const t = order[i]!;
        const g = grads.get(t);
        if (!g) continue;
        grads.delete(t);
        if (!t.node) {
          t.accumulateGrad(g);
          continue;
        }
        if (t.retainsGrad) t.accumulateGrad(g.shareAs(t.shape));
        const node = t.node;
        // Temporaries of the local rule are freed; the returned gradients survive.
        const inputGrads = tidy(() => node.backward(g));
        t.node.inputs.forEach((input, k) => {
          const ig = inputGrads[k];
          if (!ig || !input.requiresGrad) {
            ig?.dispose();
            return;
          }
          const prev = grads.get(input);
          if (prev) {
            grads.set(input, addSame(prev, ig));
            prev.dispose();
            ig.dispose();
          } else grads.set(input, ig);
        });
        g.dispose();
      }
    });
  }

  private accumulateGrad(g: Tensor): void {
    const shaped = g.shape.length === this.shape.length && g.shape.every((d, i) => d === this.shape[i]) ? g : g.shareAs(this.shape);
    if (shaped !== g) g.dispose();
    if (this.grad) {
      const sum = addSame(this.grad, shaped);
      this.grad.dispose();
      shaped.dispose();
      this.grad = keep(sum);
    } else this.grad = keep(shaped);
  }

  toString(): string {
    return `Tensor#${this.id}(${fmtShape(this.shape)}, ${this.ref?.backend.name ?? 'disposed'}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }
}

/** Elementwise sum of two same-shaped tensors, outside autograd. */
function addSame(a: Tensor, b: Tensor): Tensor {
  const view = { offset: 0, strides: [1] };
  const s = a.backend.binary('add', a.storageFor('backward'), view, b.storageFor('backward'), view, [a.size]);
  return Tensor.fromStorage(a.backend, s, a.shape);
}

/** Tensors reachable from `root` through grad-requiring nodes, inputs before outputs. */
function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: Array<[Tensor, boolean]> = [[root, false]];
  while (stack.length) {
    const [t, expanded] = stack.pop()!;
    if (expanded) {
      order.push(t);
      continue;
    }
    if (visited.has(t)) continue;
    visited.add(t);
    stack.push([t, true]);
    for (const input of t.node?.inputs ?? []) if (input.requiresGrad && !visited.has(input)) stack.push([input, false]);
  }
  return order;
}

/** Checks that every input is live and on one backend; returns that backend. */
export function commonBackend(op: string, inputs: readonly Tensor[]): Backend {
  let backend: Backend | null = null;
  for (const t of inputs) {
    t.storageFor(op);
    const b = t.backend;
    if (backend && b !== backend) throw new Error(`${op}: inputs live on different backends (${backend.name} and ${b.name}); move one with toBackend()`);
    backend = b;
  }
  return backend ?? getBackend();
}

/**
 * Wraps an op's output storage and, when gradients are on and some input needs
 * them, records the op's backward rule.
 */
export function makeResult(
  op: string,
  backend: Backend,
  storage: Storage,
  shape: Shape,
  inputs: readonly Tensor[],
  backward?: (grad: Tensor) => ReadonlyArray<Tensor | null>,
): Tensor {
  const out = Tensor.fromStorage(backend, storage, shape);
  return backward ? recordGrad(out, op, inputs, backward) : out;
}

/** Records `backward` on `out` when gradients are on and some input needs them. */
export function recordGrad(out: Tensor, op: string, inputs: readonly Tensor[], backward: (grad: Tensor) => ReadonlyArray<Tensor | null>): Tensor {
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op, inputs, backward };
  }
  return out;
}
