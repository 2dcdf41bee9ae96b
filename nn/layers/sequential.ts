/**
 * A chain of modules applied in order (torch.nn.Sequential). Children are named
 * "0", "1", … by position, or by the name given in a `[name, module]` entry, so
 * keys read `0.weight` or `features.0.weight`.
 */
import type { Tensor } from '../../engine/internal.js';
import { Module } from '../module.js';

export type SequentialEntry = Module | readonly [string, Module];

export class Sequential extends Module {
  private readonly order: Module[] = [];

  constructor(...entries: SequentialEntry[]) {
    super();
    for (const e of entries) {
      if (e instanceof Module) this.append(e);
      else this.append(e[1], e[0]);
    }
  }

  /** Adds a module at the end, named by its position unless a name is given. */
  append(m: Module, name = String(this.order.length)): this {
    this.registerModule(name, m);
    this.order.push(m);
    return this;
  }

  get length(): number {
    return this.order.length;
  }

  /** The child at a position (negative counts from the end) or with a name. */
  at(key: number | string): Module {
    const m = typeof key === 'number' ? this.order[key < 0 ? this.order.length + key : key] : this.child(key);
    if (!m) throw new Error(`Sequential: no child ${JSON.stringify(key)} (has ${[...this.namedChildren()].map(([n]) => n).join(', ')})`);
    return m;
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.order[Symbol.iterator]();
  }

  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.order) y = m.forward(y);
    return y;
  }
}
