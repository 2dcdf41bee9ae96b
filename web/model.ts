/**
 * The model the page prunes: a safetensors checkpoint (the shipped LeNet-5 by default, or a file
 * the visitor picks) loaded with the package's byte loader. A checkpoint names its architecture
 * in its metadata (as `wgprune train` and `wgprune prune` write it); one without is tried
 * against each registered architecture, LeNet-5 first. A pruned checkpoint (weight_orig and
 * weight_mask) comes back pruned, and the page prunes it further.
 */
import { nn, pruning } from '../index.js';

export interface LoadedModel {
  model: nn.Module;
  spec: nn.ModelSpec;
  /** Where the values came from (file name or URL). */
  source: string;
  bytes: number;
}

/** The shipped checkpoint, relative to the page. */
export const SHIPPED_CHECKPOINT = 'models/lenet5-mnist.safetensors';

export async function loadModelFromBytes(bytes: Uint8Array, source: string): Promise<LoadedModel> {
  const options = { name: source, nonFinite: 'error' as const };
  const { metadata } = nn.decodeSafetensors(bytes, { name: source });
  const archs = metadata.model ? [undefined] : ['lenet5', ...nn.modelNames().filter((n) => n !== 'lenet5')];
  const tried: string[] = [];
  for (const arch of archs) {
    try {
      const { model, arch: name } = await pruning.loadModelCheckpointBytes(bytes, { ...options, ...(arch ? { arch } : {}) });
      return { model, spec: nn.MODELS.get(name)!, source, bytes: bytes.byteLength };
    } catch (e) {
      if (!arch) throw e;
      tried.push((e as Error).message);
    }
  }
  throw new Error(`${source} holds none of the architectures the page knows (${archs.join(', ')}): ${tried.join('; ')}`);
}

/** Fetches the shipped checkpoint. */
export async function fetchShipped(): Promise<Uint8Array> {
  const res = await fetch(SHIPPED_CHECKPOINT);
  if (!res.ok) throw new Error(`could not fetch ${SHIPPED_CHECKPOINT}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** The model the page works on: the picked checkpoint, else the shipped one. */
export async function loadPageModel(file: File | null): Promise<LoadedModel> {
  const bytes = file ? new Uint8Array(await file.arrayBuffer()) : await fetchShipped();
  return loadModelFromBytes(bytes, file ? file.name : SHIPPED_CHECKPOINT);
}
