/**
 * Masked parameters with torch.nn.utils.prune's re-parametrisation.
 *
 * Pruning parameter `name` of a module:
 *   - moves the trainable tensor to parameter `${name}_orig` (the same Tensor
 *     object, so optimizers built earlier stay attached to it),
 *   - registers the buffer `${name}_mask` (1 = kept, 0 = pruned),
 *   - sets a parameter override so every forward reads `name` as orig × mask.
 * The product is built fresh in each forward, so the gradient reaching orig is
 * ∇w ⊙ mask: pruned entries get exactly zero gradient, and whatever an optimizer
 * does to orig (momentum, weight decay, Adam moments), the effective weight
 * orig × mask stays exactly zero where the mask is zero.
 *
 * Masks only ever accumulate: callers pass the complete new mask, which the
 * pruning functions compute as (old mask) × (mask of the entries pruned now).
 * `remove()` makes pruning permanent: parameter `name` = orig × mask (again the
 * same Tensor object, now holding the product), and orig, mask and the override
 * are gone. State-dict keys then read `weight_orig` / `weight_mask` while pruned
 * and `weight` after `remove()`, exactly like PyTorch (including the order:
 * re-registered entries move to the end of the module's own entries).
 */
import { mul, noGrad, type Tensor, tensor } from '../engine/internal.js';
import type { Module } from '../nn/index.js';

const ORIG = '_orig';
const MASK = '_mask';

function label(module: Module, name: string): string {
  return `${module.typeName()}.${name}`;
}

/** Names of the module's parameters that are currently pruned (masked), in registration order. */
export function prunedNames(module: Module): string[] {
  const out: string[] = [];
  for (const [key] of module.namedParameters('', false)) {
    if (!key.endsWith(ORIG)) continue;
    const base = key.slice(0, -ORIG.length);
    if (module.buffer(base + MASK) && module.hasParamOverride(base)) out.push(base);
  }
  return out;
}

/** Whether parameter `name` of `module` is masked; without `name`, whether any parameter is (torch's `is_pruned`). */
export function isPruned(module: Module, name?: string): boolean {
  if (name !== undefined) return !!module.parameter(name + ORIG) && !!module.buffer(name + MASK) && module.hasParamOverride(name);
  for (const [, m] of module.namedModules()) if (prunedNames(m).length > 0) return true;
  return false;
}

/**
 * Throws a clear error unless `name` is a parameter of `module` (pruned or not)
 * holding a tensor. Returns the trainable tensor (orig when pruned).
 */
export function trainableParam(module: Module, name: string, where = 'prune'): Tensor {
  if (typeof name !== 'string' || name.length === 0) throw new TypeError(`${where}: parameter name must be a non-empty string`);
  if (isPruned(module, name)) return module.parameter(name + ORIG)!;
  const p = module.parameter(name);
  if (p === undefined) {
    const names = [...module.namedParameters('', false)].map(([k]) => (k.endsWith(ORIG) ? k.slice(0, -ORIG.length) : k));
    throw new Error(`${where}: ${module.typeName()} has no parameter '${name}' (has ${names.join(', ') || 'none'})`);
  }
  if (p === null) throw new Error(`${where}: parameter '${name}' of ${module.typeName()} is absent (registered as null, e.g. bias=false)`);
  return p;
}

/** The mask buffer of a pruned parameter (the live tensor); null when `name` is a parameter that is not pruned. */
export function getMask(module: Module, name: string): Tensor | null {
  trainableParam(module, name, 'getMask');
  return isPruned(module, name) ? module.buffer(name + MASK)! : null;
}

/** The current mask on the host: the mask buffer's values, or all ones when not pruned. */
export async function maskValues(module: Module, name: string): Promise<Float32Array> {
  const p = trainableParam(module, name, 'maskValues');
  const m = getMask(module, name);
  return m ? m.toArray() : new Float32Array(p.size).fill(1);
}

/** The effective values orig × mask on the host (the weight the forward pass uses). */
export async function effectiveValues(module: Module, name: string): Promise<Float32Array> {
  const p = trainableParam(module, name, 'effectiveValues');
  const [w, m] = await Promise.all([p.toArray(), maskValues(module, name)]);
  for (let i = 0; i < w.length; i++) if (m[i] === 0) w[i] = 0;
  return w;
}

function maskOverride(name: string) {
  return (m: Module): Tensor => mul(m.parameter(name + ORIG)!, m.buffer(name + MASK)!);
}

/**
 * Installs `mask` (complete, 0/1, same size as the parameter) as the mask of
 * `module.name`, re-parametrising the module on the first call. The caller is
 * responsible for accumulation (new mask ≤ old mask).
 */
export function applyMask(module: Module, name: string, mask: ArrayLike<number>, where = 'prune'): void {
  const p = trainableParam(module, name, where);
  if (mask.length !== p.size) throw new Error(`${where}: mask has ${mask.length} entries, parameter '${name}' has ${p.size}`);
  const values = new Float32Array(mask.length);
  for (let i = 0; i < values.length; i++) {
    const v = mask[i]!;
    if (v !== 0 && v !== 1) throw new Error(`${where}: mask entries must be 0 or 1, got ${v} at index ${i}`);
    values[i] = v;
  }
  const t = tensor(values, p.shape, { backend: p.backend.name });
  if (isPruned(module, name)) {
    // In place: a mask tensor obtained earlier from getMask() stays valid and sees the update.
    module.buffer(name + MASK)!.assign(t);
    t.dispose();
    return;
  }
  for (const suffix of [ORIG, MASK]) {
    if (module.parameter(name + suffix) !== undefined || module.buffer(name + suffix) !== undefined || module.child(name + suffix)) {
      t.dispose();
      throw new Error(`${where}: ${label(module, name)} cannot be pruned: '${name + suffix}' is already registered on the module`);
    }
  }
  module.deleteParameter(name);
  module.registerParameter(name + ORIG, p);
  module.registerBuffer(name + MASK, t);
  module.setParamOverride(name, maskOverride(name));
}

/**
 * Makes the pruning of `module.name` permanent (torch's `prune.remove`): the
 * parameter `name` becomes orig × mask (the same Tensor object as orig, so
 * optimizers stay attached), and orig, mask and the override are removed.
 */
export function remove<M extends Module>(module: M, name: string): M {
  if (!isPruned(module, name)) {
    trainableParam(module, name, 'remove');
    throw new Error(`remove: parameter '${name}' of ${module.typeName()} has to be pruned before pruning can be removed`);
  }
  const orig = module.parameter(name + ORIG)!;
  const mask = module.buffer(name + MASK)!;
  noGrad(() => {
    const w = mul(orig, mask);
    orig.assign(w);
    w.dispose();
  });
  module.setParamOverride(name, null);
  module.deleteParameter(name + ORIG);
  module.deleteBuffer(name + MASK)?.dispose();
  module.registerParameter(name, orig);
  return module;
}

/** `remove()` for every pruned parameter of `model` and its descendants. */
export function removeAll<M extends Module>(model: M): M {
  for (const [, m] of model.namedModules()) for (const name of prunedNames(m)) remove(m, name);
  return model;
}
