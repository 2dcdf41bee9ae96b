/**
 * Module: the base of every layer and model, with PyTorch's semantics.
 *
 * A module owns three ordered maps: parameters (trainable leaves), buffers
 * (state such as BatchNorm's running statistics) and child modules. Names are
 * PyTorch's: a child's entries are prefixed with its name and a dot, so a model
 * produces keys like `features.0.weight` or `features.1.running_mean`.
 *
 * Forward passes read parameters through `getParam(name)`, never through the maps
 * directly. That is the hook pruning uses: `setParamOverride('weight', fn)` makes
 * `getParam('weight')` return `fn(module)` — e.g. weight_orig × weight_mask, built
 * fresh in each forward so gradients reach weight_orig — and
 * `deleteParameter`/`replaceParameter` let a pruning utility swap the stored tensors
 * (torch.nn.utils.prune's re-parametrisation) without the layer knowing.
 */
import { type BackendName, keep, mul, noGrad, type Tensor } from '../engine/internal.js';

export type StateDict = Map<string, Tensor>;

export interface LoadStateDictOptions {
  /** Missing or unexpected keys are errors (default true). Shape mismatches always are. */
  strict?: boolean;
}

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export interface RegisterBufferOptions {
  /** Non-persistent buffers are left out of `stateDict()` (default true: persistent). */
  persistent?: boolean;
}

/** Computes a parameter's effective value from the module (see `setParamOverride`). */
export type ParamOverride = (module: Module) => Tensor;

/** Options shared by layers that create tensors. */
export interface CreateOptions {
  /** Backend the parameters and buffers are created on; the current one by default. */
  backend?: BackendName;
}

const NAME = /^[^.]+$/;

function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** A copy of `t` with its own storage (not recorded by autograd). */
export function cloneTensor(t: Tensor): Tensor {
  return noGrad(() => mul(t, 1));
}

export abstract class Module {
  /** Training mode (dropout active, batch norm uses batch statistics). Set with `train()`/`eval()`. */
  training = true;
  private readonly paramMap = new Map<string, Tensor | null>();
  private readonly bufferMap = new Map<string, Tensor | null>();
  private readonly nonPersistent = new Set<string>();
  private readonly childMap = new Map<string, Module>();
  private readonly overrides = new Map<string, ParamOverride>();

  abstract forward(x: Tensor): Tensor;

  // ---- registration -------------------------------------------------------------

  private checkName(kind: string, name: string): void {
    if (!NAME.test(name)) throw new Error(`${this.typeName()}.${kind}: name '${name}' must be non-empty and contain no '.'`);
    if (this.paramMap.has(name) || this.bufferMap.has(name) || this.childMap.has(name)) {
      throw new Error(`${this.typeName()}.${kind}: '${name}' is already registered`);
    }
  }

  /**
   * Registers a parameter (null registers an absent one, like `bias=False`). The
   * tensor is marked as requiring gradients and kept out of any `tidy` scope; the
   * module owns it from now on.
   */
  registerParameter(name: string, t: Tensor | null): Tensor | null {
    this.checkName('registerParameter', name);
    if (t) {
      if (t.node) throw new Error(`${this.typeName()}.registerParameter: '${name}' must be a leaf tensor (detach() it first)`);
      keep(t).requireGrad();
    }
    this.paramMap.set(name, t);
    return t;
  }

  /** Registers a buffer: state saved in the state dict but not trained. */
  registerBuffer(name: string, t: Tensor | null, options: RegisterBufferOptions = {}): Tensor | null {
    this.checkName('registerBuffer', name);
    if (t) keep(t);
    this.bufferMap.set(name, t);
    if (options.persistent === false) this.nonPersistent.add(name);
    return t;
  }

  registerModule<M extends Module>(name: string, m: M): M {
    this.checkName('registerModule', name);
    if (!(m instanceof Module)) throw new Error(`${this.typeName()}.registerModule: '${name}' is not a Module`);
    this.childMap.set(name, m);
    return m;
  }

  // ---- access and replacement (the pruning hook points) ---------------------------

  /**
   * The value forward passes use for parameter `name`: the override's result when
   * one is set (a fresh tensor: the caller's scope owns it), else the registered
   * parameter (null when registered as absent). Throws for an unknown name.
   */
  getParam(name: string): Tensor | null {
    const override = this.overrides.get(name);
    if (override) return override(this);
    if (this.paramMap.has(name)) return this.paramMap.get(name)!;
    throw new Error(`${this.typeName()}: no parameter '${name}' (has ${[...this.paramMap.keys()].join(', ') || 'none'})`);
  }

