/**
 * The WebGPU runtime: storages, the shared command encoder/compute pass, the
 * pipeline cache, lazy submission and error surfacing.
 *
 * Ops record dispatches into one compute pass; the queue is submitted when data is
 * read back, when `dispatchBudget` dispatches have been recorded, or on `flush()`.
 * Each batch of work is wrapped in validation and out-of-memory error scopes; their
 * results are awaited on readback and `sync()`, and the first error is thrown there
 * (Dawn otherwise fails silently and leaves stale data in the output).
 *
 * Memory: released buffers and textures are pooled for reuse. After each submit, free memory
 * past `maxPooledBytes` is destroyed, least recently used first, as long as it has not been
 * used for IDLE_SUBMITS submits: a running loop reuses its working set every few submits, so
 * it is never evicted however large, while what a burst of releases left behind (tensors
 * freed by the garbage collector, a finished phase) is. `trimMemory()` destroys every free one.
 */
import type { MemoryStats, Storage } from '../backend.js';
import { type Program, programSource } from '../../kernels/program.js';
import { BufferPool } from './buffer-pool.js';
import type { GpuContext } from './device.js';
import { GpuTexture, texelBytes, TexturePool } from './texture-pool.js';

export { GpuTexture } from './texture-pool.js';

export class GpuStorage implements Storage {
  released = false;
  constructor(readonly buffer: GPUBuffer, readonly size: number) {}
}

/** What a kernel binding refers to: a storage buffer or a texture. */
export type GpuResource = GpuStorage | GpuTexture;

const TEXTURE_USAGE = 0x04 /* TEXTURE_BINDING */ | 0x02; /* COPY_DST */
const STORAGE_TEXTURE_USAGE = 0x04 /* TEXTURE_BINDING */ | 0x08; /* STORAGE_BINDING */

const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08; /* COPY_DST */
const READBACK_USAGE = 0x01 /* MAP_READ */ | 0x08; /* COPY_DST */
const MAX_WORKGROUPS = 65535;

/** High-water mark of free pooled memory by default: 64 MiB. */
export const DEFAULT_MAX_POOLED_BYTES = 64 * 2 ** 20;
/** Free memory past the mark goes once it has been unused for this many submits. */
export const IDLE_SUBMITS = 64;

export interface RuntimeOptions {
  /** High-water mark of free pooled memory, in bytes (buffers and textures together). */
  maxPooledBytes?: number;
}

export class GpuRuntime {
  readonly device: GPUDevice;
  readonly pool: BufferPool;
  readonly texturePool: TexturePool;
  /** Dispatches recorded before an automatic submit. */
  dispatchBudget = 256;
  /** Free pooled memory kept past each submit; beyond it what has been idle goes (see above). */
  maxPooledBytes: number;
  /** Submits so far (the pools' clock). */
  private submits = 0;

  private pipelines = new Map<string, GPUComputePipeline>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private recorded = 0;
  private scopeOpen = false;
  private pendingErrors: Array<Promise<GPUError | null>> = [];
  /** First error reported since the last check; thrown once. */
  private asyncError: Error | null = null;
  /** Device loss: every later call throws it. */
  private lostError: Error | null = null;
  private liveBytes = 0;
  private liveCount = 0;
  private destroyed = false;
  /** Program keys recorded in the current batch, for error messages. */
  private batchKeys = new Set<string>();

  constructor(readonly ctx: GpuContext, options: RuntimeOptions = {}) {
    this.device = ctx.device;
    const clock = () => this.submits;
    this.pool = new BufferPool(this.device, clock);
    this.texturePool = new TexturePool(this.device, clock);
    this.maxPooledBytes = options.maxPooledBytes ?? DEFAULT_MAX_POOLED_BYTES;
    this.device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
      this.asyncError ??= new Error(`webgpu: ${ev.error.message}`);
    };
    void this.device.lost.then((info) => {
      if (!this.destroyed) this.lostError = new Error(`webgpu: device lost (${info.reason}): ${info.message}; call shutdown() and init() again`);
    });
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  private checkAlive(): void {
    if (this.destroyed) throw new Error('webgpu: the device has been shut down; call init() again');
    if (this.lostError) throw this.lostError;
    this.throwPending();
  }

