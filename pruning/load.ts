/**
 * Loads a checkpoint of a registered architecture, masked or not, from safetensors bytes
 * (browsers included; files in Node: `loadModelCheckpoint` in ./load-file.ts):
 *
 *   const { model, arch, metadata } = await loadModelCheckpointBytes(bytes, { name: 'lenet5-pruned.safetensors' });
 *
 * The architecture comes from `arch` or from the file's `model` metadata entry (written by
 * `wgprune train` and `wgprune prune`); when both are given they must agree. A file holding
 * PyTorch's pruning keys (`weight_orig`, `weight_mask`) gets its masks re-created first, so the
 * model comes back pruned. The whole file is checked against the architecture before any value
 * is loaded: a mismatch is refused with the keys and shapes that differ. Tensors holding NaN or
 * ±Infinity (a diverged run) are named in a warning, or refused with `nonFinite: 'error'`.
 */
import { createModel, decodeSafetensors, type DecodedSafetensors, MODELS, type Module } from '../nn/index.js';
import { applyCheckpoint, type CheckpointBytes, checkpointBytesOf, checkFiniteCheckpoint, checkpointMismatches, type NonFinitePolicy } from '../nn/checkpoint.js';
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
  /** Names the checkpoint in messages (a file name, a URL); default 'checkpoint bytes'. */
  name?: string;
}

/** The architecture a checkpoint holds: `arch` and the file's `model` metadata must agree, and be registered. */
function architectureOf(file: DecodedSafetensors, path: string, arch?: string): string {
  const fromFile = file.metadata.model;
  if (arch && fromFile && arch !== fromFile) throw new Error(`${path} was saved from architecture '${fromFile}', not '${arch}'`);
  const name = arch ?? fromFile;
  if (!name) throw new Error(`${path} does not say which architecture it holds (no 'model' metadata entry): name it (known: ${[...MODELS.keys()].join(', ')})`);
  if (!MODELS.has(name)) throw new Error(`unknown architecture '${name}' for ${path} (known: ${[...MODELS.keys()].join(', ')})`);
  return name;
}

/** Loads a registered architecture's checkpoint from safetensors bytes (or a Blob). */
export async function loadModelCheckpointBytes(source: CheckpointBytes, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const path = options.name ?? 'checkpoint bytes';
  const bytes = await checkpointBytesOf(source, `loadModelCheckpointBytes ${path}`);
  return loadDecodedModel(decodeSafetensors(bytes, { name: path }), path, options);
}

/** Builds the architecture a decoded checkpoint names and loads it; `path` names the checkpoint in messages. */
export async function loadDecodedModel(file: DecodedSafetensors, path: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const name = architectureOf(file, path, options.arch);
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
    applyCheckpoint(model, file, { nonFinite: 'allow' }, path, `loadCheckpoint ${path}`);
    return { model, arch: name, metadata: file.metadata, masked };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
