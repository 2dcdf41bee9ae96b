/** Host copies of parameters as the forward pass sees them (orig × mask for masked ones), read once per graph. */
import type { Module } from '../../nn/index.js';
import { isPruned } from '../masked.js';

export interface ParamValues {
  shape: number[];
  /** The trainable tensor's values (weight_orig when masked). */
  orig: Float32Array;
  /** The mask (null when the parameter is not masked). */
  mask: Float32Array | null;
  /** orig × mask: the values the forward pass uses. */
  effective: Float32Array;
}

export class ParamCache {
  private readonly cache = new Map<Module, Map<string, Promise<ParamValues | null>>>();

  /** Null when the parameter is registered as absent (e.g. bias=false) or not registered. */
  get(m: Module, name: string): Promise<ParamValues | null> {
    let per = this.cache.get(m);
    if (!per) this.cache.set(m, (per = new Map()));
    let p = per.get(name);
    if (!p) per.set(name, (p = read(m, name)));
    return p;
  }
}

async function read(m: Module, name: string): Promise<ParamValues | null> {
  if (isPruned(m, name)) {
    const o = m.parameter(`${name}_orig`)!;
    const [orig, mask] = await Promise.all([o.toArray(), m.buffer(`${name}_mask`)!.toArray()]);
    const effective = new Float32Array(orig.length);
    for (let i = 0; i < orig.length; i++) effective[i] = mask[i] === 0 ? 0 : orig[i]!;
    return { shape: [...o.shape], orig, mask, effective };
  }
  const p = m.parameter(name);
  if (!p) return null;
  const orig = await p.toArray();
  return { shape: [...p.shape], orig, mask: null, effective: orig };
}
