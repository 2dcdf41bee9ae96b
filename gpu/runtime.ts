/**
 * The WebGPU runtime: storages, the shared command encoder/compute pass, the
 * pipeline cache, lazy submission and error surfacing.
 *
 * Ops record dispatches into one compute pass; the queue is submitted when data is
 * read back, when `dispatchBudget` dispatches have been recorded, or on `flush()`.
 * Each batch of work is wrapped in validation and out-of-memory error scopes; their
 * results are awaited on readback and `sync()`, and the first error is thrown there
 * (Dawn otherwise fails silently and leaves stale data in the output). A kernel whose
 * WGSL does not compile is reported with its key and the offending line.
 *
 * Memory: released buffers and textures are pooled for reuse. After each submit, free memory
 * past `maxPooledBytes` is destroyed, least recently used first, once it has sat unused for
 * IDLE_SUBMITS submits and `idleMs` milliseconds: a running loop reuses its working set every
 * few submits (and, when its steps are long, they are few submits), and a timing protocol
 * alternating workloads comes back to each within seconds, so neither is evicted however
 * large, while what a burst of releases left behind (tensors freed by the garbage collector,
 * a finished phase) is. `trimMemory()` destroys every free one.
 */
import type { MemoryStats, Storage } from './types.js';
import { DeviceLostError, DeviceShutdownError, ShaderCompileError } from './errors.js';
import { checkParamDecl, packParams, paramBytes, type ParamValues, type Program, programSource } from './program.js';
import { BufferPool } from './buffer-pool.js';
import { deviceSettings, type KernelSettings } from './profile.js';
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
const UNIFORM_USAGE = 0x40 /* UNIFORM */ | 0x08; /* COPY_DST */
const MAX_WORKGROUPS = 65535;

/** High-water mark of free pooled memory by default: 64 MiB. */
export const DEFAULT_MAX_POOLED_BYTES = 64 * 2 ** 20;
/** Free memory past the mark goes once it has been unused for this many submits… */
export const IDLE_SUBMITS = 64;
/** … and this many milliseconds. */
export const IDLE_MS = 10_000;

export interface RuntimeOptions {
  /** High-water mark of free pooled memory, in bytes (buffers and textures together). */
  maxPooledBytes?: number;
}

/** Something awaited on the device (a readback, a sync) that shutdown or device loss must settle. */
interface Waiter {
  what: string;
  abort: (e: Error) => void;
}

