/**
 * Model checkpoints in the safetensors format, as bytes (browsers included): `saveCheckpointBytes`,
 * `checkpointBlob` and `loadCheckpointBytes`. Files (Node) are in ./checkpoint-file.ts.
 *
 * Written against a structural interface so any module with a state dict works.
 * Loading validates the whole checkpoint against the model (names, shapes, byte
 * lengths) before touching it, and refuses a mismatch with a message naming the
 * offending keys. Non-finite values (NaN, ±Infinity: a diverged run) are named in a
 * warning when saved or loaded, or refused with `nonFinite: 'error'`.
 */
import { type Tensor, tensor } from '../engine/internal.js';
import { type DecodedSafetensors, type DecodedTensor, decodeSafetensors, encodeSafetensors, readTensorEntries, type SafetensorsEntry, type SafetensorsMetadata } from './safetensors.js';

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
  /**
   * What to do when a loaded tensor holds NaN or ±Infinity (a diverged training run): 'warn'
   * (default) loads it and calls `onWarning` with the tensors and counts, 'error' refuses the
   * file with a NonFiniteValuesError before the model is touched, 'allow' loads it silently.
   */
  nonFinite?: NonFinitePolicy;
  /** Receives the non-finite warning (default: console.warn). */
  onWarning?: (message: string) => void;
}

export type NonFinitePolicy = 'warn' | 'error' | 'allow';

export interface SaveCheckpointOptions {
  /**
   * A tensor holding NaN or ±Infinity: 'warn' (default) writes the file and calls `onWarning`
   * naming the tensors, 'error' refuses with a NonFiniteValuesError and keeps any previous file,
   * 'allow' writes it silently.
   */
  nonFinite?: NonFinitePolicy;
  /** Receives the non-finite warning (default: console.warn). */
  onWarning?: (message: string) => void;
}

/** A tensor with NaN or ±Infinity among its values. */
export interface NonFiniteTensor {
  name: string;
  /** Values that are NaN or infinite. */
  count: number;
  /** All values of the tensor. */
  size: number;
}

/** A checkpoint refused (on save or load) because tensors hold NaN or ±Infinity. */
export class NonFiniteValuesError extends Error {
  constructor(readonly path: string, readonly tensors: NonFiniteTensor[], message: string) {
    super(message);
    this.name = 'NonFiniteValuesError';
  }
}

/** The tensors holding NaN or ±Infinity, in order, with how many of their values are. */
export function findNonFinite(tensors: Iterable<readonly [string, { data: Float32Array }]>): NonFiniteTensor[] {
  const out: NonFiniteTensor[] = [];
  for (const [name, { data }] of tensors) {
    let count = 0;
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) count++;
    if (count > 0) out.push({ name, count, size: data.length });
  }
  return out;
}

/** "'fc.weight' (3 of 360 values), 'fc.bias' (all 10 values)". */
export function describeNonFinite(list: readonly NonFiniteTensor[]): string {
  return list.map((t) => `'${t.name}' (${t.count === t.size ? `all ${t.size}` : `${t.count} of ${t.size}`} values)`).join(', ');
}

function nonFiniteSummary(list: readonly NonFiniteTensor[]): string {
  return `${list.length} tensor${list.length === 1 ? '' : 's'} hold${list.length === 1 ? 's' : ''} NaN or infinite values: ${describeNonFinite(list)}`;
}

/**
 * Applies a non-finite policy to a checkpoint's tensors read from `path`: nothing when they
 * are all finite or the policy is 'allow'; otherwise a warning, or a NonFiniteValuesError.
 */
