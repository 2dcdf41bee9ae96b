/**
 * Model checkpoints as safetensors files (Node): `saveCheckpoint` writes atomically (a failure
 * keeps any previous file), `loadCheckpoint` checks the whole file against the model first.
 * Both are the byte-level functions of ./checkpoint.ts plus file I/O.
 */
import { applyCheckpoint, checkpointEntries, type LoadCheckpointOptions, type LoadedCheckpoint, type SaveCheckpointOptions, type StatefulModule } from './checkpoint.js';
import { encodeSafetensors, type SafetensorsMetadata } from './safetensors.js';
import { loadSafetensors, writeFileAtomic } from './safetensors-file.js';

/**
 * Saves the model's state dict (parameters and buffers) atomically. A state holding NaN or
 * ±Infinity is written with a warning naming the tensors, or — with `nonFinite: 'error'` —
 * refused with a NonFiniteValuesError, keeping any previous file at `path`.
 */
export async function saveCheckpoint(path: string, model: StatefulModule, metadata?: SafetensorsMetadata, options: SaveCheckpointOptions = {}): Promise<void> {
  const names = { label: `saveCheckpoint ${path}`, read: `saveSafetensors ${path}`, source: path, refusedNote: '; any previous file there is kept' };
  const entries = await checkpointEntries(model, options, names);
  await writeFileAtomic(path, encodeSafetensors(entries, metadata));
}

/**
 * Loads a checkpoint file into `model`. The file is parsed and checked in full first; on any
 * problem it throws (naming the path) and the model is left untouched.
 */
export async function loadCheckpoint(path: string, model: StatefulModule, options: LoadCheckpointOptions = {}): Promise<LoadedCheckpoint> {
  return applyCheckpoint(model, await loadSafetensors(path), options, path, `loadCheckpoint ${path}`);
}
