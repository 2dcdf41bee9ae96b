/**
 * Branching containers for ResNet- and Inception-style blocks.
 *
 *   Residual(body, shortcut?)  y = body(x) + shortcut(x)   (identity shortcut when absent)
 *   Concat(...branches)        y = concat([b(x) for b in branches], dim 1)   (channels / features)
 *
 * Keys: `body.*` and `shortcut.*` for Residual; `0.*`, `1.*`, … (or the given
 * names) for Concat — the same scheme as Sequential.
 */
import { add, concat, type Tensor } from '../../engine/internal.js';
import { Module } from '../module.js';
import type { SequentialEntry } from './sequential.js';

export class Residual extends Module {
  readonly body: Module;
  /** Null: the identity shortcut. */
  readonly shortcut: Module | null;

  constructor(body: Module, shortcut: Module | null = null) {
    super();
    this.body = this.registerModule('body', body);
    this.shortcut = shortcut ? this.registerModule('shortcut', shortcut) : null;
  }

  forward(x: Tensor): Tensor {
    const y = this.body.forward(x);
    const s = this.shortcut ? this.shortcut.forward(x) : x;
    if (y.shape.length !== s.shape.length || y.shape.some((d, i) => d !== s.shape[i])) {
      throw new Error(`Residual: the body gives [${y.shape.join(', ')}] but the shortcut gives [${s.shape.join(', ')}]; they must match`);
    }
    return add(y, s);
  }

  override extraRepr(): string {
    return this.shortcut ? '' : 'shortcut=identity';
  }
}

export class Concat extends Module {
  private readonly branches: Module[] = [];

  constructor(...entries: SequentialEntry[]) {
    super();
    if (entries.length === 0) throw new Error('Concat: needs at least one branch');
    for (const e of entries) {
      const [name, m] = e instanceof Module ? [String(this.branches.length), e] : [e[0], e[1]];
      this.registerModule(name, m);
      this.branches.push(m);
    }
  }

  forward(x: Tensor): Tensor {
    return concat(this.branches.map((b) => b.forward(x)), 1);
  }
}
