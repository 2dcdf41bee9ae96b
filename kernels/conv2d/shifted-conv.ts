/**
 * Convolution forward through the texture GEMM without an im2col operand. For output rows
 * a multiple of 4 pixels wide, the B texel of k-step (ci, ky, kx) and output pixels
 * (image, oy, 4·ox4 … 4·ox4+3) is 4 input values of one padded input row, read at
 * columns (4·ox4 + j)·sw + kx·dw. A pass writes those 4-wide texels once per (kx, ci,
 * image, padded row) — the "shifted copies" of x, KW× the input instead of im2col's
 * KH·KW× the output — and the GEMM finds each B texel at
 *     ((kx·C + ci)·NI + image)·HP·OW4 + (oy·sh + ky·dh)·OW4 + ox4,
 * a per-invocation part plus a part that depends on the k-step alone (a table of K
 * offsets, read at the same address by every invocation). On llvmpipe the im2col pass
 * took about 60 % of a 64→64 3×3 convolution (132 of 222 ms at batch 32).
 */
import type { Conv2dGeometry } from '../../gpu/types.js';
import type { GpuRuntime, GpuStorage, GpuTexture } from '../../gpu/runtime.js';
import { perElementMain, programFamily } from '../../gpu/program.js';
import { runTextureGemm } from '../matmul/texture-gemm.js';
import { textureBlock } from '../matmul/plan.js';
import { operandTexture } from '../texture-operand.js';
import type { PlannerLimits } from '../../gpu/profile.js';
import { flatCoord } from '../sparse/layout.js';
import { uploadU32 } from '../sparse/storage.js';
import { udivWgsl } from '../strided-index.js';

/** Padded input rows the convolution reads: (oh − 1)·sh + (kh − 1)·dh + 1. */
export const paddedRows = (g: Conv2dGeometry) => (g.oh - 1) * g.sh + (g.kh - 1) * g.dh + 1;

// One invocation per (ci, image, padded row, ox4) writes that texel of all KW copies.
// Parameters: texels per copy (n), the geometry, OW4, HP, the chunk's images and its first.
// `window` (stride 1, dilation 1, W a multiple of 4, KW and PW baked in): the 4 + KW − 1
// input values the texel's copies need are read as a few aligned vec4s of x — a quarter of
// the per-lane storage loads — else x is read one value at a time.
const shiftProgram = programFamily('conv2d:shifted-copies', ({ width, window }: { width: number; window: { kw: number; pw: number } | null }) => {
  const head = `  let C = P.c; let H = P.h; let W = P.w;
  let OW4 = P.ow4; let HP = P.hp; let NI = P.images;
  let r1 = udiv(i, OW4); let ox4 = i - r1 * OW4;
  let r2 = udiv(r1, HP); let y = r1 - r2 * HP;
  let ci = udiv(r2, NI); let img = r2 - ci * NI;
  let iy = i32(y) - P.ph;
  let row = (((P.img0 + img) * C + ci) * u32(H) + u32(max(iy, 0))) * u32(W);
  let inRow = iy >= 0 && iy < H;`;
  const scalar = `${head}
  for (var kx = 0u; kx < P.kw; kx++) {
    var v = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
      let ix = i32(ox4 * 4u + j) * P.sw + i32(kx) * P.dw - P.pw;
      if (inRow && ix >= 0 && ix < W) { v[j] = X[row + u32(ix)]; }
    }
    textureStore(S, ${flatCoord('kx * P.n + i', width)}, v);
  }`;
  let body = scalar;
  if (window) {
    // Values at columns 4·ox4 − 4·lead … : vec4 q covers 4·(ox4 − lead + q) … + 3, all in or all out of the row.
    const lead = Math.ceil(window.pw / 4);
    const count = Math.ceil((4 * lead - window.pw + 3 + window.kw) / 4);
    const loads = Array.from({ length: count }, (_, q) => `  let c${q} = i32(ox4) - ${lead} + ${q};
  var q${q} = vec4<f32>(0.0);
  if (inRow && c${q} >= 0 && c${q} < W / 4) { q${q} = X[row / 4u + u32(c${q})]; }`).join('\n');
    const at = (t: number) => `q${Math.floor(t / 4)}.${'xyzw'[t % 4]}`;
    const stores = Array.from({ length: window.kw }, (_, kx) => {
      const t0 = 4 * lead - window.pw + kx;
      return `  textureStore(S, ${flatCoord(`${kx}u * P.n + i`, width)}, vec4<f32>(${[0, 1, 2, 3].map((j) => at(t0 + j)).join(', ')}));`;
    }).join('\n');
    body = `${head}\n${loads}\n${stores}`;
  }
  return {
    inputs: [{ name: 'X', type: window ? 'array<vec4<f32>>' : 'array<f32>' }],
    outputs: [{ name: 'S', type: 'texture_storage_2d<rgba32float, write>' }],
    workgroupSize: [64],
    params: [['n', 'u32'], ['c', 'u32'], ['h', 'i32'], ['w', 'i32'], ['kw', 'u32'], ['sw', 'i32'], ['ph', 'i32'], ['pw', 'i32'], ['dw', 'i32'], ['ow4', 'u32'], ['hp', 'u32'], ['images', 'u32'], ['img0', 'u32']],
    body: () => `${udivWgsl}
${perElementMain(body)}`,
  };
});

/**
 * Per k-step p = (ci·KH + ky)·KW + kx, the part of its B texels' index that does not depend
 * on the output pixel: (kx·C + ci)·plane + ky·dh·OW4.
 */
