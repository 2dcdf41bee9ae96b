/**
 * Loads a checkpoint file of a registered architecture, masked or not (Node):
 *
 *   const { model, arch, metadata } = await loadModelCheckpoint('lenet5-pruned.safetensors');
 *
 * The same checks as `loadModelCheckpointBytes` (./load.ts), with the path in every message.
 */
import { loadSafetensors } from '../nn/safetensors-file.js';
import { type LoadedModel, loadDecodedModel, type LoadModelOptions } from './load.js';

export async function loadModelCheckpoint(path: string, options: Omit<LoadModelOptions, 'name'> = {}): Promise<LoadedModel> {
  return loadDecodedModel(await loadSafetensors(path), path, options);
}
