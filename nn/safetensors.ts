/**
 * safetensors, read and written from scratch.
 *
 * Layout: an 8-byte little-endian u64 N, then N bytes of UTF-8 JSON
 *   { "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, …,
 *     "__metadata__": { "<key>": "<string value>" } }
 * padded with spaces so the data starts 8-byte aligned, then the tensor bytes
 * (little-endian, row-major). Offsets are relative to the start of the data.
 *
 * Writing: float32 only, tensors contiguous in the given order.
 * Reading is strict, like the reference implementation: the tensors must tile
 * the data exactly (no gaps, overlaps or trailing bytes) and each byte range
 * must equal prod(shape) × the dtype size. F32 is read as is; F16, BF16 and F64
 * are converted to float32 only when `{ convert: true }` is passed (F64 rounds);
 * any other dtype (integers, bool, F8…) is refused.
 *
 * This module works on bytes only (browsers included); reading and writing files is in
 * ./safetensors-file.ts (Node).
 */
import type { Tensor } from '../engine/internal.js';

export interface SafetensorsEntry {
  shape: readonly number[];
  data: Float32Array;
}

export interface DecodedTensor {
  /** The dtype stored in the file (the data is float32 regardless). */
  dtype: string;
  shape: number[];
  data: Float32Array;
}

export interface DecodedSafetensors {
  tensors: Map<string, DecodedTensor>;
  metadata: Record<string, string>;
}

export interface DecodeOptions {
  /** Name used in error messages (a path, usually). */
  name?: string;
  /** Convert F16, BF16 and F64 tensors to float32 instead of refusing them. */
  convert?: boolean;
}

export type SafetensorsMetadata = Record<string, string>;

const METADATA_KEY = '__metadata__';
/** Same cap as the reference implementation: a larger header means a corrupt file. */
const MAX_HEADER_BYTES = 100_000_000;
const DTYPE_BYTES: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1,
};
const CONVERTIBLE = new Set(['F16', 'BF16', 'F64']);
const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;

function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function isShape(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((d) => Number.isSafeInteger(d) && d >= 0);
}

