/**
 * Optimizer base (torch.optim.Optimizer semantics): parameter groups, each with
 * its own hyper-parameters; per-parameter state tensors owned by the optimizer;
 * `step()` applies the update kernel to every parameter that has a gradient.
 */
import { keep, type Tensor, Tensor as TensorClass, zeros } from '../../engine/internal.js';
import { cloneTensor } from '../module.js';

/** Hyper-parameters every optimizer has. */
export interface BaseOptions {
  lr: number;
}

export type ParamGroup<O extends BaseOptions> = O & { params: Tensor[] };

/** A group as passed to a constructor: its params and any options that differ from the defaults. */
export type ParamGroupSpec<O extends BaseOptions> = Partial<O> & { params: Iterable<Tensor> };

/** Parameters (e.g. `model.parameters()`) or a list of groups. */
export type ParamsArg<O extends BaseOptions> = Iterable<Tensor> | ReadonlyArray<ParamGroupSpec<O>>;

export type StateValue = Tensor | number;

/**
 * An optimizer's state as torch.optim's `state_dict()` lays it out: per-parameter
 * state keyed by the parameter's index over all groups in order (tensors are
 * copies the caller owns), and each group's hyper-parameters with its parameter
 * indices.
 */
export interface OptimizerStateDict<O extends BaseOptions = BaseOptions> {
  state: Map<number, Record<string, StateValue>>;
  paramGroups: Array<O & { params: number[] }>;
}

function isGroupList<O extends BaseOptions>(params: ParamsArg<O>): params is ReadonlyArray<ParamGroupSpec<O>> {
  return Array.isArray(params) && params.length > 0 && !(params[0] instanceof TensorClass);
}

export abstract class Optimizer<O extends BaseOptions> {
  readonly paramGroups: Array<ParamGroup<O>> = [];
  readonly defaults: O;
  /** Per-parameter state (momentum buffers, Adam moments, step counts). */
  protected readonly state = new Map<Tensor, Record<string, StateValue>>();

  constructor(params: ParamsArg<O>, defaults: O) {
    this.defaults = { ...defaults };
    const groups: Array<ParamGroupSpec<O>> = isGroupList(params) ? [...params] : [{ params } as ParamGroupSpec<O>];
    for (const g of groups) this.addParamGroup(g);
    if (this.paramGroups.every((g) => g.params.length === 0)) throw new Error(`${this.constructor.name}: got an empty parameter list`);
  }

  /** Checks a group's hyper-parameters; throws naming the bad one. */
  protected abstract validate(options: O): void;

  /** Applies one update to every parameter with a gradient. */
  abstract step(): void;

  addParamGroup(spec: ParamGroupSpec<O>): void {
    const { params, ...rest } = spec;
    const list = [...params];
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    for (const p of list) {
      if (!(p instanceof TensorClass)) throw new Error(`${this.constructor.name}: parameters must be Tensors`);
      if (seen.has(p)) throw new Error(`${this.constructor.name}: a parameter appears in more than one group (or twice in one)`);
      seen.add(p);
    }
    const options = { ...this.defaults, ...(rest as unknown as Partial<O>) } as O;
    this.validate(options);
    this.paramGroups.push({ ...options, params: list });
  }

  /** The learning rate of the first group. */
  get lr(): number {
    return this.paramGroups[0]!.lr;
  }

  /** Sets the learning rate of every group. */
  set lr(value: number) {
    if (!(value >= 0)) throw new Error(`${this.constructor.name}: learning rate must be >= 0, got ${value}`);
    for (const g of this.paramGroups) g.lr = value;
  }

  /** Disposes and clears the gradient of every parameter. */
  zeroGrad(): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        p.grad?.dispose();
        p.grad = null;
      }
    }
  }

  /** A zero tensor shaped and placed like `p`, owned by the optimizer. */
  protected stateZeros(p: Tensor): Tensor {
    return keep(zeros(p.shape, { backend: p.backend.name }));
  }

  private allParams(): Tensor[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  stateDict(): OptimizerStateDict<O> {
    const params = this.allParams();
    const state = new Map<number, Record<string, StateValue>>();
    params.forEach((p, i) => {
      const s = this.state.get(p);
      if (!s) return;
      const copy: Record<string, StateValue> = {};
      for (const [k, v] of Object.entries(s)) copy[k] = typeof v === 'number' ? v : keep(cloneTensor(v));
      state.set(i, copy);
    });
    let next = 0;
    const paramGroups = this.paramGroups.map(({ params: ps, ...options }) => {
      const ids = ps.map(() => next++);
      return { ...(structuredClone(options) as unknown as O), params: ids };
    });
    return { state, paramGroups };
  }

  /**
   * Restores hyper-parameters and state from `stateDict()`'s output (tensors are
   * copied). Group sizes and state shapes are checked first: a failed load changes
   * nothing.
   */
  loadStateDict(sd: OptimizerStateDict<O>): void {
    const name = this.constructor.name;
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new Error(`${name}.loadStateDict: ${sd.paramGroups.length} parameter groups in the state, the optimizer has ${this.paramGroups.length}`);
    }
    sd.paramGroups.forEach((g, i) => {
      if (g.params.length !== this.paramGroups[i]!.params.length) {
        throw new Error(`${name}.loadStateDict: group ${i} has ${g.params.length} parameters in the state, ${this.paramGroups[i]!.params.length} in the optimizer`);
      }
      const { params: _ids, ...options } = g;
      this.validate({ ...this.defaults, ...options } as O);
    });
    const params = this.allParams();
    for (const [i, s] of sd.state) {
      const p = params[i];
      if (!p) throw new Error(`${name}.loadStateDict: state for parameter ${i}, but there are only ${params.length}`);
      for (const [k, v] of Object.entries(s)) {
        if (typeof v === 'number') continue;
        if (v.isDisposed) throw new Error(`${name}.loadStateDict: state '${k}' of parameter ${i} was disposed`);
        if (v.size !== p.size || v.shape.length !== p.shape.length || v.shape.some((d, j) => d !== p.shape[j])) {
          throw new Error(`${name}.loadStateDict: state '${k}' of parameter ${i} is [${v.shape.join(', ')}], the parameter is [${p.shape.join(', ')}]`);
        }
        if (v.backend !== p.backend) throw new Error(`${name}.loadStateDict: state '${k}' of parameter ${i} lives on ${v.backend.name}, the parameter on ${p.backend.name}`);
      }
    }
    sd.paramGroups.forEach((g, i) => {
      const { params: _ids, ...options } = g;
      Object.assign(this.paramGroups[i]!, structuredClone(options));
    });
    this.disposeState();
    for (const [i, s] of sd.state) {
      const copy: Record<string, StateValue> = {};
      for (const [k, v] of Object.entries(s)) copy[k] = typeof v === 'number' ? v : keep(cloneTensor(v));
      this.state.set(params[i]!, copy);
    }
  }

  private disposeState(): void {
    for (const s of this.state.values()) for (const v of Object.values(s)) if (typeof v !== 'number') v.dispose();
    this.state.clear();
  }

  /** Frees the optimizer's state tensors (the parameters are not touched). */
  dispose(): void {
    this.disposeState();
  }
}