  /** Throws (once) the first error reported since the last check. */
  private throwPending(): void {
    const e = this.asyncError;
    if (e) {
      this.asyncError = null;
      throw e;
    }
  }

  /** Opens the error scopes that cover everything up to the next submit. */
  private openScope(): void {
    if (this.scopeOpen) return;
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    this.scopeOpen = true;
  }

  alloc(size: number): GpuStorage {
    this.checkAlive();
    // WebGPU forbids binding empty buffers; keep a minimum of one vec4.
    const bytes = Math.max(16, Math.ceil((size * 4) / 16) * 16);
    const max = Math.min(this.limits.maxBufferSize, this.limits.maxStorageBufferBindingSize);
    if (bytes > max) {
      throw new Error(`webgpu: a tensor of ${size} elements needs ${bytes} bytes, more than this adapter allows in one buffer (${max} bytes)`);
    }
    this.openScope();
    const s = new GpuStorage(this.pool.acquire(bytes, STORAGE_USAGE), size);
    this.liveBytes += bytes;
    this.liveCount++;
    return s;
  }

  upload(data: ArrayLike<number>): GpuStorage {
    const s = this.alloc(data.length);
    if (data.length > 0) {
      const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
      this.device.queue.writeBuffer(s.buffer, 0, f32.buffer, f32.byteOffset, f32.byteLength);
    }
    return s;
  }

  release(s: GpuStorage): void {
    if (s.released) return;
    s.released = true;
    this.liveBytes -= s.buffer.size;
    this.liveCount--;
    // After shutdown the buffer went with the device.
    if (!this.destroyed) this.pool.release(s.buffer);
  }

  /**
   * A 2-D texture (for kernels that read an operand through textureLoad), or null
   * when this device cannot hold it in one texture (the caller falls back to buffers).
   * `writable`: kernels write it (a storage texture); otherwise it is filled by upload.
   */
  allocTexture(format: GPUTextureFormat, width: number, height: number, writable = false): GpuTexture | null {
    this.checkAlive();
    const max = this.device.limits.maxTextureDimension2D;
    if (width < 1 || height < 1 || width > max || height > max) return null;
    this.openScope();
    const t = new GpuTexture(this.texturePool.acquire(format, width, height, writable ? STORAGE_TEXTURE_USAGE : TEXTURE_USAGE), format, width, height, width * height * texelBytes(format));
    this.liveBytes += t.bytes;
    this.liveCount++;
    return t;
  }

  /** A texture holding `data` (row-major texels, `width` per row), or null when it does not fit. */
  uploadTexture(format: GPUTextureFormat, width: number, height: number, data: ArrayBufferView): GpuTexture | null {
    const t = this.allocTexture(format, width, height);
    if (t) this.device.queue.writeTexture({ texture: t.texture }, data as unknown as ArrayBuffer, { bytesPerRow: width * texelBytes(format) }, [width, height]);
    return t;
  }

  /**
   * Copies `src` into an r32float texture `width` texels wide (a power-of-two width whose
   * rows are whole multiples of 256 bytes), element i at (i % width, i / width); recorded
   * in order with the dispatches. Returns null when it does not fit one texture.
   */
  flatTexture(src: GpuStorage, width: number): GpuTexture | null {
    return this.flatCopy(src, 'r32float', width, 0, src.size);
  }

  /**
   * Copies the first `height` rows of `width` vec4s of `src` (row-major, `width · 16` bytes a
   * row, which must be a multiple of 256) into an rgba32float texture, texel (x, y) = vec4 x of
   * row y; null when it does not fit one texture. Recorded in order with the dispatches.
   */
  rowsTexture(src: GpuStorage, width: number, height: number): GpuTexture | null {
    if ((width * 16) % 256 !== 0) throw new Error(`internal: rowsTexture needs rows of a multiple of 256 bytes, got ${width * 16}`);
    if (src.size < width * 4 * height) throw new Error(`internal: rowsTexture: ${src.size} elements, ${width * 4 * height} needed`);
    const t = this.allocTexture('rgba32float', width, height);
    if (!t) return null;
    this.endPass().copyBufferToTexture({ buffer: src.buffer, bytesPerRow: width * 16 }, { texture: t.texture }, [width, height]);
    return t;
  }