  /** The registered parameter tensor itself (no override applied); undefined when not registered. */
  parameter(name: string): Tensor | null | undefined {
    return this.paramMap.get(name);
  }

  /** The registered buffer; undefined when not registered. */
  buffer(name: string): Tensor | null | undefined {
    return this.bufferMap.get(name);
  }

  /** The direct child `name`; undefined when absent. */
  child(name: string): Module | undefined {
    return this.childMap.get(name);
  }

  /**
   * Makes `getParam(name)` return `fn(this)` (null removes the override). Pruning
   * uses this to compute `weight` as `weight_orig × weight_mask` after moving the
   * stored tensor with `deleteParameter`/`registerParameter`.
   */
  setParamOverride(name: string, fn: ParamOverride | null): void {
    if (fn) this.overrides.set(name, fn);
    else this.overrides.delete(name);
  }

  hasParamOverride(name: string): boolean {
    return this.overrides.has(name);
  }

  /**
   * Swaps the tensor stored under parameter `name` in place (registration order is
   * kept) and returns the previous one, which the caller now owns (dispose it or
   * keep using it). Optimizers built earlier still hold the old tensor.
   */
  replaceParameter(name: string, t: Tensor | null): Tensor | null {
    if (!this.paramMap.has(name)) throw new Error(`${this.typeName()}.replaceParameter: no parameter '${name}'`);
    const old = this.paramMap.get(name)!;
    if (t) keep(t).requireGrad();
    this.paramMap.set(name, t);
    return old;
  }

  /** Unregisters parameter `name` and returns its tensor (the caller owns it). */
  deleteParameter(name: string): Tensor | null {
    if (!this.paramMap.has(name)) throw new Error(`${this.typeName()}.deleteParameter: no parameter '${name}'`);
    const old = this.paramMap.get(name)!;
    this.paramMap.delete(name);
    return old;
  }

  /** Swaps the tensor stored under buffer `name` and returns the previous one (the caller owns it). */
  replaceBuffer(name: string, t: Tensor | null): Tensor | null {
    if (!this.bufferMap.has(name)) throw new Error(`${this.typeName()}.replaceBuffer: no buffer '${name}'`);
    const old = this.bufferMap.get(name)!;
    if (t) keep(t);
    this.bufferMap.set(name, t);
    return old;
  }

  /** Unregisters buffer `name` and returns its tensor (the caller owns it). */
  deleteBuffer(name: string): Tensor | null {
    if (!this.bufferMap.has(name)) throw new Error(`${this.typeName()}.deleteBuffer: no buffer '${name}'`);
    const old = this.bufferMap.get(name)!;
    this.bufferMap.delete(name);
    this.nonPersistent.delete(name);
    return old;
  }

  // ---- traversal ----------------------------------------------------------------

  /** Direct children with their names, in registration order. */
  *namedChildren(): Generator<[string, Module]> {
    yield* this.childMap.entries();
  }

  children(): Module[] {
    return [...this.childMap.values()];
  }

  /** This module ('' or `prefix`) and every descendant, depth-first, each once. */
  *namedModules(prefix = '', seen = new Set<Module>()): Generator<[string, Module]> {
    if (seen.has(this)) return;
    seen.add(this);
    yield [prefix, this];
    for (const [name, m] of this.childMap) yield* m.namedModules(prefix ? `${prefix}.${name}` : name, seen);
  }

  /** This module and every descendant, depth-first. */
  modules(): Module[] {
    return [...this.namedModules()].map(([, m]) => m);
  }

