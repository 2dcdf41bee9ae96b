/** Shared helpers for the compaction tests: forward on the host, BN statistics, state snapshots. */
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { Generator, noGrad, type Tensor, tensor, tidy } from '../../engine/index.js';
import { BatchNorm1d, BatchNorm2d, type Module } from '../../nn/index.js';
import { applyMask, buildDependencyGraph, maskValues } from '../../pruning/index.js';

/** Output of `model` on `x` (host data of `shape`), read back. */
export async function outputs(model: Module, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const y = noGrad(() => tidy(() => model.forward(tensor(x, shape))));
  const v = await y.toArray();
  y.dispose();
  return v;
}

/** |a − b| ≤ rtol · max|b| elementwise: relative to the output's scale. */
export function expectSameOutputs(a: Float32Array, b: Float32Array, rtol = 1e-5, label = 'outputs'): void {
  expect(a.length, `${label}: length`).toBe(b.length);
  let scale = 0, worst = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  expect(scale, `${label}: non-trivial outputs`).toBeGreaterThan(0);
  expect(worst / scale, `${label}: max |Δ| / max |y|`).toBeLessThanOrEqual(rtol);
}

/** Gives every BatchNorm non-trivial affine parameters and running statistics (as if trained). */
export function randomizeBatchNorms(model: Module, seed = 7): void {
  const g = new Generator(seed);
  for (const m of model.modules()) {
    if (!(m instanceof BatchNorm1d || m instanceof BatchNorm2d)) continue;
    const n = m.numFeatures;
    const set = (t: Tensor | null | undefined, f: () => number) => {
      if (!t) return;
      const v = tensor(Float32Array.from({ length: n }, f), [n], { backend: t.backend.name });
      t.assign(v);
      v.dispose();
    };
    set(m.parameter('weight'), () => 0.5 + g.uniform());
    set(m.parameter('bias'), () => 0.2 * g.normal());
    set(m.buffer('running_mean'), () => 0.3 * g.normal());
    set(m.buffer('running_var'), () => 0.5 + g.uniform());
  }
}

export function randomInput(shape: number[], seed = 3): Float32Array {
  const g = new Generator(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => g.normal());
}

/** Keys, shapes and a digest of the values of the state dict (exact bytes). */
export async function snapshot(model: Module): Promise<Map<string, { shape: number[]; sha1: string }>> {
  const out = new Map<string, { shape: number[]; sha1: string }>();
  for (const [k, t] of model.stateDict()) {
    const v = await t.toArray();
    out.set(k, { shape: [...t.shape], sha1: createHash('sha1').update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)).digest('hex') });
  }
  return out;
}

/** Shapes of every state-dict entry. */
export function shapes(model: Module): Record<string, number[]> {
  return Object.fromEntries([...model.stateDict()].map(([k, t]) => [k, [...t.shape]]));
}

/** Masks out the whole group of `layer`'s output channels `channels`: every Conv2d/Linear row, bias and BatchNorm entry coupled to them. */
export async function maskGroups(model: Module, inputShape: number[], layer: string, channels: number[]): Promise<void> {
  const graph = buildDependencyGraph(model, { inputShape });
  const modules = new Map(model.namedModules());
  for (const c of channels) {
    for (const m of graph.groupOf(layer, c).members) {
      if (m.role === 'in') continue;
      const mod = modules.get(m.layer)!;
      for (const name of ['weight', 'bias']) {
        const p = mod.parameter(name) ?? mod.parameter(`${name}_orig`);
        if (!p) continue;
        const mask = await maskValues(mod, name);
        const per = mask.length / p.shape[0]!;
        mask.fill(0, m.index * per, (m.index + 1) * per);
        applyMask(mod, name, mask);
      }
    }
  }
}