  /**
   * Copies `count` vec4s of `src`, from vec4 `first` on, into an rgba32float texture `width`
   * texels wide (rows of a multiple of 256 bytes), vec4 first + i at (i % width, i / width);
   * null when they do not fit one texture. Recorded in order with the dispatches.
   */
  flatVec4Texture(src: GpuStorage, width: number, first: number, count: number): GpuTexture | null {
    if (src.size < (first + count) * 4) throw new Error(`internal: flatVec4Texture: ${src.size} elements, ${(first + count) * 4} needed`);
    return this.flatCopy(src, 'rgba32float', width, first, count);
  }

  /** Texels first … first+count−1 of `src` (read as `format` texels) copied `width` to a texture row. */
  private flatCopy(src: GpuStorage, format: 'r32float' | 'rgba32float', width: number, first: number, count: number): GpuTexture | null {
    const bytes = texelBytes(format);
    if ((width * bytes) % 256 !== 0) throw new Error(`internal: a flat ${format} texture needs rows of a multiple of 256 bytes, got ${width * bytes}`);
    const t = this.allocTexture(format, width, Math.max(1, Math.ceil(count / width)));
    if (!t || count === 0) return t;
    const enc = this.endPass();
    const full = Math.floor(count / width), rest = count - full * width;
    if (full > 0) enc.copyBufferToTexture({ buffer: src.buffer, offset: first * bytes, bytesPerRow: width * bytes }, { texture: t.texture }, [width, full]);
    if (rest > 0) enc.copyBufferToTexture({ buffer: src.buffer, offset: (first + full * width) * bytes, bytesPerRow: width * bytes }, { texture: t.texture, origin: [0, full] }, [rest, 1]);
    return t;
  }

  releaseTexture(t: GpuTexture): void {
    if (t.released) return;
    t.released = true;
    this.liveBytes -= t.bytes;
    this.liveCount--;
    if (!this.destroyed) this.texturePool.release(t);
  }

