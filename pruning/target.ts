/**
 * Prunable layers of a model: which (module, parameter) pairs a high-level
 * pruning call works on, and the neighbours some criteria and couplings need.
 */
import { BatchNorm1d, BatchNorm2d, Conv2d, Linear, type Module } from '../nn/index.js';
import { trainableParam } from './masked.js';

export interface PruneTarget {
  /** Dotted name of the module in the model ('' for the model itself). */
  moduleName: string;
  module: Module;
  /** The parameter pruned, e.g. 'weight'. */
  param: string;
  /** Dotted key of the parameter ('classifier.0.weight'). */
  key: string;
  /** The model the module belongs to. */
  model: Module;
}

/** Modules whose weights the high-level API prunes by default: Linear and Conv2d. */
export function isPrunableLayer(m: Module): boolean {
  return m instanceof Linear || m instanceof Conv2d;
}

/** Linear and Conv2d modules of `model` in module order, with their dotted names. */
export function prunableLayers(model: Module): Array<[string, Module]> {
  return [...model.namedModules()].filter(([, m]) => isPrunableLayer(m));
}

/** The output head: the last Linear/Conv2d in module order (null when there is none). */
export function headName(model: Module): string | null {
  const layers = prunableLayers(model);
  return layers.length ? layers[layers.length - 1]![0] : null;
}

function leaves(model: Module): Array<[string, Module]> {
  return [...model.namedModules()].filter(([, m]) => m.children().length === 0);
}

/** The BatchNorm that directly follows `moduleName` in module order and normalises its outputs, if any. */
export function followingBatchNorm(model: Module, moduleName: string): [string, BatchNorm1d | BatchNorm2d] | null {
  const list = leaves(model);
  const i = list.findIndex(([n]) => n === moduleName);
  if (i < 0 || i + 1 >= list.length) return null;
  const [name, next] = list[i + 1]!;
  const m = list[i]![1];
  const out = m instanceof Linear ? m.outFeatures : m instanceof Conv2d ? m.outChannels : -1;
  if ((next instanceof BatchNorm1d || next instanceof BatchNorm2d) && next.numFeatures === out) return [name, next];
  return null;
}

export interface TargetSelection {
  /** Module names to prune (default: every Linear and Conv2d). */
  layers?: readonly string[];
  /** Module names to leave alone (a name also excludes its descendants). */
  exclude?: readonly string[];
  /** Parameter pruned in each module (default 'weight'). */
  param?: string;
}

function under(name: string, prefix: string): boolean {
  return name === prefix || (prefix === '' ? true : name.startsWith(`${prefix}.`));
}

/** Resolves the selection to targets, checking every name given exists. */
export function selectTargets(model: Module, sel: TargetSelection, where: string): PruneTarget[] {
  const param = sel.param ?? 'weight';
  const all = new Map([...model.namedModules()]);
  for (const n of [...(sel.layers ?? []), ...(sel.exclude ?? [])]) {
    if (!all.has(n)) throw new Error(`${where}: the model has no module '${n}' (modules: ${[...all.keys()].filter(Boolean).join(', ')})`);
  }
  const chosen: Array<[string, Module]> = sel.layers ? sel.layers.map((n) => [n, all.get(n)!]) : prunableLayers(model);
  const excluded = sel.exclude ?? [];
  const targets: PruneTarget[] = [];
  for (const [name, m] of chosen) {
    if (excluded.some((e) => under(name, e))) continue;
    trainableParam(m, param, where);
    targets.push({ moduleName: name, module: m, param, key: name ? `${name}.${param}` : param, model });
  }
  return targets;
}