export function stepOffsets(g: Conv2dGeometry, plane: number, ow4: number): Uint32Array {
  const words = new Uint32Array(g.c * g.kh * g.kw);
  for (let ci = 0, p = 0; ci < g.c; ci++) {
    for (let ky = 0; ky < g.kh; ky++) {
      for (let kx = 0; kx < g.kw; kx++) words[p++] = (kx * g.c + ci) * plane + ky * g.dh * ow4;
    }
  }
  return words;
}

/**
 * Texels a row of the flat textures the convolution paths lay out (flat index i at
 * (i mod W, i div W)): the largest power of two the device's 2-D textures allow.
 */
export function flatWidth(lim: Pick<PlannerLimits, 'maxTextureDimension2D'>): number {
  return 2 ** Math.floor(Math.log2(lim.maxTextureDimension2D));
}

/** Images per chunk whose shifted copies fit one flat texture `width` texels wide, or 0 when not even one does. */
export function shiftedChunkImages(lim: Pick<PlannerLimits, 'maxTextureDimension2D'>, g: Conv2dGeometry, width: number): number {
  const perImage = g.kw * g.c * paddedRows(g) * (g.ow / 4);
  return Math.min(g.n, Math.floor((width * lim.maxTextureDimension2D) / perImage));
}

/** shiftedChunkImages on a runtime's device. */
export function chunkImages(rt: GpuRuntime, g: Conv2dGeometry, width: number): number {
  return shiftedChunkImages(rt.limits, g, width);
}

/**
 * Whether this convolution can take the shifted-copies path on a device with these limits:
 * output rows a multiple of 4 wide, 8 or more output channels (as the im2col texture path),
 * the weights and one image's copies within the device's textures, and a GEMM grid within
 * the dispatch limits.
 */
export function shiftedConvFits(g: Conv2dGeometry, lim: PlannerLimits): boolean {
  const width = flatWidth(lim);
  if (g.ow % 4 !== 0 || g.oc < 8) return false;
  const k = g.c * g.kh * g.kw;
  const images = shiftedChunkImages(lim, g, width);
  if (k > lim.maxTextureDimension2D || Math.ceil(g.oc / 4) > lim.maxTextureDimension2D || images < 1) return false;
  const block = textureBlock(g.oc, images * g.oh * g.ow);
  return block !== null && Math.ceil((images * g.oh * g.ow) / 4 / block.t / 8) <= lim.maxComputeWorkgroupsPerDimension;
}

/**
 * The shifted copies of images img0 … img0+images−1 as one flat rgba32float texture
 * (`width` texels a row): texel kx·perCopy + ((ci·images + image)·HP + y)·OW4 + ox4 holds
 * padded input row y of channel ci at columns (4·ox4 + j)·sw + kx·dw, j = 0…3, where
 * perCopy = C·images·HP·OW4 and HP = paddedRows(g). The caller releases it.
 */
export function shiftedCopies(rt: GpuRuntime, x: GpuStorage, g: Conv2dGeometry, width: number, img0: number, images: number): GpuTexture {
  const hp = paddedRows(g), ow4 = g.ow / 4;
  const perCopy = g.c * images * hp * ow4;
  const st = rt.allocTexture('rgba32float', width, Math.ceil((g.kw * perCopy) / width), true);
  if (!st) throw new Error(`internal: conv2d shifted copies (${g.kw * perCopy} texels) do not fit a texture`);
  // x is read straight from its buffer: measured faster than through a flat texture copy.
  const window = g.sw === 1 && g.dw === 1 && g.w % 4 === 0 ? { kw: g.kw, pw: g.pw } : null;
  rt.run(shiftProgram({ width, window }), [x], [st], { n: perCopy, c: g.c, h: g.h, w: g.w, kw: g.kw, sw: g.sw, ph: g.ph, pw: g.pw, dw: g.dw, ow4, hp, images, img0 }, Math.ceil(perCopy / 64));
  return st;
}

/** `relu`: max(y, 0) in the GEMM's store epilogue (after the bias). */
export function shiftedConvForward(rt: GpuRuntime, x: GpuStorage, w: GpuStorage, bias: GpuStorage | null, g: Conv2dGeometry, chunkLimit = Infinity, relu = false): GpuStorage {
  const width = flatWidth(rt.limits);
  const k = g.c * g.kh * g.kw;
  const P = g.oh * g.ow;
  const ow4 = g.ow / 4;
  const hp = paddedRows(g);
  const chunk = Math.min(shiftedChunkImages(rt.limits, g, width), chunkLimit);
  const out = rt.alloc(g.n * g.oc * P);
  const wt = operandTexture(rt, w, g.oc, k, k, 1);
  if (!wt || chunk < 1) throw new Error(`internal: conv2d ${g.oc}×${k} does not fit the shifted-copies path`);
  for (let img0 = 0; img0 < g.n; img0 += chunk) {
    const images = Math.min(chunk, g.n - img0);
    const st = shiftedCopies(rt, x, g, width, img0, images);
    const nn = images * P;
    const block = textureBlock(g.oc, nn) ?? { r: 1, t: 1 };
    const ob = uploadU32(rt, stepOffsets(g, images * hp * ow4, ow4));
    runTextureGemm(rt, { ...block, epilogue: { bias: !!bias, relu }, layout: 'nchw', shifted: { width } }, wt, st, bias, out,
      { m: g.oc, k, n: nn, p: P, img0, imgStride: hp * ow4, rowStride: g.sh * ow4, imgTexels: g.oh * ow4, ow4 }, ob);
    rt.release(ob);
    rt.releaseTexture(st);
  }
  rt.releaseTexture(wt);
  return out;
}
