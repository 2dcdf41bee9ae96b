/**
 * Convolution forward through the texture GEMM (kernels/matmul/texture-gemm.ts):
 * Y[image, oc, pixel] = Σ_p W[oc, p] · im2col[p, image·P + pixel] with p = (ci, ky, kx) and
 * P = oh·ow. The im2col operand is never stored as a buffer: a conversion pass writes it
 * straight into the GEMM's operand texture (taps in the padding are zero), a chunk of
 * images at a time so that chunk·P fits the texture width (4 pixels a texel); the GEMM
 * stores each chunk into its place of the NCHW output and adds the bias per channel.
 */
import type { Conv2dGeometry } from '../../gpu/types.js';
import type { GpuRuntime, GpuStorage } from '../../gpu/runtime.js';
import { programFamily } from '../../gpu/program.js';
import type { PlannerLimits } from '../../gpu/profile.js';
import { runTextureGemm } from '../matmul/texture-gemm.js';
import { textureBlock } from '../matmul/plan.js';
import { operandTexture } from '../texture-operand.js';
import { flatCoord, flatTextureWidth } from '../sparse/layout.js';
import { udivWgsl } from '../strided-index.js';


// Parameters: the geometry, the chunk's first image, its pixels and K.
// xWidth > 0: x is read from a flat r32float copy of it (xWidth texels a row) instead of the buffer.
const im2colProgram = programFamily('conv2d:im2col-texture', ({ xWidth }: { xWidth: number }) => {
  const read = (i: string) => (xWidth ? `textureLoad(X, ${flatCoord(i, xWidth)}, 0).x` : `X[${i}]`);
  return {
    inputs: [{ name: 'X', type: xWidth ? 'texture_2d<f32>' : 'array<f32>' }],
    outputs: [{ name: 'T', type: 'texture_storage_2d<rgba32float, write>' }],
    workgroupSize: [16, 16],
    params: [['c', 'u32'], ['h', 'i32'], ['w', 'i32'], ['kh', 'u32'], ['kw', 'u32'], ['sh', 'i32'], ['sw', 'i32'], ['ph', 'i32'], ['pw', 'i32'], ['dh', 'i32'], ['dw', 'i32'], ['oh', 'u32'], ['ow', 'u32'], ['img0', 'u32'], ['pixels', 'u32'], ['k', 'u32']],
    body: () => `
${udivWgsl}
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let C = P.c; let H = P.h; let W = P.w; let KH = P.kh; let KW = P.kw;
  let SH = P.sh; let SW = P.sw; let PH = P.ph; let PW = P.pw; let DH = P.dh; let DW = P.dw;
  let OH = P.oh; let OW = P.ow; let NN = P.pixels;
  let n4 = gid.x; let p = gid.y;
  if (n4 * 4u >= NN || p >= P.k) { return; }
  let cik = udiv(p, KW); let kx = i32(p - cik * KW);
  let ci = udiv(cik, KH); let ky = i32(cik - ci * KH);
  // The texel's first pixel, then step through the next three without dividing.
  let n0 = n4 * 4u;
  let row = udiv(n0, OW);
  var ox = n0 - row * OW;
  let img = udiv(row, OH);
  var oy = row - img * OH;
  var plane = (P.img0 + img) * C + ci;
  var v = vec4<f32>(0.0);
  for (var j = 0u; j < 4u; j++) {
    if (n0 + j < NN) {
      let iy = i32(oy) * SH - PH + ky * DH;
      let ix = i32(ox) * SW - PW + kx * DW;
      if (iy >= 0 && iy < H && ix >= 0 && ix < W) { v[j] = ${read('(plane * u32(H) + u32(iy)) * u32(W) + u32(ix)')}; }
    }
    ox += 1u;
    if (ox == OW) { ox = 0u; oy += 1u; if (oy == OH) { oy = 0u; plane += C; } }
  }
  textureStore(T, vec2<u32>(n4, p), v);
}`,
  };
});

/** Images per chunk: as many as the texture width holds (4 pixels a texel), at most `limit`. */
export function textureConvChunk(lim: Pick<PlannerLimits, 'maxTextureDimension2D'>, g: Conv2dGeometry, limit = Infinity): number {
  return Math.min(g.n, limit, Math.floor((4 * lim.maxTextureDimension2D) / (g.oh * g.ow)));
}

/**
 * Whether the texture path can run this convolution on a device with these limits, and its
 * GEMM fills enough invocations.
 * Fewer than 8 output channels stay on implicit GEMM: there the im2col pass (one gathered
 * tap per multiply-add per channel) outweighs the product — LeNet-5's conv1 (6 channels)
 * ran 0.6× as fast through textures.
 */
export function textureConvFits(g: Conv2dGeometry, lim: PlannerLimits): boolean {
  const max = lim.maxTextureDimension2D;
  const k = g.c * g.kh * g.kw;
  const chunk = textureConvChunk(lim, g);
  return g.oc >= 8 && k >= 1 && k <= max && Math.ceil(g.oc / 4) <= max && chunk >= 1 && textureBlock(g.oc, chunk * g.oh * g.ow) !== null;
}

/** `relu`: max(y, 0) in the GEMM's store epilogue (after the bias). */
export function textureConvForward(rt: GpuRuntime, x: GpuStorage, w: GpuStorage, bias: GpuStorage | null, g: Conv2dGeometry, chunkLimit = Infinity, relu = false): GpuStorage {
  const k = g.c * g.kh * g.kw;
  const P = g.oh * g.ow;
  const chunk = textureConvChunk(rt.limits, g, chunkLimit);
  const out = rt.alloc(g.n * g.oc * P);
  const wt = operandTexture(rt, w, g.oc, k, k, 1);
  if (!wt || chunk < 1) throw new Error(`internal: conv2d ${g.oc}×${k} weights do not fit the texture path`);
  // x itself through a texture too when it fits (a plain copy): the im2col pass then gathers with textureLoad.
  const fw = flatTextureWidth(rt, g.n * g.c * g.h * g.w);
  const xf = fw ? rt.flatTexture(x, fw) : null;
  for (let img0 = 0; img0 < g.n; img0 += chunk) {
    const images = Math.min(chunk, g.n - img0);
    const nn = images * P;
    const xt = rt.allocTexture('rgba32float', Math.ceil(nn / 4), k, true);
    if (!xt) throw new Error(`internal: conv2d im2col chunk ${nn}×${k} does not fit a texture`);
    rt.run(im2colProgram({ xWidth: xf ? fw! : 0 }), [xf ?? x], [xt], { c: g.c, h: g.h, w: g.w, kh: g.kh, kw: g.kw, sh: g.sh, sw: g.sw, ph: g.ph, pw: g.pw, dh: g.dh, dw: g.dw, oh: g.oh, ow: g.ow, img0, pixels: nn, k },
      [Math.ceil(nn / 4 / 16), Math.ceil(k / 16), 1]);
    const block = textureBlock(g.oc, nn) ?? { r: 1, t: 1 };
    runTextureGemm(rt, { ...block, epilogue: { bias: !!bias, relu }, layout: 'nchw' }, wt, xt, bias, out, { m: g.oc, k, n: nn, p: P, img0 });
    rt.releaseTexture(xt);
  }
  rt.releaseTexture(wt);
  if (xf) rt.releaseTexture(xf);
  return out;
}
