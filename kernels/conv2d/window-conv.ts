/**
 * Convolution forward through the texture GEMM reading x itself: for stride-1,
 * undilated convolutions whose input and output rows are a multiple of 4 wide, x is
 * copied (a plain buffer-to-texture copy, no shader) into a flat rgba32float texture of
 * 4-column texels, and the GEMM builds each B texel — 4 input values at columns
 * 4·ox4 + kx − pw … + 3 — by shifting lanes of the two texels of the input row that
 * hold them (kernels/matmul/texture-gemm.ts, `window`). No shifted copies are written:
 * that pass, KW× the input through one textureStore per texel, was 15 % of a 64→64 and
 * ~40 % of a 16→16 3×3 convolution at batch 256 on llvmpipe.
 */
import type { Conv2dGeometry, Pool2dGeometry } from '../../gpu/types.js';
import type { GpuRuntime, GpuStorage } from '../../gpu/runtime.js';
import type { PlannerLimits } from '../../gpu/profile.js';
import { runTextureGemm } from '../matmul/texture-gemm.js';
import { textureBlock } from '../matmul/plan.js';
import { operandTexture } from '../texture-operand.js';
import { flatWidth } from './shifted-conv.js';

/** Texel offsets d = ⌊s/4⌋ … the windows of one output texel read (s = kx − pw): at most 3 kept in registers. */
function texelSpan(g: Conv2dGeometry): number {
  const lo = Math.floor(-g.pw / 4);
  const sMax = g.kw - 1 - g.pw;
  const hi = Math.floor(sMax / 4) + (sMax % 4 === 0 ? 0 : 1);
  return hi - lo + 1;
}

/** Images per chunk: their input texels fit one flat texture and the GEMM grid the dispatch limit. */
function chunkImages(lim: PlannerLimits, g: Conv2dGeometry, width: number): number {
  const perImage = (g.c * g.h * g.w) / 4;
  const byTexture = Math.floor((width * lim.maxTextureDimension2D) / perImage);
  // The GEMM's x dimension: ⌈images·OH·OW4 / t / wgX⌉ workgroups of at least t·wgX = 16 texels (t ≥ 2, wgX ≥ 8).
  const byGrid = Math.floor((lim.maxComputeWorkgroupsPerDimension * 16) / ((g.oh * g.ow) / 4));
  return Math.min(g.n, byTexture, byGrid);
}

/** Whether this convolution can take the window path on a device with these limits. */
export function windowConvFits(g: Conv2dGeometry, lim: PlannerLimits): boolean {
  const width = flatWidth(lim);
  if ((width * 16) % 256 !== 0) return false;
  if (g.sh !== 1 || g.sw !== 1 || g.dh !== 1 || g.dw !== 1 || g.w % 4 !== 0 || g.ow % 4 !== 0 || g.oc < 8) return false;
  if (g.pw > g.kw - 1 || texelSpan(g) > 3) return false;
  const k = g.c * g.kh * g.kw;
  if (k > lim.maxTextureDimension2D || Math.ceil(g.oc / 4) > lim.maxTextureDimension2D) return false;
  const images = chunkImages(lim, g, width);
  return images >= 1 && textureBlock(g.oc, images * g.oh * g.ow) !== null;
}

/** The pooled stores pair output rows within an invocation and halve each 4-column texel. */
const poolableOutput = (g: Conv2dGeometry) => g.oh % 2 === 0 && g.ow % 4 === 0;

/** Whether `pool` (of this convolution's output) is the 2×2, stride-2 max pooling the window GEMM can apply as it stores. */
export function windowPoolFits(g: Conv2dGeometry, pool: Pool2dGeometry): boolean {
  return pool.kh === 2 && pool.kw === 2 && pool.sh === 2 && pool.sw === 2 && pool.ph === 0 && pool.pw === 0 && poolableOutput(g);
}

/**
 * y = conv(x, w) + bias, then ReLU when `relu` and 2×2 stride-2 max pooling when `pool`
 * (both in the GEMM's store epilogue; `pool` needs windowPoolFits: y is then [n, oc, oh/2, ow/2]).
 */
export function windowConvForward(rt: GpuRuntime, x: GpuStorage, w: GpuStorage, bias: GpuStorage | null, g: Conv2dGeometry, chunkLimit = Infinity,
  { relu = false, pool = false }: { relu?: boolean; pool?: boolean } = {}, blockOverride?: { r: number; t: number }): GpuStorage {
  const width = flatWidth(rt.limits);
  const k = g.c * g.kh * g.kw;
  const P = g.oh * g.ow;
  const perImage = (g.c * g.h * g.w) / 4;
  const chunk = Math.min(chunkImages(rt.limits, g, width), chunkLimit);
  if (pool && !poolableOutput(g)) throw new Error(`internal: the window conv pools 2x2 outputs of even height, got ${g.oh}x${g.ow}`);
  const out = rt.alloc(g.n * g.oc * (pool ? P / 4 : P));
  const wt = operandTexture(rt, w, g.oc, k, k, 1);
  if (!wt || chunk < 1) throw new Error(`internal: conv2d ${g.oc}×${k} does not fit the window path`);
  const window = { width, kh: g.kh, kw: g.kw, ph: g.ph, pw: g.pw };
  for (let img0 = 0; img0 < g.n; img0 += chunk) {
    const images = Math.min(chunk, g.n - img0);
    const xt = rt.flatVec4Texture(x, width, img0 * perImage, images * perImage);
    if (!xt) throw new Error(`internal: conv2d input (${images * perImage} texels) does not fit a texture`);
    const nn = images * P;
    const chosen = blockOverride ?? textureBlock(g.oc, nn) ?? { r: 1, t: 1 };
    // Pooling pairs output rows within an invocation: T even.
    const block = pool && chosen.t % 2 !== 0 ? { r: chosen.r, t: chosen.t + 1 } : chosen;
    const rowBlocks = Math.ceil(g.oh / block.t) * (g.ow / 4);
    runTextureGemm(rt, { ...block, epilogue: { bias: !!bias, relu }, layout: 'nchw', window, pool }, wt, xt, bias, out,
      { m: g.oc, k, n: nn, p: P, img0, inC: g.c, inH: g.h, inW4: g.w / 4, perImage: rowBlocks, ow4: g.ow / 4, invocations: images * rowBlocks, oh: g.oh });
    rt.releaseTexture(xt);
  }
  rt.releaseTexture(wt);
  return out;
}
