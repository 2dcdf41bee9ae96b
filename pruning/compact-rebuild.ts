/**
 * Builds the compacted copy of a model from a CompactionPlan: the same module
 * tree (names, settings, training flags), every parameter and buffer copied with
 * only the kept slices. Nothing here touches the source model.
 */
import { Generator, tensor } from '../engine/internal.js';
import { BatchNorm1d, BatchNorm2d, Concat, Conv2d, Linear, type Module, Residual, Sequential } from '../nn/index.js';
import { copyStatelessLayer } from '../nn/layers/copy-stateless.js';
import type { CompactionPlan } from './compact.js';
import type { ParamCache } from './graph/index.js';
import { applyMask } from './masked.js';

/** Values of `shape` [d0, d1, ...rest] restricted to `rows` along dim 0 and `cols` along dim 1 (all when null). */
export function gather(values: ArrayLike<number>, shape: readonly number[], rows: readonly number[], cols: readonly number[] | null): Float32Array {
  if (shape.length === 1) return Float32Array.from(rows, (r) => values[r]!);
  const d1 = shape[1]!;
  const inner = shape.slice(2).reduce((a, b) => a * b, 1);
  const c = cols ?? Array.from({ length: d1 }, (_, i) => i);
  const out = new Float32Array(rows.length * c.length * inner);
  let k = 0;
  for (const r of rows) {
    for (const j of c) {
      const base = (r * d1 + j) * inner;
      for (let t = 0; t < inner; t++) out[k++] = values[base + t]!;
    }
  }
  return out;
}

/** A throwaway generator: building the new layers must not advance the global one. */
const scratch = () => new Generator(0);

/** Copies parameter `name` of `src` into `dst` (already built at the new size), keeping only `rows` × `cols`. */
async function copyParam(cache: ParamCache, src: Module, dst: Module, name: string, rows: number[], cols: number[] | null): Promise<void> {
  const v = await cache.get(src, name);
  const target = dst.parameter(name);
  if (!v || !target) return;
  const shape = [...target.shape];
  const backend = target.backend.name;
  const mask = v.mask ? gather(v.mask, v.shape, rows, cols) : null;
  const partial = mask !== null && mask.some((m) => m === 0);
  const values = gather(partial ? v.orig : v.effective, v.shape, rows, cols);
  dst.replaceParameter(name, tensor(values, shape, { backend }))?.dispose();
  if (partial) applyMask(dst, name, mask!, 'compact');
}

async function copyBuffer(src: Module, dst: Module, name: string, rows: number[] | null): Promise<void> {
  const b = src.buffer(name);
  const target = dst.buffer(name);
  if (!b || !target) return;
  const v = await b.toArray();
  const values = rows && b.rank === 1 ? Float32Array.from(rows, (r) => v[r]!) : v;
  dst.replaceBuffer(name, tensor(values, [...target.shape], { backend: target.backend.name }))?.dispose();
}

function backendOf(m: Module): 'cpu' | 'webgpu' | undefined {
  const p = m.parameters(false)[0] ?? m.buffers(false)[0];
  return p?.backend.name as 'cpu' | 'webgpu' | undefined;
}

async function rebuild(m: Module, plan: CompactionPlan): Promise<Module> {
  const cache = plan.graph.cache;
  let out: Module;
  if (m instanceof Sequential) {
    const entries: Array<[string, Module]> = [];
    for (const [n, c] of m.namedChildren()) entries.push([n, await rebuild(c, plan)]);
    out = new Sequential(...entries);
  } else if (m instanceof Residual) {
    out = new Residual(await rebuild(m.body, plan), m.shortcut ? await rebuild(m.shortcut, plan) : null);
  } else if (m instanceof Concat) {
    const entries: Array<[string, Module]> = [];
    for (const [n, c] of m.namedChildren()) entries.push([n, await rebuild(c, plan)]);
    out = new Concat(...entries);
  } else if (m instanceof Conv2d || m instanceof Linear) {
    const rows = plan.rows.get(m)!;
    const cols = plan.cols.get(m)!;
    const bias = m.parameter('bias') !== null || m.parameter('bias_orig') !== undefined;
    const backend = backendOf(m);
    out = m instanceof Conv2d
      ? new Conv2d(cols.length, rows.length, m.kernelSize, { stride: m.stride, padding: m.padding, dilation: m.dilation, bias, backend, generator: scratch(), activation: m.activation })
      : new Linear(cols.length, rows.length, { bias, backend, generator: scratch(), activation: m.activation });
    await copyParam(cache, m, out, 'weight', rows, cols);
    await copyParam(cache, m, out, 'bias', rows, null);
  } else if (m instanceof BatchNorm1d || m instanceof BatchNorm2d) {
    const rows = plan.rows.get(m)!;
    const o = { eps: m.eps, momentum: m.momentum, affine: m.affine, trackRunningStats: m.trackRunningStats, backend: backendOf(m) };
    out = m instanceof BatchNorm2d ? new BatchNorm2d(rows.length, o) : new BatchNorm1d(rows.length, o);
    await copyParam(cache, m, out, 'weight', rows, null);
    await copyParam(cache, m, out, 'bias', rows, null);
    await copyBuffer(m, out, 'running_mean', rows);
    await copyBuffer(m, out, 'running_var', rows);
    await copyBuffer(m, out, 'num_batches_tracked', null);
  } else {
    const copy = copyStatelessLayer(m);
    if (!copy) throw new Error(`compact: internal: no rebuild rule for ${m.typeName()} (the trace should have refused it)`);
    out = copy;
  }
  out.training = m.training;
  return out;
}

/** The compacted copy of `model` following `plan` (built with planCompaction on the same model). */
export async function rebuildModel(model: Module, plan: CompactionPlan): Promise<Module> {
  if (plan.graph.model !== model) throw new Error('compact: the plan was made for another model');
  return rebuild(model, plan);
}