  /** Parameters with dotted names: each module's own, then its children's. Shared tensors appear once. */
  *namedParameters(prefix = '', recurse = true): Generator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    const mods: Iterable<[string, Module]> = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [mp, m] of mods) {
      for (const [name, t] of m.paramMap) {
        if (!t || seen.has(t)) continue;
        seen.add(t);
        yield [mp ? `${mp}.${name}` : name, t];
      }
    }
  }

  parameters(recurse = true): Tensor[] {
    return [...this.namedParameters('', recurse)].map(([, t]) => t);
  }

  /** Buffers (persistent or not) with dotted names. */
  *namedBuffers(prefix = '', recurse = true): Generator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    const mods: Iterable<[string, Module]> = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [mp, m] of mods) {
      for (const [name, t] of m.bufferMap) {
        if (!t || seen.has(t)) continue;
        seen.add(t);
        yield [mp ? `${mp}.${name}` : name, t];
      }
    }
  }

  buffers(recurse = true): Tensor[] {
    return [...this.namedBuffers('', recurse)].map(([, t]) => t);
  }

  /** Calls `fn` on every module (children first, like torch's `apply`). */
  apply(fn: (m: Module) => void): this {
    for (const m of this.childMap.values()) m.apply(fn);
    fn(this);
    return this;
  }

  // ---- modes and gradients --------------------------------------------------------

  /** Sets training mode on this module and every descendant. */
  train(mode = true): this {
    this.training = mode;
    for (const m of this.childMap.values()) m.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Disposes and clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  // ---- state dict -----------------------------------------------------------------

  /**
   * Parameters and persistent buffers under PyTorch's key names, in PyTorch's order:
   * for each module depth-first, its own parameters (registration order), then its
   * own buffers, then its children. The tensors are the live ones (as in PyTorch):
   * later training changes them. Pass `{ clone: true }` for a snapshot the caller owns.
   */
  stateDict(options: { clone?: boolean } = {}): StateDict {
    const out: StateDict = new Map();
    this.collectState('', out);
    if (options.clone) for (const [k, t] of out) out.set(k, keep(cloneTensor(t)));
    return out;
  }

  private collectState(prefix: string, out: StateDict): void {
    for (const [name, t] of this.paramMap) if (t) out.set(prefix + name, t);
    for (const [name, t] of this.bufferMap) if (t && !this.nonPersistent.has(name)) out.set(prefix + name, t);
    for (const [name, m] of this.childMap) m.collectState(`${prefix}${name}.`, out);
  }

  /**
   * Copies values from `state` into this module's parameters and buffers (the
   * tensors keep their identity, so optimizers stay attached; values are copied, so
   * `state` is not aliased). Every key, shape and backend is checked before anything
   * is modified: a failed load leaves the module unchanged.
   */
  loadStateDict(state: Map<string, Tensor> | Record<string, Tensor>, options: LoadStateDictOptions = {}): LoadStateDictResult {
    const { strict = true } = options;
    const src = state instanceof Map ? state : new Map(Object.entries(state));
    const own = this.stateDict();
    const missingKeys = [...own.keys()].filter((k) => !src.has(k));
    const unexpectedKeys = [...src.keys()].filter((k) => !own.has(k));
    const problems: string[] = [];
    if (strict && missingKeys.length) problems.push(`missing keys: ${missingKeys.join(', ')}`);
    if (strict && unexpectedKeys.length) problems.push(`unexpected keys: ${unexpectedKeys.join(', ')}`);
    for (const [key, target] of own) {
      const t = src.get(key);
      if (t === undefined) continue;
      if (!t || typeof t !== 'object' || !('shape' in t) || !('isDisposed' in t)) {
        problems.push(`'${key}' is not a Tensor`);
      } else if (t.isDisposed) {
        problems.push(`'${key}' was disposed`);
      } else if (t.shape.length !== target.shape.length || t.shape.some((d, i) => d !== target.shape[i])) {
        problems.push(`size mismatch for '${key}': checkpoint has ${fmt(t.shape)}, the module has ${fmt(target.shape)}`);
      } else if (t.backend !== target.backend) {
        problems.push(`'${key}' lives on the ${t.backend.name} backend but the module is on ${target.backend.name}`);
      }
    }
    if (problems.length) {
      throw new Error(`${this.typeName()}.loadStateDict: nothing was loaded; ${problems.join('; ')}`);
    }
    for (const [key, target] of own) {
      const t = src.get(key);
      if (!t || t === target) continue;
      const copy = cloneTensor(t);
      target.assign(copy);
      copy.dispose();
    }
    return { missingKeys, unexpectedKeys };
  }

  // ---- lifetime and printing --------------------------------------------------------

  /** Disposes every parameter, gradient and buffer of this module and its descendants. */
  dispose(): void {
    for (const m of this.modules()) {
      for (const t of m.paramMap.values()) t?.dispose();
      for (const t of m.bufferMap.values()) t?.dispose();
    }
  }

  /** The class name used in messages and `toString()`. */
  typeName(): string {
    return this.constructor.name;
  }

  /** Layer settings shown by `toString()`, e.g. `in=784, out=300, bias=true`. */
  extraRepr(): string {
    return '';
  }

  /** A PyTorch-like tree: `Sequential(\n  (0): Linear(in=784, ...)\n ...)`. */
  toString(): string {
    const head = `${this.typeName()}(${this.extraRepr()}`;
    if (this.childMap.size === 0) return `${head})`;
    const lines = [...this.childMap].map(([name, m]) => `  (${name}): ${m.toString().split('\n').join('\n  ')}`);
    return `${head}\n${lines.join('\n')}\n)`;
  }
}