function checkMetadata(metadata: unknown, fail: (msg: string) => never): Record<string, string> {
  if (metadata === undefined) return {};
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) fail(`"${METADATA_KEY}" must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata as object)) {
    if (typeof v !== 'string') fail(`"${METADATA_KEY}" value for key '${k}' must be a string, got ${typeof v}`);
    out[k] = v;
  }
  return out;
}

/** Serialises float32 tensors (in the given order) and string metadata. */
export function encodeSafetensors(entries: Iterable<readonly [string, SafetensorsEntry]>, metadata?: SafetensorsMetadata): Uint8Array {
  const fail = (msg: string): never => {
    throw new Error(`encodeSafetensors: ${msg}`);
  };
  const header: Record<string, unknown> = {};
  const meta = checkMetadata(metadata, fail);
  if (Object.keys(meta).length > 0) header[METADATA_KEY] = meta;
  const list: Array<[string, SafetensorsEntry]> = [];
  let offset = 0;
  for (const [name, entry] of entries) {
    if (typeof name !== 'string' || name.length === 0) fail('tensor names must be non-empty strings');
    if (name === METADATA_KEY) fail(`'${METADATA_KEY}' is reserved and cannot name a tensor`);
    if (Object.prototype.hasOwnProperty.call(header, name)) fail(`duplicate tensor name '${name}'`);
    if (!isShape(entry.shape)) fail(`tensor '${name}': shape ${JSON.stringify(entry.shape)} must be non-negative integers`);
    if (!(entry.data instanceof Float32Array)) fail(`tensor '${name}': data must be a Float32Array`);
    const count = elementCount(entry.shape);
    if (entry.data.length !== count) fail(`tensor '${name}': ${entry.data.length} values for shape ${fmt(entry.shape)} (${count} elements)`);
    const end = offset + count * 4;
    header[name] = { dtype: 'F32', shape: [...entry.shape], data_offsets: [offset, end] };
    list.push([name, entry]);
    offset = end;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLen = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLen + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let pos = 8 + headerLen;
  for (const [, { data }] of list) {
    if (littleEndianHost) out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pos);
    else for (let i = 0; i < data.length; i++) view.setFloat32(pos + 4 * i, data[i]!, true);
    pos += data.byteLength;
  }
  return out;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function readValues(bytes: Uint8Array, start: number, count: number, dtype: string): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  switch (dtype) {
    case 'F32':
      if (littleEndianHost) out.set(new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + count * 4)));
      else for (let i = 0; i < count; i++) out[i] = view.getFloat32(start + 4 * i, true);
      break;
    case 'F64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(start + 8 * i, true);
      break;
    case 'F16':
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(start + 2 * i, true));
      break;
    case 'BF16': {
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) u[i] = view.getUint16(start + 2 * i, true) << 16;
      break;
    }
    default:
      throw new Error(`internal: no reader for dtype ${dtype}`);
  }
  return out;
}

/**
 * Parses and validates a safetensors buffer. Every tensor comes back as float32
 * (see the module comment for dtypes). Throws, naming the file and the tensor,
 * on a corrupt, truncated or inconsistent buffer.
 */
export function decodeSafetensors(bytes: Uint8Array, options: DecodeOptions = {}): DecodedSafetensors {
  const name = options.name ?? 'safetensors data';
  const fail = (msg: string): never => {
    throw new Error(`${name}: ${msg}`);
  };
  if (bytes.length < 8) fail(`truncated: ${bytes.length} bytes, too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(bytes.length - 8)) fail(`header length ${n64} exceeds the file (${bytes.length} bytes): truncated or not a safetensors file`);
  const headerLen = Number(n64);
  if (headerLen > MAX_HEADER_BYTES) fail(`header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen));
  } catch {
    return fail('header is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail(`header does not start with '{': not a safetensors file or a corrupt header`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header must be a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const h = header as Record<string, unknown>;
  const metadata = checkMetadata(h[METADATA_KEY], fail);

  interface Info { name: string; dtype: string; shape: number[]; begin: number; end: number }
  const infos: Info[] = [];
  for (const [tname, raw] of Object.entries(h)) {
    if (tname === METADATA_KEY) continue;
    const where = `tensor '${tname}'`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(`${where}: header entry must be an object`);
    const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    if (typeof dtype !== 'string') fail(`${where}: missing or non-string "dtype"`);
    const dt = dtype as string;
    if (!isShape(shape)) fail(`${where}: "shape" must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`${where}: "data_offsets" must be [begin, end] non-negative integers, got ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const itemBytes = DTYPE_BYTES[dt];
    if (itemBytes === undefined) fail(`${where}: unknown dtype '${dt}'`);
    if (dt !== 'F32' && !(options.convert && CONVERTIBLE.has(dt))) {
      const hint = CONVERTIBLE.has(dt) ? ' (pass { convert: true } to convert F16/BF16/F64 to float32)' : ' (only floating-point tensors are read: F32, or F16/BF16/F64 with { convert: true })';
      fail(`${where}: dtype ${dt} is not supported${hint}`);
    }
    if (end < begin) fail(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLen) fail(`${where}: data_offsets [${begin}, ${end}] run past the end of the data (${dataLen} bytes): truncated file?`);
    const need = elementCount(shape as number[]) * itemBytes!;
    if (end - begin !== need) fail(`${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but ${dt} ${fmt(shape as number[])} needs ${need}`);
    infos.push({ name: tname, dtype: dt, shape: shape as number[], begin, end });
  }
  // The byte ranges must tile the data exactly: no overlap, no gap, nothing after.
  const sorted = [...infos].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const info of sorted) {
    if (info.begin < cursor) fail(`tensor '${info.name}': data_offsets [${info.begin}, ${info.end}] overlap the previous tensor's bytes (which end at ${cursor})`);
    if (info.begin > cursor) fail(`tensor '${info.name}': gap in the data before offset ${info.begin} (previous tensor ends at ${cursor})`);
    cursor = info.end;
  }
  if (cursor !== dataLen) fail(`${dataLen - cursor} bytes of trailing data after the last tensor (data ends at ${cursor} of ${dataLen})`);

  const tensors = new Map<string, DecodedTensor>();
  for (const info of infos) {
    const count = elementCount(info.shape);
    tensors.set(info.name, { dtype: info.dtype, shape: info.shape, data: readValues(bytes, dataStart + info.begin, count, info.dtype) });
  }
  return { tensors, metadata };
}

function tensorEntries(tensors: Map<string, Tensor> | Record<string, Tensor>): Array<[string, Tensor]> {
  return tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
}

/**
 * Reads every tensor back to the host, in order. A tensor that cannot be read is named in the
 * error, after `label` (what was being saved, e.g. "saveSafetensors out.safetensors").
 */
export async function readTensorEntries(label: string, tensors: Map<string, Tensor> | Record<string, Tensor>): Promise<Array<[string, SafetensorsEntry]>> {
  const entries: Array<[string, SafetensorsEntry]> = [];
  for (const [name, t] of tensorEntries(tensors)) {
    let data: Float32Array;
    try {
      data = await t.toArray();
    } catch (e) {
      throw new Error(`${label}: cannot read tensor '${name}': ${(e as Error).message}`);
    }
    entries.push([name, { shape: t.shape, data }]);
  }
  return entries;
}