export class GpuRuntime {
  readonly device: GPUDevice;
  readonly pool: BufferPool;
  readonly texturePool: TexturePool;
  /** Dispatches recorded before an automatic submit. */
  dispatchBudget = 256;
  /** Free pooled memory kept past each submit; beyond it what has been idle goes (see above). */
  maxPooledBytes: number;
  /** How long free memory past the mark must sit unused before it goes (with IDLE_SUBMITS submits). */
  idleMs = IDLE_MS;
  /** Device profile, forced variants and tuning table: what the kernel planners read. */
  settings: KernelSettings;
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
  private lostError: DeviceLostError | null = null;
  private lostInfo: { reason: string; message: string } | null = null;
  private readonly lost: Promise<unknown>;
  /** Readbacks and syncs in flight. */
  private waiters = new Set<Waiter>();
  /** Compilation reports of shader modules created since the last error check. */
  private compileChecks: Array<Promise<void>> = [];
  /** Kernels whose WGSL did not compile: using one again throws at once. */
  private compileErrors = new Map<string, ShaderCompileError>();
  /** The first compile error found since the last error check. */
  private compileFailure: ShaderCompileError | null = null;
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
    this.settings = deviceSettings(ctx.facts, this.device.limits);
    this.device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
      this.asyncError ??= new Error(`webgpu: ${ev.error.message}`);
    };
    this.lost = this.device.lost.then((info) => {
      if (this.destroyed) return;
      this.lostInfo = { reason: info.reason, message: info.message };
      this.lostError = this.lostWhile(null);
      for (const w of this.waiters) w.abort(this.lostWhile(w.what));
      this.waiters.clear();
    });
  }

  /** True once the device was lost (not shut down): it cannot run anything any more. */
  get isLost(): boolean {
    return this.lostError !== null;
  }

  private lostWhile(what: string | null): DeviceLostError {
    const { reason, message } = this.lostInfo!;
    const during = what ? ` while ${what}` : '';
    return new DeviceLostError(
      `webgpu: the GPU device was lost${during} (${reason}: ${message}); every tensor on it is gone: call init() again for a new device`,
      reason,
    );
  }

  private shutDownBefore(what: string | null): DeviceShutdownError {
    return new DeviceShutdownError(`webgpu: ${what ? `${what}: ` : ''}the device has been shut down; call init() again for a new device (tensors made before shutdown() cannot be used)`);
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  /** Throws when the device is gone; `what` names the work that cannot go on. */
  private checkAlive(what: string | null = null): void {
    if (this.destroyed) throw this.shutDownBefore(what);
    if (this.lostError) throw what ? this.lostWhile(what) : this.lostError;
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

  /** Pipelines compiled so far (one per program key). */
  get pipelineCount(): number {
    return this.pipelines.size;
  }

  private pipeline(p: Program): GPUComputePipeline {
    let pipe = this.pipelines.get(p.key);
    if (!pipe) {
      if (p.params) {
        checkParamDecl(p.key, p.params);
        const max = this.limits.maxUniformBufferBindingSize;
        if (paramBytes(p.params) > max) throw new Error(`webgpu: kernel '${p.key}' declares ${p.params.length} parameters, more than this adapter's ${max}-byte uniform buffers hold`);
      }
      this.openScope();
      const code = programSource(p);
      const module = this.device.createShaderModule({ code, label: p.key });
      // The validation scope only says *that* the batch failed; the compilation report says
      // which kernel and which line. Awaited with the scopes at the next readback or sync.
      this.compileChecks.push(
        module.getCompilationInfo().then(
          (info) => {
            const err = compileError(p.key, code, info.messages);
            if (!err) return;
            this.compileErrors.set(p.key, err);
            this.compileFailure ??= err;
          },
          () => {},
        ),
      );
      pipe = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: p.key });
      this.pipelines.set(p.key, pipe);
    }
    return pipe;
  }

  /**
   * Records one dispatch. `params` are the program's named parameters (checked and packed
   * by its declaration). `workgroups` is either [x, y, z] or a total count of 1-D workgroups, which is split over
   * x and y to respect the per-dimension cap (kernels recover the linear index with `linearIndex`).
   */
  run(p: Program, inputs: readonly GpuResource[], outputs: readonly GpuResource[], params: ParamValues, workgroups: number | readonly [number, number, number]): void {
    this.checkAlive();
    const compileFailed = this.compileErrors.get(p.key);
    if (compileFailed) throw compileFailed;
    for (const s of [...inputs, ...outputs]) {
      if (s.released) throw new Error(`webgpu: ${p.key} was given a storage that has already been released`);
    }
    // Checked before the empty-grid return, so a bad launch fails whatever its size.
    const decl = p.params ?? [];
    const words = packParams(p.key, decl, params);
    const grid = typeof workgroups === 'number' ? splitGrid(workgroups) : workgroups;
    if (grid[0] === 0 || grid[1] === 0 || grid[2] === 0) return;
    const pipe = this.pipeline(p);
    const entries: GPUBindGroupEntry[] = [...inputs, ...outputs].map((s, binding) => ({ binding, resource: s instanceof GpuTexture ? s.view : { buffer: s.buffer } }));
    const paramBuf = decl.length ? this.pool.acquire(words.byteLength, UNIFORM_USAGE) : null;
    if (paramBuf) {
      this.device.queue.writeBuffer(paramBuf, 0, words);
      entries.push({ binding: entries.length, resource: { buffer: paramBuf } });
    }
    const bindGroup = this.device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries });
    if (!this.pass) {
      this.encoder ??= this.device.createCommandEncoder();
      this.pass = this.encoder.beginComputePass();
    }
    this.pass.setPipeline(pipe);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
    if (paramBuf) this.pool.release(paramBuf);
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
    const compiles = this.compileChecks;
    this.pendingErrors = [];
    this.compileChecks = [];
    const [errors] = await Promise.all([Promise.all(pending), Promise.all(compiles)]);
    const compileFailure = this.compileFailure;
    this.compileFailure = null;
    const first = errors.find((e) => e) as (GPUError & { batchKeys?: string }) | undefined;
    if (compileFailure) {
      // The batch's validation error is this failure's echo ("invalid shader module"); the report says more.
      this.asyncError ??= compileFailure;
    } else if (first) {
      const kind = first.constructor?.name === 'GPUOutOfMemoryError' ? 'out of memory' : 'validation error';
      this.asyncError ??= new Error(`webgpu ${kind}: ${first.message}${first.batchKeys ? ` (kernels in batch: ${first.batchKeys})` : ''}`);
    }
    if (this.lostError) throw this.lostError;
    this.throwPending();
  }

  /**
   * Runs `work` (which waits on the device) so that shutdown or device loss settles it with an
   * error naming `what`, even when the device never answers the wait.
   */
  private async waitFor<T>(what: string, work: () => Promise<T>): Promise<T> {
    let abort!: (e: Error) => void;
    const aborted = new Promise<never>((_, reject) => {
      abort = reject;
    });
    const waiter = { what, abort };
    this.waiters.add(waiter);
    const running = work();
    // Once aborted, the work's own late rejection (Dawn's AbortError) has nobody to tell.
    running.catch(() => {});
    try {
      return await Promise.race([running, aborted]);
    } catch (e) {
      throw await this.explain(e, what);
    } finally {
      this.waiters.delete(waiter);
    }
  }

  /** Names a failed wait: Dawn rejects pending maps with an empty AbortError when the device goes. */
  private async explain(e: unknown, what: string): Promise<unknown> {
    if (e instanceof DeviceShutdownError || e instanceof DeviceLostError) return e;
    if (this.destroyed) return this.shutDownBefore(what);
    if (!this.lostError && (e as { name?: string } | null)?.name === 'AbortError') {
      // Device loss is reported a moment after the maps it aborts.
      await Promise.race([this.lost, new Promise((r) => setTimeout(r, 200))]);
    }
    return this.lostError ? this.lostWhile(what) : e;
  }

  /** Reads a storage back; `label` (e.g. "tensor #3 of shape [2, 2]") names it in errors. */
  async read(s: GpuStorage, label?: string): Promise<Float32Array> {
    const what = `reading ${label ?? `a storage of ${s.size} elements`}`;
    this.checkAlive(what);
    if (s.released) throw new Error('webgpu: read of a released storage');
    const bytes = s.buffer.size;
    const staging = this.pool.acquire(bytes, READBACK_USAGE);
    this.endPass().copyBufferToBuffer(s.buffer, 0, staging, 0, bytes);
    this.flush();
    try {
      return await this.waitFor(what, async () => {
        await this.checkErrors();
        await staging.mapAsync(0x0001 /* GPUMapMode.READ */);
        const out = new Float32Array(staging.getMappedRange().slice(0, s.size * 4));
        staging.unmap();
        await this.checkErrors();
        return out;
      });
    } finally {
      // After shutdown it went with the device. Otherwise: the copy into it was submitted and,
      // once unmapped, nothing refers to it any more.
      if (this.destroyed) {
        // nothing to return it to
      } else if (staging.mapState === 'unmapped') {
        this.pool.releaseIdle(staging);
      } else {
        this.pool.release(staging);
      }
    }
  }

  async sync(): Promise<void> {
    const what = 'waiting for the device (sync)';
    this.checkAlive(what);
    this.flush();
    await this.waitFor(what, async () => {
      await this.device.queue.onSubmittedWorkDone();
      await this.checkErrors();
    });
  }

  /**
   * Destroys free buffers and textures, least recently freed first, while more than
   * `maxPooledBytes` are free and the oldest has been idle for IDLE_SUBMITS submits and `idleMs`.
   */
  private shrinkPools(): void {
    const now = performance.now();
    while (this.pool.freeBytes + this.texturePool.freeBytes > this.maxPooledBytes) {
      const b = this.pool.oldestFree, t = this.texturePool.oldestFree;
      const from = !t || (b && b.submit <= t.submit) ? this.pool : this.texturePool;
      const oldest = (from === this.pool ? b : t)!;
      if (this.submits - oldest.submit < IDLE_SUBMITS || now - oldest.time < this.idleMs || !from.evictOldest()) break;
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
    for (const w of this.waiters) {
      w.abort(new DeviceShutdownError(`webgpu: the device was shut down while ${w.what}; it was abandoned (call init() again for a new device)`));
    }
    this.waiters.clear();
    this.pool.trim();
    this.texturePool.trim();
    this.pipelines.clear();
    this.compileErrors.clear();
    this.device.destroy();
  }
}

