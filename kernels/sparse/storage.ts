/**
 * Device-side sparse matrices: the buffers a kernel family needs for one CSR/BSR
 * matrix, uploaded once and released together.
 */
import type { KernelFamily, KernelSettings, TuningTable } from '../../gpu/profile.js';
import type { SparseStorage } from '../../gpu/types.js';
import type { SparseMatrix } from '../../formats/bsr.js';
import type { GpuRuntime, GpuStorage, GpuTexture } from '../../gpu/runtime.js';

/** Uploads raw u32 words (indices) into a storage bound as `array<u32>`. */
export function uploadU32(rt: GpuRuntime, words: Uint32Array): GpuStorage {
  // The runtime writes a Float32Array's bytes verbatim: a view keeps the bit patterns.
  return rt.upload(new Float32Array(words.buffer, words.byteOffset, words.length));
}

export class GpuSparse implements SparseStorage {
  /** Kernel winners measured for this matrix (see SparseStorage.tuned); `withMatrixTuning` applies them. */
  tuned: TuningTable['entries'] = {};
  private released = false;
  /** Derived buffers keyed by use (e.g. convolution offsets per input geometry). */
  private readonly derived = new Map<string, GpuStorage>();
  private readonly derivedTextures = new Map<string, GpuTexture | null>();
  private readonly host = new Map<string, unknown>();

  constructor(
    readonly rt: GpuRuntime,
    readonly matrix: SparseMatrix,
    /** Named buffers of the kernel family's layout. */
    readonly buffers: Readonly<Record<string, GpuStorage>>,
    /** Host-side facts the launchers need (segment counts, …). */
    readonly info: Readonly<Record<string, number>>,
    /** Named textures (a texture-path copy of some buffers), where the device could hold them. */
    readonly textures: Readonly<Record<string, GpuTexture>> = {},
  ) {}

  get deviceBytes(): number {
    let bytes = 0;
    for (const s of Object.values(this.buffers)) bytes += s.buffer.size;
    for (const s of this.derived.values()) bytes += s.buffer.size;
    for (const t of Object.values(this.textures)) bytes += t.bytes;
    for (const t of this.derivedTextures.values()) bytes += t?.bytes ?? 0;
    return bytes;
  }

  buffer(name: string): GpuStorage {
    if (this.released) throw new Error('sparse: the matrix was released from the device');
    const b = this.buffers[name];
    if (!b) throw new Error(`internal: sparse storage has no buffer '${name}'`);
    return b;
  }

  /** The named texture (uploaded, or derived under that key), or null when the matrix has none. */
  texture(name: string): GpuTexture | null {
    if (this.released) throw new Error('sparse: the matrix was released from the device');
    return this.textures[name] ?? this.derivedTextures.get(name) ?? null;
  }

  /** Host-side facts derived from the matrix for `key` (e.g. a row schedule), computed on first use. */
  memo<T>(key: string, make: () => T): T {
    if (!this.host.has(key)) this.host.set(key, make());
    return this.host.get(key) as T;
  }

  /** A buffer derived from the matrix for `key`, built by `make` on first use. */
  cached(key: string, make: () => GpuStorage): GpuStorage {
    if (this.released) throw new Error('sparse: the matrix was released from the device');
    let s = this.derived.get(key);
    if (!s) this.derived.set(key, (s = make()));
    return s;
  }

  /** A texture derived from the matrix for `key` (null: it did not fit), built by `make` on first use. */
  cachedTexture(key: string, make: () => GpuTexture | null): GpuTexture | null {
    if (this.released) throw new Error('sparse: the matrix was released from the device');
    if (!this.derivedTextures.has(key)) this.derivedTextures.set(key, make());
    return this.derivedTextures.get(key)!;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    for (const s of Object.values(this.buffers)) this.rt.release(s);
    for (const s of this.derived.values()) this.rt.release(s);
    for (const t of Object.values(this.textures)) this.rt.releaseTexture(t);
    for (const t of this.derivedTextures.values()) if (t) this.rt.releaseTexture(t);
    this.derived.clear();
    this.derivedTextures.clear();
    this.host.clear();
  }
}

/** The WGSL helper reading column index `k` from `Cols` (packed 16-bit pairs or plain u32). */
export function colIndexWgsl(bits: 16 | 32): string {
  return bits === 16
    ? 'fn colAt(k: u32) -> u32 { return (Cols[k >> 1u] >> ((k & 1u) << 4u)) & 0xffffu; }'
    : 'fn colAt(k: u32) -> u32 { return Cols[k]; }';
}

/** Workgroup shape for a (vec4 batch column, row) grid: x covers the batch columns, `threads` invocations in all. */
export function gridShape(nb4: number, threads = 64): [number, number] {
  let wx = 1;
  while (wx < nb4 && wx < threads) wx *= 2;
  return [wx, threads / wx];
}

/**
 * Settings for planning a matrix's upload at a nominal batch: a variant forced for the family
 * applies only where it is a candidate there (each launch plans again for its own batch), and
 * the plan is not reported (no kernel runs).
 */
export function uploadSettings(s: KernelSettings, family: KernelFamily, variants: readonly string[]): KernelSettings {
  const { onPlan: _reported, ...rest } = s;
  const forced = { ...s.forced };
  const f = forced[family];
  if (f !== undefined && !variants.includes(f)) delete forced[family];
  return { ...rest, forced };
}

/**
 * The device's settings with the winners measured for this matrix added to its tuning table
 * (they replace the device's entries for the same problems); the settings themselves when the
 * matrix has none for the family.
 */
export function withMatrixTuning(s: KernelSettings, w: SparseStorage, family: KernelFamily): KernelSettings {
  const mine = w.tuned?.[family];
  if (!mine || Object.keys(mine).length === 0) return s;
  const table: TuningTable = s.tuned ?? { adapter: 'this matrix', entries: {} };
  return { ...s, tuned: { ...table, entries: { ...table.entries, [family]: { ...table.entries[family], ...mine } } } };
}