  private pipeline(p: Program): GPUComputePipeline {
    let pipe = this.pipelines.get(p.key);
    if (!pipe) {
      this.openScope();
      const module = this.device.createShaderModule({ code: programSource(p), label: p.key });
      pipe = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: p.key });
      this.pipelines.set(p.key, pipe);
    }
    return pipe;
  }

  /**
   * Records one dispatch. `workgroups` is either [x, y, z] or a total count of
   * 1-D workgroups, which is split over x and y to respect the per-dimension cap
   * (kernels recover the linear index with `linearIndex`).
   */
  run(p: Program, inputs: readonly GpuResource[], outputs: readonly GpuResource[], params: ArrayLike<number>, workgroups: number | readonly [number, number, number]): void {
    this.checkAlive();
    for (const s of [...inputs, ...outputs]) {
      if (s.released) throw new Error(`webgpu: ${p.key} was given a storage that has already been released`);
    }
    const grid = typeof workgroups === 'number' ? splitGrid(workgroups) : workgroups;
    if (grid[0] === 0 || grid[1] === 0 || grid[2] === 0) return;
    const pipe = this.pipeline(p);
    const words = Uint32Array.from(params.length ? params : [0]);
    const paramBuf = this.pool.acquire(Math.ceil(words.byteLength / 64) * 64, STORAGE_USAGE);
    this.device.queue.writeBuffer(paramBuf, 0, words);
    const entries: GPUBindGroupEntry[] = [...inputs, ...outputs].map((s, binding) => ({ binding, resource: s instanceof GpuTexture ? s.view : { buffer: s.buffer } }));
    entries.push({ binding: entries.length, resource: { buffer: paramBuf } });
    const bindGroup = this.device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries });
    if (!this.pass) {
      this.encoder ??= this.device.createCommandEncoder();
      this.pass = this.encoder.beginComputePass();
    }
    this.pass.setPipeline(pipe);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
    this.pool.release(paramBuf);
    this.batchKeys.add(p.key);
    if (++this.recorded >= this.dispatchBudget) this.flush();
  }

  private endPass(): GPUCommandEncoder {
    this.openScope();
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    return (this.encoder ??= this.device.createCommandEncoder());
  }

  /** Submits everything recorded so far and closes the batch's error scopes. */
  flush(): void {
    if (this.destroyed) return;
    if (this.encoder || this.pass) {
      const enc = this.endPass();
      this.device.queue.submit([enc.finish()]);
      this.encoder = null;
    }
    this.recorded = 0;
    this.submits++;
    this.pool.afterSubmit();
    this.texturePool.afterSubmit();
    this.shrinkPools();
    if (this.scopeOpen) {
      const keys = [...this.batchKeys].join(', ');
      const tag = (e: GPUError | null) => (e ? Object.assign(e, { batchKeys: keys }) : null);
      this.pendingErrors.push(this.device.popErrorScope().then(tag), this.device.popErrorScope().then(tag));
      this.scopeOpen = false;
      this.batchKeys.clear();
    }
  }

  /** Throws the first error reported for work submitted so far. */
  async checkErrors(): Promise<void> {
    const pending = this.pendingErrors;
    this.pendingErrors = [];
    const errors = await Promise.all(pending);
    const first = errors.find((e) => e) as (GPUError & { batchKeys?: string }) | undefined;
    if (first) {
      const kind = first.constructor?.name === 'GPUOutOfMemoryError' ? 'out of memory' : 'validation error';
      this.asyncError ??= new Error(`webgpu ${kind}: ${first.message}${first.batchKeys ? ` (kernels in batch: ${first.batchKeys})` : ''}`);
    }
    if (this.lostError) throw this.lostError;
    this.throwPending();
  }

  async read(s: GpuStorage): Promise<Float32Array> {
    this.checkAlive();
    if (s.released) throw new Error('webgpu: read of a released storage');
    const bytes = s.buffer.size;
    const staging = this.pool.acquire(bytes, READBACK_USAGE);
    this.endPass().copyBufferToBuffer(s.buffer, 0, staging, 0, bytes);
    this.flush();
    try {
      await this.checkErrors();
      await staging.mapAsync(0x0001 /* GPUMapMode.READ */);
      const out = new Float32Array(staging.getMappedRange().slice(0, s.size * 4));
      staging.unmap();
      await this.checkErrors();
      return out;
    } finally {
      // The copy into it was submitted and it is unmapped: nothing refers to it any more.
      if (staging.mapState === 'unmapped') this.pool.releaseIdle(staging);
      else this.pool.release(staging);
    }
  }

  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await this.checkErrors();
  }

  /**
   * Destroys free buffers and textures, least recently freed first, while more than
   * `maxPooledBytes` are free and the oldest has been idle for IDLE_SUBMITS submits.
   */
  private shrinkPools(): void {
    while (this.pool.freeBytes + this.texturePool.freeBytes > this.maxPooledBytes) {
      const from = this.pool.oldestFree <= this.texturePool.oldestFree ? this.pool : this.texturePool;
      if (this.submits - from.oldestFree < IDLE_SUBMITS || !from.evictOldest()) break;
    }
  }

  /** Submits recorded work, then destroys every free pooled buffer and texture. */
  trimMemory(): void {
    if (this.destroyed) return;
    this.flush();
    this.pool.trim();
    this.texturePool.trim();
  }

  memoryStats(): MemoryStats {
    return {
      allocatedBytes: this.pool.allocatedBytes + this.texturePool.allocatedBytes,
      inUseBytes: this.liveBytes,
      pooledBytes: this.pool.pooledBytes + this.texturePool.pooledBytes,
      storages: this.liveCount,
    };
  }

  destroy(): void {
    if (this.destroyed) return;
    this.flush();
    this.destroyed = true;
    this.pool.trim();
    this.texturePool.trim();
    this.pipelines.clear();
    this.device.destroy();
  }
}

function splitGrid(total: number): [number, number, number] {
  if (total <= MAX_WORKGROUPS) return [total, 1, 1];
  const y = Math.ceil(total / MAX_WORKGROUPS);
  return [Math.ceil(total / y), y, 1];
}
