/**
 * Loads a checkpoint of a registered architecture, masked or not:
 *
 *   const { model, arch, metadata } = await loadModelCheckpoint('lenet5-pruned.safetensors');
 *
 * The architecture comes from `arch` or from the file's `model` metadata entry (written by
 * `wgprune train` and `wgprune prune`); when both are given they must agree. A file holding
 * PyTorch's pruning keys (`weight_orig`, `weight_mask`) gets its masks re-created first, so the
 * model comes back pruned. The whole file is checked against the architecture before any value
 * is loaded: a mismatch is refused with the keys and shapes that differ. Tensors holding NaN or
 * ±Infinity (a diverged run) are named in a warning, or refused with `nonFinite: 'error'`.
 */
import { createModel, loadSafetensors, MODELS, type Module } from '../nn/index.js';
import { checkFiniteCheckpoint, checkpointMismatches, loadCheckpoint, type NonFinitePolicy } from '../nn/checkpoint.js';
import { identity } from './custom.js';

export interface LoadedModel {
  model: Module;
  arch: string;
  metadata: Record<string, string>;
  /** Parameters that carry a mask (e.g. 'features.0.weight'). */
  masked: string[];
}

export interface LoadModelOptions {
  /** Registered architecture; default: the file's `model` metadata. */
  arch?: string;
  /** Seed of the model built before loading (irrelevant once loaded). */
  seed?: number;
  /**
   * Tensors holding NaN or ±Infinity: 'warn' (default) loads the file and calls `onWarning` naming
   * them, 'error' refuses it (NonFiniteValuesError) before any model is built, 'allow' is silent.
   */
  nonFinite?: NonFinitePolicy;
  /** Receives the non-finite warning (default: console.warn). */
  onWarning?: (message: string) => void;
}

async function inspect(path: string, arch?: string) {
  const file = await loadSafetensors(path);
  const fromFile = file.metadata.model;
  if (arch && fromFile && arch !== fromFile) throw new Error(`${path} was saved from architecture '${fromFile}', not '${arch}'`);
  const name = arch ?? fromFile;
  if (!name) throw new Error(`${path} does not say which architecture it holds (no 'model' metadata entry): name it (known: ${[...MODELS.keys()].join(', ')})`);
  if (!MODELS.has(name)) throw new Error(`unknown architecture '${name}' for ${path} (known: ${[...MODELS.keys()].join(', ')})`);
  return { file, name };
}

export async function loadModelCheckpoint(path: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const { file, name } = await inspect(path, options.arch);
  checkFiniteCheckpoint(path, [...file.tensors], options.nonFinite, options.onWarning);
  const model = createModel(name, { seed: options.seed ?? 0 });
  try {
    const maskedKeys = [...file.tensors.keys()].filter((k) => k.endsWith('_mask'));
    // Check the plain architecture first, with the masked keys mapped back to the parameters they mask.
    const plain = new Map([...file.tensors].filter(([k]) => !k.endsWith('_mask')).map(([k, v]) => [k.endsWith('_orig') ? k.slice(0, -5) : k, v]));
    const { problems } = checkpointMismatches(plain, model.stateDict());
    if (problems.length) throw new Error(`${path} does not hold a '${name}' model: ${problems.join('; ')}`);
    const masked: string[] = [];
    for (const key of maskedKeys) {
      const path_ = key.slice(0, -'_mask'.length).split('.');
      const param = path_.pop()!;
      let m: Module | undefined = model;
      for (const part of path_) m = m?.child(part);
      if (!m) throw new Error(`${path} has '${key}' but the '${name}' model has no module '${path_.join('.')}'`);
      await identity(m, param);
      masked.push(key.slice(0, -'_mask'.length));
    }
    await loadCheckpoint(path, model, { nonFinite: 'allow' });
    return { model, arch: name, metadata: file.metadata, masked };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
