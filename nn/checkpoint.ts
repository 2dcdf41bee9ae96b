/**
 * Model checkpoints as safetensors files.
 *
 * Written against a structural interface so any module with a state dict works.
 * Loading validates the whole file against the model (names, shapes, byte
 * lengths) before touching it, and refuses a mismatch with a message naming the
 * offending keys.
 */
import { type Tensor, tensor } from '../engine/index.js';
import { type DecodedTensor, loadSafetensors, saveSafetensors, type SafetensorsMetadata } from './safetensors.js';

export interface StatefulModule {
  stateDict(): Map<string, Tensor>;
  /** Must copy the values in (e.g. `Tensor.assign`): the tensors passed are disposed afterwards. */
  loadStateDict(state: Map<string, Tensor>, options?: { strict?: boolean }): void;
}

export interface LoadCheckpointOptions {
  /**
   * Default true: the checkpoint must hold exactly the model's keys. When false,
   * missing and unexpected keys are allowed and only the shared keys are loaded;
   * shapes of shared keys must still match.
   */
  strict?: boolean;
}

export interface LoadedCheckpoint {
  metadata: SafetensorsMetadata;
  /** Keys loaded into the model. */
  loaded: string[];
  /** Model keys absent from the file (only possible with strict: false). */
  missing: string[];
  /** File keys the model does not have (only possible with strict: false). */
  unexpected: string[];
}

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;
const list = (keys: string[]) => keys.map((k) => `'${k}'`).join(', ');

/** Saves the model's state dict (parameters and buffers) atomically. */
export async function saveCheckpoint(path: string, model: StatefulModule, metadata?: SafetensorsMetadata): Promise<void> {
  await saveSafetensors(path, model.stateDict(), metadata);
}

/** Problems between a checkpoint's tensors and the model's state; empty when they match. */
export function checkpointMismatches(file: Map<string, DecodedTensor>, state: Map<string, Tensor>, strict = true): { missing: string[]; unexpected: string[]; problems: string[] } {
  const missing = [...state.keys()].filter((k) => !file.has(k));
  const unexpected = [...file.keys()].filter((k) => !state.has(k));
  const problems: string[] = [];
  if (strict && missing.length) problems.push(`missing keys (in the model, not in the checkpoint): ${list(missing)}`);
  if (strict && unexpected.length) problems.push(`unexpected keys (in the checkpoint, not in the model): ${list(unexpected)}`);
  const shapes: string[] = [];
  for (const [key, t] of state) {
    const entry = file.get(key);
    if (!entry) continue;
    const same = entry.shape.length === t.shape.length && entry.shape.every((d, i) => d === t.shape[i]);
    if (!same) shapes.push(`'${key}' (checkpoint ${fmt(entry.shape)}, model ${fmt(t.shape)})`);
    else if (entry.data.length !== t.size) shapes.push(`'${key}' (checkpoint holds ${entry.data.length} values, model ${t.size})`);
  }
  if (shapes.length) problems.push(`shape mismatch: ${shapes.join(', ')}`);
  return { missing, unexpected, problems };
}

/**
 * Loads a checkpoint into `model`. The file is parsed and checked in full first;
 * on any problem it throws and the model is left untouched. The values are
 * uploaded to each model tensor's backend, handed to `loadStateDict`, and the
 * temporaries are disposed.
 */
export async function loadCheckpoint(path: string, model: StatefulModule, options: LoadCheckpointOptions = {}): Promise<LoadedCheckpoint> {
  const strict = options.strict ?? true;
  const { tensors: file, metadata } = await loadSafetensors(path);
  const state = model.stateDict();
  const { missing, unexpected, problems } = checkpointMismatches(file, state, strict);
  if (problems.length) throw new Error(`loadCheckpoint ${path}: the checkpoint does not match the model: ${problems.join('; ')}`);
  const temps = new Map<string, Tensor>();
  try {
    for (const [key, target] of state) {
      const entry = file.get(key);
      if (entry) temps.set(key, tensor(entry.data, target.shape, { backend: target.backend.name }));
    }
    model.loadStateDict(temps, { strict });
  } finally {
    for (const t of temps.values()) t.dispose();
  }
  return { metadata, loaded: [...temps.keys()], missing, unexpected };
}
