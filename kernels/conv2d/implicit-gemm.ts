/**
 * Convolution as implicit GEMM on the register-blocked skeleton of
 * kernels/matmul/gemm-core.ts: the im2col matrix is never stored; each invocation
 * computes the input coordinates of its columns once and gathers the operand
 * elements on the fly (zero outside the input or off the stride grid).
 *
 * NCHW, weights [oc, c, kh, kw]. With S = oh·ow and KK = kh·kw:
 * - forward:     Y[b] [oc, S]   = W [oc, c·KK] · im2col(x[b]) [c·KK, S]        (GEMM batch = n)
 * - grad input:  gX[b] [c, h·w] = Wᵀ-gather [c, oc·KK] · col2im-gather(gy[b]) (GEMM batch = n)
 * - grad weight: gW [oc, c·KK]  = gY-gather [oc, n·S] · im2colᵀ [n·S, c·KK]    (k spans batch and
 *   space; split-K slices reduced by kernels/matmul/splitk.ts)
 * The geometry's parameters (GEOMETRY, i32) follow the matmul ones.
 */
import type { Conv2dGeometry } from '../../gpu/types.js';
import { type ParamDecl, programFamily } from '../../gpu/program.js';
import { MATMUL_PARAMS, splitFree } from '../matmul/layout.js';
import { gemmWgsl, range, scalarColumns, scalarRows, type OperandCode } from '../matmul/gemm-core.js';
import { operandA } from '../matmul/tiled.js';

export type ConvGemmKind = 'fwd' | 'gradInput' | 'gradWeight';

export interface ConvGemmConfig {
  kind: ConvGemmKind;
  tm: number;
  tn: number;
  wgX: number;
  wgY: number;
  /** Forward only: the weight rows are read as vec4 (c·kh·kw % 4 == 0). */
  aVec: boolean;
  /** The GEMM's n % 4 == 0: vec4 stores. */
  cVec: boolean;
  checked: boolean;
  /** Partial sums for split-K (grad weight). */
  split: boolean;
  /** Forward only: bias per output channel (a GEMM row). */
  bias: boolean;
  /** Forward only: ReLU on the stored values (after the bias). */
  relu?: boolean;
}

export const GEOMETRY = ['c', 'h', 'w', 'oc', 'kh', 'kw', 'sh', 'sw', 'ph', 'pw', 'dh', 'dw', 'oh', 'ow'] as const;

const PARAMS: ParamDecl = [...MATMUL_PARAMS, ...GEOMETRY.map((f) => [f, 'i32'] as const)];

/** A short description of a config for error messages. */
const describe = (c: ConvGemmConfig) => `${c.kind} ${c.tm}x${4 * c.tn}${c.split ? ' split' : c.bias ? ' bias' : ''}${c.relu ? ' relu' : ''}`;

/** GEMM dimensions and batch strides of a convolution pass. */
export function convGemmDims(kind: ConvGemmKind, g: Conv2dGeometry): { batch: number; m: number; k: number; n: number; aBatch: number; bBatch: number } {
  const kk = g.kh * g.kw, s = g.oh * g.ow;
  if (kind === 'fwd') return { batch: g.n, m: g.oc, k: g.c * kk, n: s, aBatch: 0, bBatch: g.c * g.h * g.w };
  if (kind === 'gradInput') return { batch: g.n, m: g.c, k: g.oc * kk, n: g.h * g.w, aBatch: 0, bBatch: g.oc * s };
  return { batch: 1, m: g.oc, k: g.n * s, n: g.c * kk, aBatch: 0, bBatch: 0 };
}

export function convGemmParams(g: Conv2dGeometry, kind: ConvGemmKind, splits: number, kChunk: number): Record<string, number> {
  const d = convGemmDims(kind, g);
  return { m: d.m, k: d.k, n: d.n, aBatch: d.aBatch, bBatch: d.bBatch, splits, kChunk, ...Object.fromEntries(GEOMETRY.map((f) => [f, g[f]])) };
}

/** WGSL names of the geometry (`CH` for c: `C` is the output binding). */
const geometryLets = GEOMETRY.map((f) => `let ${f === 'c' ? 'CH' : f.toUpperCase()} = P.${f};`);

/** Zero-padded reads of x (forward, grad weight) and of gy on the stride grid (grad input). */
const helpers = `
fn readX(plane: i32, iy: i32, ix: i32) -> f32 {
  let h = P.h; let w = P.w;
  // '&', not '&&': short-circuits become branches, and SwiftShader (Chromium's software adapter)
  // takes minutes to compile the unrolled GEMM with four of them per read.
  let inside = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w);
  return select(0.0, B[u32(plane + clamp(iy, 0, h - 1) * w + clamp(ix, 0, w - 1))], inside);
}
fn readGy(plane: i32, ty: i32, tx: i32) -> f32 {
  let sh = P.sh; let sw = P.sw; let oh = P.oh; let ow = P.ow;
  let oy = ty / sh; let ox = tx / sw;
  let ok = (ty >= 0) & (tx >= 0) & (ty % sh == 0) & (tx % sw == 0) & (oy < oh) & (ox < ow);
  return select(0.0, B[u32(plane + clamp(oy, 0, oh - 1) * ow + clamp(ox, 0, ow - 1))], ok);
}`;

