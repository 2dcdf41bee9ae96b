/**
 * Activation layout for the sparse products: x [batch, in] (a Linear layer's input)
 * is transposed once into XT [inPad, nb4] of vec4s over the batch (nb4 = ⌈batch/4⌉),
 * zero-padded in both directions. Neighbouring invocations of the SpMM kernels then
 * read neighbouring vec4s of one XT row — contiguous, and vectorised across lanes by
 * llvmpipe — while the sparse row's index and value are the same for all of them.
 */
import type { CsrMatrix } from '../../formats/csr.js';
import type { GpuRuntime, GpuStorage, GpuTexture } from '../../gpu/runtime.js';
import { programFamily } from '../../gpu/program.js';
import { operandTexture } from '../texture-operand.js';

const WX = 64, WY = 4;

const transposeProgram = programFamily('sparse:xt', () => ({
  inputs: [{ name: 'X' }],
  outputs: [{ name: 'XT', type: 'array<vec4<f32>>' }],
  workgroupSize: [WX, WY],
  params: [['batch', 'u32'], ['inF', 'u32'], ['inPad', 'u32'], ['nb4', 'u32']],
  body: () => `
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let batch = P.batch; let inF = P.inF; let inPad = P.inPad; let nb4 = P.nb4;
  let c = gid.x; let b4 = gid.y;
  if (c >= inPad || b4 >= nb4) { return; }
  var v = vec4<f32>(0.0);
  if (c < inF) {
    let b = b4 * 4u;
    for (var j = 0u; j < 4u; j++) {
      if (b + j < batch) { v[j] = X[(b + j) * inF + c]; }
    }
  }
  XT[c * nb4 + b4] = v;
}`,
}));

/** XT [inPad, ⌈batch/4⌉] vec4 from x [batch, in]; rows ≥ in and lanes ≥ batch are zero. */
export function transposeToVec4(rt: GpuRuntime, x: GpuStorage, batch: number, inF: number, inPad = inF): GpuStorage {
  const nb4 = Math.ceil(batch / 4);
  const xt = rt.alloc(inPad * nb4 * 4);
  if (nb4 > 65535 * WY) throw new Error(`sparse: batch ${batch} is too large for one dispatch`);
  rt.run(transposeProgram({}), [x], [xt], { batch, inF, inPad, nb4 }, [Math.ceil(inPad / WX), Math.ceil(nb4 / WY), 1]);
  return xt;
}

/**
 * XT as an rgba32float texture (texel (b4, c) = x[4·b4 … 4·b4+3, c], zero past the batch and
 * for rows c ≥ in), for kernels that gather it with textureLoad; null when it exceeds the
 * device's texture size.
 */
export function transposeToTexture(rt: GpuRuntime, x: GpuStorage, batch: number, inF: number, inPad = inF): GpuTexture | null {
  return operandTexture(rt, x, batch, inF, inF, 1, inPad);
}

/**
 * Texels laid out W to a row (W: the largest power of two the device allows), for a
 * flat index i at (i & (W − 1), i >> log2 W); null when they do not fit one texture.
 */
export function flatTextureWidth(rt: GpuRuntime, texels: number): number | null {
  return flatWidthFor(rt.device.limits.maxTextureDimension2D, texels);
}

/** flatTextureWidth for a device whose 2-D textures are at most `maxTexture` texels a side (planners). */
export function flatWidthFor(maxTexture: number, texels: number): number | null {
  const w = 1 << Math.floor(Math.log2(maxTexture));
  return texels > 0 && Math.ceil(texels / w) <= maxTexture ? w : null;
}

/**
 * One rg32uint texel per non-zero k of a CSR matrix, flat-indexed: (word(column k), bits of
 * value k) — the column itself for SpMM, a precomputed input offset for the convolution.
 */
export function nonzeroTexture(rt: GpuRuntime, m: CsrMatrix, word: (col: number) => number): GpuTexture | null {
  const w = flatTextureWidth(rt, m.nnz);
  if (!w) return null;
  const words = new Uint32Array(w * Math.ceil(m.nnz / w) * 2);
  const valBits = new Uint32Array(Float32Array.from(m.values).buffer);
  for (let k = 0; k < m.nnz; k++) {
    words[2 * k] = word(m.colIdx[k]!);
    words[2 * k + 1] = valBits[k]!;
  }
  return rt.uploadTexture('rg32uint', w, words.length / 2 / w, words);
}

/** WGSL coordinates of flat texel index `i` in a texture `w` texels wide (w a power of two). */
export function flatCoord(i: string, w: number): string {
  return `vec2<u32>((${i}) & ${w - 1}u, (${i}) >> ${Math.log2(w)}u)`;
}
