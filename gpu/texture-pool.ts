/**
 * 2-D textures for kernels that read through the texture path. On llvmpipe a storage-
 * buffer load whose address differs per invocation is a per-lane loop with a branch
 * and a bounds check per component, while `textureLoad` is one vectorised gather:
 * reading the gathered operand of a sparse product from a texture made the CSR inner
 * loop about 6× faster there. Pooled like buffers: a released texture is parked until
 * the submit that last used it, then reusable for the same (format, width, height).
 */
import { ResourcePool } from './resource-pool.js';

export class GpuTexture {
  released = false;
  readonly view: GPUTextureView;
  constructor(readonly texture: GPUTexture, readonly format: GPUTextureFormat, readonly width: number, readonly height: number, readonly bytes: number) {
    this.view = texture.createView();
  }
}

const BYTES_PER_TEXEL: Partial<Record<GPUTextureFormat, number>> = { rgba32float: 16, rg32uint: 8, r32float: 4, r32uint: 4 };

export function texelBytes(format: GPUTextureFormat): number {
  const b = BYTES_PER_TEXEL[format];
  if (!b) throw new Error(`internal: unsupported texture format ${format}`);
  return b;
}

const poolKey = (format: GPUTextureFormat, width: number, height: number, usage: number) => `${format}:${width}x${height}:${usage}`;

export class TexturePool extends ResourcePool<GPUTexture> {
  constructor(private device: GPUDevice, clock: () => number) {
    super(clock);
  }

  acquire(format: GPUTextureFormat, width: number, height: number, usage: number): GPUTexture {
    const hit = this.take(poolKey(format, width, height, usage));
    if (hit) return hit;
    this.created(width * height * texelBytes(format));
    return this.device.createTexture({ size: [width, height], format, usage });
  }

  /** Park a texture until the next submit. */
  release(t: GpuTexture): void {
    this.park(poolKey(t.format, t.width, t.height, t.texture.usage), t.texture, t.bytes);
  }
}