export function checkFiniteCheckpoint(path: string, tensors: Iterable<readonly [string, { data: Float32Array }]>, policy: NonFinitePolicy = 'warn', onWarning: (message: string) => void = console.warn): void {
  if (policy === 'allow') return;
  const bad = findNonFinite(tensors);
  if (bad.length === 0) return;
  if (policy === 'error') throw new NonFiniteValuesError(path, bad, `${path}: refused: ${nonFiniteSummary(bad)} (the run that wrote it probably diverged)`);
  onWarning(`${path}: ${nonFiniteSummary(bad)}; a model loaded from it computes NaN (the run that wrote it probably diverged)`);
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

/** How a save names itself in messages: `label` before a refusal or warning, `read` before a tensor that cannot be read. */
export interface SaveNames {
  /** E.g. "saveCheckpoint out.safetensors". */
  label: string;
  /** E.g. "saveSafetensors out.safetensors". */
  read: string;
  /** The destination, recorded on a NonFiniteValuesError. */
  source: string;
  /** Ends the refusal message, e.g. "; any previous file there is kept". */
  refusedNote: string;
}

/**
 * The model's state dict read back to the host, in order, with the non-finite policy applied
 * (a warning naming the tensors, or a NonFiniteValuesError with `nonFinite: 'error'`).
 */
export async function checkpointEntries(model: StatefulModule, options: SaveCheckpointOptions, names: SaveNames): Promise<Array<[string, SafetensorsEntry]>> {
  const entries = await readTensorEntries(names.read, model.stateDict());
  const policy = options.nonFinite ?? 'warn';
  const bad = policy === 'allow' ? [] : findNonFinite(entries);
  if (bad.length && policy === 'error') throw new NonFiniteValuesError(names.source, bad, `${names.label}: not saved: ${nonFiniteSummary(bad)}${names.refusedNote}`);
  if (bad.length) (options.onWarning ?? console.warn)(`${names.label}: ${nonFiniteSummary(bad)}; saved as they are`);
  return entries;
}

/**
 * The model's state dict (parameters and buffers) as safetensors bytes, with optional string
 * metadata. A state holding NaN or ±Infinity is encoded with a warning naming the tensors, or —
 * with `nonFinite: 'error'` — refused with a NonFiniteValuesError.
 */
export async function saveCheckpointBytes(model: StatefulModule, metadata?: SafetensorsMetadata, options: SaveCheckpointOptions = {}): Promise<Uint8Array> {
  const names = { label: 'saveCheckpointBytes', read: 'saveCheckpointBytes', source: 'checkpoint bytes', refusedNote: '' };
  return encodeSafetensors(await checkpointEntries(model, options, names), metadata);
}

/**
 * The model's checkpoint as a Blob (type application/octet-stream), e.g. for a download link in
 * a browser: `URL.createObjectURL(await checkpointBlob(model))`. Same checks as saveCheckpointBytes.
 */
export async function checkpointBlob(model: StatefulModule, metadata?: SafetensorsMetadata, options: SaveCheckpointOptions = {}): Promise<Blob> {
  if (typeof Blob === 'undefined') throw new Error('checkpointBlob: Blob is not available here; use saveCheckpointBytes');
  const bytes = await saveCheckpointBytes(model, metadata, options);
  return new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' });
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

/** Checkpoint bytes as accepted by loadCheckpointBytes. */
export type CheckpointBytes = Uint8Array | ArrayBuffer | ArrayBufferView | Blob;

export interface LoadCheckpointBytesOptions extends LoadCheckpointOptions {
  /** Names the checkpoint in error messages (a file name, a URL); default 'checkpoint bytes'. */
  name?: string;
}

/**
 * Loads decoded checkpoint tensors into `model`: everything is checked first (keys, shapes,
 * non-finite policy), and on any problem it throws with the model untouched. The values are
 * uploaded to each model tensor's backend, handed to `loadStateDict`, and the temporaries are
 * disposed. `source` names the checkpoint in messages, `label` the caller.
 */
export function applyCheckpoint(model: StatefulModule, decoded: DecodedSafetensors, options: LoadCheckpointOptions, source: string, label: string): LoadedCheckpoint {
  const strict = options.strict ?? true;
  const { tensors: file, metadata } = decoded;
  const state = model.stateDict();
  const { missing, unexpected, problems } = checkpointMismatches(file, state, strict);
  if (problems.length) throw new Error(`${label}: the checkpoint does not match the model: ${problems.join('; ')}`);
  checkFiniteCheckpoint(source, [...file].filter(([k]) => state.has(k)), options.nonFinite, options.onWarning);
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

/** The bytes of a Uint8Array, ArrayBuffer, other typed array or Blob. */
export async function checkpointBytesOf(source: CheckpointBytes, caller: string): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  if (typeof Blob !== 'undefined' && source instanceof Blob) return new Uint8Array(await source.arrayBuffer());
  const got = source === null ? 'null' : typeof source === 'object' ? (source as object).constructor?.name ?? 'object' : typeof source;
  throw new TypeError(`${caller}: expected the checkpoint as a Uint8Array, ArrayBuffer or Blob, got ${got}`);
}

/**
 * Loads a checkpoint from safetensors bytes (or a Blob, e.g. a File from an <input>) into
 * `model`. The bytes are parsed and checked in full first; on any problem (corrupt or truncated
 * bytes, keys or shapes that do not match the model) it throws and the model is left untouched.
 */
export async function loadCheckpointBytes(model: StatefulModule, source: CheckpointBytes, options: LoadCheckpointBytesOptions = {}): Promise<LoadedCheckpoint> {
  const name = options.name ?? 'checkpoint bytes';
  const label = options.name ? `loadCheckpointBytes ${name}` : 'loadCheckpointBytes';
  const bytes = await checkpointBytesOf(source, label);
  return applyCheckpoint(model, decodeSafetensors(bytes, { name }), options, name, label);
}