/** A ShaderCompileError naming `kernel` and showing each error's line, or null when it compiled. */
function compileError(kernel: string, code: string, messages: readonly GPUCompilationMessage[]): ShaderCompileError | null {
  const errors = messages.filter((m) => m.type === 'error');
  if (errors.length === 0) return null;
  const lines = code.split('\n');
  const shown = errors.map((m) => {
    const text = lines[m.lineNum - 1] ?? '';
    const gutter = String(m.lineNum);
    const caret = '^'.repeat(Math.max(1, Math.min(m.length, text.length - m.linePos + 1)));
    return `line ${m.lineNum}:${m.linePos}: ${m.message}\n  ${gutter} | ${text}\n  ${' '.repeat(gutter.length)} | ${' '.repeat(Math.max(0, m.linePos - 1))}${caret}`;
  });
  const first = errors[0]!;
  return new ShaderCompileError(`webgpu validation error: the WGSL of kernel '${kernel}' does not compile:\n${shown.join('\n')}`, kernel, first.lineNum, first.linePos);
}

function splitGrid(total: number): [number, number, number] {
  if (total <= MAX_WORKGROUPS) return [total, 1, 1];
  const y = Math.ceil(total / MAX_WORKGROUPS);
  return [Math.ceil(total / y), y, 1];
}