function operands(c: ConvGemmConfig): [OperandCode, OperandCode] {
  const cols = range(4 * c.tn);
  if (c.kind === 'fwd') {
    const a = operandA({ tm: c.tm, transA: false, aMode: c.aVec ? 'vecK' : 'scalar', checked: c.checked });
    const b = scalarColumns(
      c.tn,
      ['let KK = u32(KH * KW);', ...cols.map((j) => `let y${j} = i32(cb${j} / u32(OW)) * SH - PH; let x${j} = i32(cb${j} % u32(OW)) * SW - PW;`)],
      (t, p) => [`let ci${t} = (${p}) / KK; let r${t} = (${p}) % KK;`, `let dy${t} = i32(r${t} / u32(KW)) * DH; let dx${t} = i32(r${t} % u32(KW)) * DW;`, `let pl${t} = i32(bOff + ci${t} * u32(H * W));`],
      (j, t) => `readX(pl${t}, y${j} + dy${t}, x${j} + dx${t})`,
    );
    return [a, b];
  }
  if (c.kind === 'gradInput') {
    const a = scalarRows(
      c.tm,
      ['let KK = u32(KH * KW);', 'let wPitch = u32(CH) * KK;'],
      (t, p) => [`let wb${t} = ((${p}) / KK) * wPitch + (${p}) % KK;`],
      (r, t) => `A[wb${t} + ra${r} * KK]`,
    );
    const b = scalarColumns(
      c.tn,
      [...cols.map((j) => `let y${j} = i32(cb${j} / u32(W)) + PH; let x${j} = i32(cb${j} % u32(W)) + PW;`)],
      (t, p) => [`let o${t} = (${p}) / KK; let r${t} = (${p}) % KK;`, `let dy${t} = i32(r${t} / u32(KW)) * DH; let dx${t} = i32(r${t} % u32(KW)) * DW;`, `let pl${t} = i32(bOff + o${t} * u32(OH * OW));`],
      (j, t) => `readGy(pl${t}, y${j} - dy${t}, x${j} - dx${t})`,
    );
    return [a, b];
  }
  // Grad weight: k = (b, s) over batch and output positions.
  const a = scalarRows(
    c.tm,
    ['let S = u32(OH * OW);', 'let gPitch = u32(OC) * S;'],
    (t, p) => [`let gb${t} = ((${p}) / S) * gPitch + (${p}) % S;`],
    (r, t) => `A[gb${t} + ra${r} * S]`,
  );
  const b = scalarColumns(
    c.tn,
    ['let KK = u32(KH * KW);', ...cols.map((j) => `let r${j} = cb${j} % KK; let po${j} = i32(cb${j} / KK) * H * W; let dy${j} = i32(r${j} / u32(KW)) * DH - PH; let dx${j} = i32(r${j} % u32(KW)) * DW - PW;`)],
    (t, p) => [`let bi${t} = (${p}) / S; let s${t} = (${p}) % S;`, `let iy${t} = i32(s${t} / u32(OW)) * SH; let ix${t} = i32(s${t} % u32(OW)) * SW;`, `let pl${t} = i32(bi${t}) * CH * H * W;`],
    (j, t) => `readX(pl${t} + po${j}, iy${t} + dy${j}, ix${t} + dx${j})`,
  );
  return [a, b];
}

export const convGemmProgram = programFamily('conv2d:gemm', (c: ConvGemmConfig) => {
  if (c.aVec && c.kind !== 'fwd') throw new Error('conv2d: vec4 weight rows only in the forward pass');
  if ((c.bias || c.split) && c.kind !== 'fwd' && !(c.split && c.kind === 'gradWeight')) throw new Error(`conv2d: ${describe(c)} is not a valid combination`);
  if (c.relu && (c.kind !== 'fwd' || c.split)) throw new Error(`conv2d: ${describe(c)}: a fused ReLU belongs to an unsplit forward pass`);
  const inputs = [{ name: 'A', type: c.aVec ? 'array<vec4<f32>>' : undefined }, { name: 'B' }];
  if (c.bias) inputs.push({ name: 'Bias', type: undefined });
  const [a, b] = operands(c);
  return {
    inputs,
    outputs: [{ name: 'C', type: c.cVec ? 'array<vec4<f32>>' : undefined }],
    workgroupSize: [c.wgX, c.wgY],
    params: PARAMS,
    body: () => gemmWgsl(c, a, b, { cVec: c.cVec, bias: c.bias, biasPerRow: true, relu: !!c.relu }, { fns: helpers, params: geometryLets }),
  };
}, splitFree);
