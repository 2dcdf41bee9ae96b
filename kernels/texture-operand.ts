/**
 * Operands for the kernels that gather through textures (kernels/matmul/texture-gemm.ts,
 * kernels/sparse/): a matrix op[l, p] = Src[l·sL + p·sK] (l < L, p < K) is written into an
 * rgba32float texture, texel (l / 4, p) = op[l … l+3, p] — four consecutive l in one texel,
 * one p per texture row — zero past L, and rows K … Kpad−1 zero.
 *
 * Three programs: the general one (one texel per invocation, four scalar loads); when op is
 * contiguous along l and aligned (sL = 1, sK % 4 = 0), one vec4 load per texel; when rows of
 * op are contiguous along p and aligned (sK = 1, sL % 4 = 0), a 4 × 4 one that reads four
 * vec4s and transposes them in registers — from a texture copy of the rows when a row is a
 * multiple of 256 bytes (copyBufferToTexture's rule), else from the buffer. Loads are the expensive part on llvmpipe (a storage
 * load is a per-lane loop there), so the fast paths take a quarter of the general one's.
 */
import type { GpuRuntime, GpuStorage, GpuTexture } from '../gpu/runtime.js';
import { type ParamDecl, programFamily } from '../gpu/program.js';

const OUT = 'texture_storage_2d<rgba32float, write>';

const PARAMS: ParamDecl = [['L', 'u32'], ['K', 'u32'], ['sL', 'u32'], ['sK', 'u32'], ['Kpad', 'u32']];

const generalProgram = programFamily('texture-operand:general', () => ({
  inputs: [{ name: 'Src' }],
  outputs: [{ name: 'T', type: OUT }],
  workgroupSize: [16, 16],
  params: PARAMS,
  body: () => `
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let L = P.L; let K = P.K; let sL = P.sL; let sK = P.sK;
  let l4 = gid.x; let p = gid.y;
  if (l4 * 4u >= L || p >= P.Kpad) { return; }
  var v = vec4<f32>(0.0);
  if (p < K) {
    for (var j = 0u; j < 4u; j++) {
      let l = l4 * 4u + j;
      if (l < L) { v[j] = Src[l * sL + p * sK]; }
    }
  }
  textureStore(T, vec2<u32>(l4, p), v);
}`,
}));

const colsProgram = programFamily('texture-operand:cols', () => ({
  inputs: [{ name: 'Src', type: 'array<vec4<f32>>' }],
  outputs: [{ name: 'T', type: OUT }],
  workgroupSize: [16, 16],
  params: PARAMS,
  body: () => `
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let L = P.L; let K = P.K; let sK4 = P.sK / 4u;
  let l4 = gid.x; let p = gid.y;
  if (l4 * 4u >= L || p >= P.Kpad) { return; }
  var v = vec4<f32>(0.0);
  if (p < K) {
    v = Src[p * sK4 + l4];
    for (var j = 0u; j < 4u; j++) { if (l4 * 4u + j >= L) { v[j] = 0.0; } }
  }
  textureStore(T, vec2<u32>(l4, p), v);
}`,
}));

/** `copied`: Src is a texture copy of the rows (texel (p4, l) = Src row l, vec4 p4), read with textureLoad. */
const rowsProgram = programFamily('texture-operand:rows4x4', ({ copied }: { copied: boolean }) => ({
  inputs: [{ name: 'Src', type: copied ? 'texture_2d<f32>' : 'array<vec4<f32>>' }],
  outputs: [{ name: 'T', type: OUT }],
  workgroupSize: [16, 16],
  params: PARAMS,
  body: () => `
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let L = P.L; let K = P.K; let sL4 = P.sL / 4u; let Kpad = P.Kpad;
  let l4 = gid.y; let p4 = gid.x;
  if (l4 * 4u >= L || p4 * 4u >= Kpad) { return; }
  var r: array<vec4<f32>, 4>;
  for (var j = 0u; j < 4u; j++) {
    let l = l4 * 4u + j;
    if (l < L && p4 * 4u < K) { r[j] = ${copied ? 'textureLoad(Src, vec2<u32>(p4, l), 0)' : 'Src[l * sL4 + p4]'}; } else { r[j] = vec4<f32>(0.0); }
  }
  for (var i = 0u; i < 4u; i++) {
    let p = p4 * 4u + i;
    if (p < Kpad) {
      var v = vec4<f32>(r[0][i], r[1][i], r[2][i], r[3][i]);
      if (p >= K) { v = vec4<f32>(0.0); }
      textureStore(T, vec2<u32>(l4, p), v);
    }
  }
}`,
}));

/**
 * The texture of op (see above), or null when ⌈L/4⌉ × Kpad exceeds the device's 2-D
 * texture size (callers fall back to storage-buffer kernels).
 */
export function operandTexture(rt: GpuRuntime, src: GpuStorage, L: number, K: number, sL: number, sK: number, Kpad = K): GpuTexture | null {
  const tex = rt.allocTexture('rgba32float', Math.ceil(L / 4), Kpad, true);
  if (!tex) return null;
  const params = { L, K, sL, sK, Kpad };
  if (sL === 1 && sK % 4 === 0) {
    rt.run(colsProgram({}), [src], [tex], params, [Math.ceil(L / 4 / 16), Math.ceil(Kpad / 16), 1]);
  } else if (sK === 1 && sL % 4 === 0) {
    // Rows of 256-byte multiples are first copied into a texture (a plain copy), so the
    // transpose gathers with textureLoad: 1.5-2.4x faster than its storage loads here.
    const copy = (sL * 4) % 256 === 0 && src.size >= L * sL ? rt.rowsTexture(src, sL / 4, L) : null;
    rt.run(rowsProgram({ copied: !!copy }), [copy ?? src], [tex], params, [Math.ceil(Kpad / 4 / 16), Math.ceil(L / 4 / 16), 1]);
    if (copy) rt.releaseTexture(copy);
  } else {
    rt.run(generalProgram({}), [src], [tex], params, [Math.ceil(L / 4 / 16), Math.ceil(Kpad / 16), 1]);
  }
  return tex;
}
