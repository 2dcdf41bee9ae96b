/**
 * GEMM through textures: both operands are first written into rgba32float textures
 * (texel (i, p) holds 4 consecutive rows i·4 … i·4+3 of op(A) — or 4 columns of op(B) —
 * at k-step p), then each invocation accumulates a (4R × 4T) block of C from R + T
 * textureLoads per k-step (16·R·T multiply-adds).
 *
 * Why: on llvmpipe a storage-buffer load whose address differs per invocation is a
 * per-lane loop with a branch and a bounds check per component, while textureLoad is a
 * vectorised gather; the same register blocking reading textures ran 1024×1024×256
 * A·Bᵀ about 4× faster than the storage-buffer kernels (bench/RESULTS.md). The two
 * conversion passes cost O(mk + kn), small next to the O(mnk) product.
 *
 * Used for one (unbatched) product whose operands fit the device's 2-D texture size
 * (kernels/matmul.ts decides); any transposition, with the fused bias + ReLU epilogue.
 */
import type { MatmulGeometry } from '../../gpu/types.js';
import type { GpuRuntime, GpuStorage, GpuTexture } from '../../gpu/runtime.js';
import { type ParamDecl, programFamily } from '../../gpu/program.js';
import { operandTexture } from '../texture-operand.js';
import { flatCoord } from '../sparse/layout.js';
import { udivWgsl } from '../strided-index.js';
import { maxPickWgsl } from '../pool2d.js';
import type { MatmulEpilogue } from './layout.js';

/** Texels of m (R) and of n (T) per invocation. */
export interface TextureGemmConfig {
  r: number;
  t: number;
  epilogue: MatmulEpilogue;
  /**
   * Output layout. 'rows' (default): C[m, n] row-major, bias per n. 'nchw' (convolution,
   * m = output channel, n = image·P + pixel with P = parameter `p` pixels an image, images
   * counted from `img0`): C[(image·M + m)·P + pixel], bias per m.
   */
  layout?: 'rows' | 'nchw';
  /**
   * B is the shifted copies of a convolution's input (kernels/conv2d/shifted-conv.ts), a
   * flat texture `width` texels wide, instead of a [n/4, k] operand texture: B texel (p, n4)
   * is at Offsets[p] (an extra u32 input, one entry per k-step) plus a part that depends on
   * n4 alone, from parameters `imgStride`, `rowStride` (the copies' texels per image, per
   * output row), `imgTexels` (OH·OW4) and `ow4`. Needs the 'nchw' layout.
   */
  shifted?: { width: number };
  /**
   * B read from the convolution's input itself (stride-1, undilated convolutions over rows
   * a multiple of 4 wide; kernels/conv2d/window-conv.ts) instead of from shifted copies: a
   * flat texture `width` texels wide, texel (plane·H + y)·W4 + q = x[plane, y, 4q … 4q+3]
   * for the chunk's images. The K loop walks (ci, ky) and unrolls kx: the texels of one
   * input row that the output texel's KW windows touch are loaded once (zero outside the
   * image), and each kx's B vec4 is a lane shift of two of them; an invocation's T output
   * texels are a column (T output rows), so each input row loaded serves KH of them.
   * Parameters `inC`, `inH`, `inW4` (C, H, W/4), `perImage` (⌈OH/T⌉·OW4), `ow4`,
   * `invocations` (images·⌈OH/T⌉·OW4), `oh`. Needs 'nchw'.
   */
  window?: { width: number; kh: number; kw: number; ph: number; pw: number };
  /**
   * Max pooling 2×2, stride 2 of the (activated) output in the store epilogue, for the window
   * GEMM with T even and OH even: an invocation's 4 × 4T pixels of a channel reduce to 2 × 2T
   * pooled pixels, stored as T/2 rows of one vec2 (C bound as vec2s, [images, M, OH/2, OW/2]),
   * so a quarter of the floats reach memory and no separate pooling pass reads them back.
   * NaN propagates as in the pooling kernel (kernels/pool2d.ts).
   */
  pool?: boolean;
  /**
   * Store each 4-column texel of C as one vec4 (C bound as vec4s): set by runTextureGemm when
   * N (and for 'nchw' the pixels an image, P) is a multiple of 4, so the 4 columns are
   * consecutive and 4-aligned in memory. A quarter of the stores, each of which llvmpipe
   * issues lane by lane.
   */
  vec4Store?: boolean;
  /**
   * Workgroup rows (along m; 64 invocations in all): set by runTextureGemm to the number of
   * row blocks, up to 8, so that narrow outputs (16 or 32 channels) leave no idle rows; 1 for
   * the window GEMM.
   */
  wgY?: number;
}

const WG_SIZE = 64;

function toTexture(rt: GpuRuntime, src: GpuStorage, L: number, K: number, sL: number, sK: number): GpuTexture {
  const tex = operandTexture(rt, src, L, K, sL, sK);
  if (!tex) throw new Error(`internal: matmul operand ${L}×${K} does not fit a texture`);
  return tex;
}

/** The named parameters of a config: m, k, n, then those of its layout and B operand (see above). */
export function textureGemmParams(c: Pick<TextureGemmConfig, 'layout' | 'shifted' | 'window'>): ParamDecl {
  const names = ['m', 'k', 'n'];
  if (c.layout === 'nchw') names.push('p', 'img0');
  if (c.shifted) names.push('imgStride', 'rowStride', 'imgTexels', 'ow4');
  if (c.window) names.push('inC', 'inH', 'inW4', 'perImage', 'ow4', 'invocations', 'oh');
  return names.map((n) => [n, 'u32'] as const);
}

export const textureGemmProgram = programFamily('matmul:texture', (c: TextureGemmConfig) => {
  const rs = Array.from({ length: c.r }, (_, i) => i);
  const ts = Array.from({ length: c.t }, (_, i) => i);
  const { bias, relu } = c.epilogue;
  const nchw = c.layout === 'nchw';
  const acc = (r: number, t: number, i: number) => `c${r}_${t}_${i}`;
  // Stores go column by column: the column's part of the address (for 'nchw' the image
  // and pixel, split by udiv's float division) is worked out once for the 4R rows it
  // feeds, not once per element.
  // Output texel t of this invocation: n0 + t, or for the window GEMM (a column of texels) nt{t}.
  const texelOf = (t: number) => (c.window ? `nt${t}` : `(n0 + ${t}u)`);
  const scalarStore = (t: number) => [0, 1, 2, 3].map((j) => `
  { let n = ${texelOf(t)} * 4u + ${j}u;
    if (n < N) {
      ${nchw ? 'let img = udiv(n, PIX); let col = (IMG0 + img) * M * PIX + (n - img * PIX);' : 'let col = n;'}
${rs.flatMap((r) => [0, 1, 2, 3].map((i) => `      { let m = (m0 + ${r}u) * 4u + ${i}u;
        if (m < M) {
          var v = ${acc(r, t, i)}[${j}]${bias ? ` + Bias[${nchw ? 'm' : 'n'}]` : ''};
          ${relu ? 'v = max(v, 0.0);' : ''}
          C[${nchw ? 'col + m * PIX' : 'm * N + col'}] = v;
        } }`)).join('\n')}
    } }`).join('');
  // vec4 stores (in vec4 units): the texel's 4 columns are whole and consecutive.
  const vec4Store = (t: number) => `
  { let n4i = ${texelOf(t)};
    if (n4i < n4) {
      ${nchw ? 'let n = n4i * 4u; let img = udiv(n, PIX); let col = ((IMG0 + img) * M * PIX + (n - img * PIX)) / 4u; let P4 = PIX / 4u;' : 'let col = n4i; let N4 = N / 4u;'}
      ${bias && !nchw ? 'let bn = vec4<f32>(Bias[n4i * 4u], Bias[n4i * 4u + 1u], Bias[n4i * 4u + 2u], Bias[n4i * 4u + 3u]);' : ''}
${rs.flatMap((r) => [0, 1, 2, 3].map((i) => `      { let m = (m0 + ${r}u) * 4u + ${i}u;
        if (m < M) {
          var v = ${acc(r, t, i)}${bias ? (nchw ? ' + Bias[m]' : ' + bn') : ''};
          ${relu ? 'v = max(v, vec4<f32>(0.0));' : ''}
          C[${nchw ? 'col + m * P4' : 'm * N4 + col'}] = v;
        } }`)).join('\n')}
    } }`;
  // Pooled stores: rows 2j and 2j + 1 of the invocation's column of texels make pooled row
  // oy0/2 + j; the texel's columns (0, 1) and (2, 3) make its two pooled columns, a vec2 at
  // pooled-row offset ox4. Candidates in the pooling kernel's order (row by row, left first).
  const poolStore = (j: number) => `
  if (oy0 + ${2 * j}u < OH) {
    let prow = ((IMG0 + at.x) * M) * (PIX / 8u) + (oy0 / 2u + ${j}u) * P.ow4 + at.z;
${rs.flatMap((r) => [0, 1, 2, 3].map((i) => `    { let m = (m0 + ${r}u) * 4u + ${i}u;
      if (m < M) {
        var top = ${acc(r, 2 * j, i)}${bias ? ' + Bias[m]' : ''}; var bot = ${acc(r, 2 * j + 1, i)}${bias ? ' + Bias[m]' : ''};
        ${relu ? 'top = max(top, vec4<f32>(0.0)); bot = max(bot, vec4<f32>(0.0));' : ''}
        var best = top.xz;
        best = pick2(best, top.yw); best = pick2(best, bot.xz); best = pick2(best, bot.yw);
        C[prow + m * (PIX / 8u)] = best;
      } }`)).join('\n')}
  }`;
  if (c.pool && (!c.window || c.t % 2 !== 0)) throw new Error('internal: the pooled store needs the window GEMM with T even');
  const stores = c.pool ? Array.from({ length: c.t / 2 }, (_, j) => poolStore(j)) : ts.map((t) => (c.vec4Store ? vec4Store : scalarStore)(t));
  const shifted = c.shifted;
  const win = c.window;
  if (win && !nchw) throw new Error('internal: the window GEMM needs the nchw layout');
  if (shifted && !nchw) throw new Error('internal: the shifted-copies GEMM needs the nchw layout');
  const aLoads = rs.map((r) => `    let a${r} = textureLoad(AT, vec2<u32>(am${r}, p), 0);`).join('\n');
  const fmas = rs.flatMap((r) => ts.flatMap((t) => [0, 1, 2, 3].map((i) => `    ${acc(r, t, i)} += a${r}.${'xyzw'[i]} * b${t};`))).join('\n');
  const loop = win ? windowLoop(win, rs, ts, acc) : shifted
    ? `${ts.map((t) => `  let v${t} = shiftedBase(bn${t});`).join('\n')}
  for (var p = 0u; p < K; p++) {
    let u = Offsets[p];
${aLoads}
${ts.map((t) => `    let b${t} = textureLoad(BT, ${flatCoord(`u + v${t}`, shifted.width)}, 0);`).join('\n')}
${fmas}
  }`
    : `  for (var p = 0u; p < K; p++) {
${aLoads}
${ts.map((t) => `    let b${t} = textureLoad(BT, vec2<u32>(bn${t}, p), 0);`).join('\n')}
${fmas}
  }`;
  const wgY = c.wgY ?? 8;
  const shiftedHelpers = shifted ? `
// The shifted copies' texel index of output texel n4 at k-step (0, 0, 0).
fn shiftedBase(n4: u32) -> u32 {
  let img = udiv(n4, P.imgTexels); let rest = n4 - img * P.imgTexels;
  let oy = udiv(rest, P.ow4); let ox4 = rest - oy * P.ow4;
  return img * P.imgStride + oy * P.rowStride + ox4;
}` : '';
  return {
    inputs: [{ name: 'AT', type: 'texture_2d<f32>' }, { name: 'BT', type: 'texture_2d<f32>' }, ...(bias ? [{ name: 'Bias' }] : []), ...(shifted ? [{ name: 'Offsets', type: 'array<u32>' }] : [])],
    outputs: [{ name: 'C', type: c.pool ? 'array<vec2<f32>>' : c.vec4Store ? 'array<vec4<f32>>' : 'array<f32>' }],
    workgroupSize: [WG_SIZE / wgY, wgY],
    params: textureGemmParams(c),
    body: () => `${nchw ? udivWgsl : ''}${shiftedHelpers}${win ? windowHelpers : ''}${c.pool ? `\n${maxPickWgsl('pick2', 'vec2<f32>')}` : ''}
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let M = P.m; let K = P.k; let N = P.n;${nchw ? ' let PIX = P.p; let IMG0 = P.img0;' : ''}
  let m4 = (M + 3u) / 4u; let n4 = (N + 3u) / 4u;
  let m0 = gid.y * ${c.r}u; let n0 = gid.x * ${c.t}u;
  if (m0 >= m4 || ${c.window ? 'gid.x >= P.invocations' : 'n0 >= n4'}) { return; }
${rs.map((r) => `  let am${r} = min(m0 + ${r}u, m4 - 1u);`).join('\n')}
${ts.map((t) => `  let bn${t} = min(n0 + ${t}u, n4 - 1u);`).join('\n')}
${rs.flatMap((r) => ts.flatMap((t) => [0, 1, 2, 3].map((i) => `  var ${acc(r, t, i)} = vec4<f32>(0.0);`))).join('\n')}
${loop}
${stores.join('\n')}
}`,
  };
}, (c) => (c.pool ? { ...c, vec4Store: undefined } : c));

// Invocation → (image in the chunk, block of output rows, output column texel).
const windowHelpers = `
fn windowAt(g: u32) -> vec3<u32> {
  let img = udiv(g, P.perImage); let rest = g - img * P.perImage;
  let rb = udiv(rest, P.ow4);
  return vec3<u32>(img, rb, rest - rb * P.ow4);
}`;

/**
 * The window GEMM's K loop. An invocation owns T output texels stacked vertically (rows
 * oy0 … oy0+T−1 of one column texel ox4), which read input rows oy0 − ph … oy0 − ph +
 * T + KH − 2: each such row's texels are loaded once per input channel and serve every
 * (output row, ky) pair that reads it. Output texel column ox4 covers input columns
 * 4·ox4 + s … + 3 for s = kx − pw: texel offsets d = ⌊s/4⌋ and, unless s is a multiple
 * of 4, d + 1, for every kx together dLo … dHi.
 */
function windowLoop(win: NonNullable<TextureGemmConfig['window']>, rs: number[], ts: number[], acc: (r: number, t: number, i: number) => string): string {
  const shifts = Array.from({ length: win.kw }, (_, kx) => kx - win.pw);
  const dLo = Math.floor(shifts[0]! / 4);
  const dHi = Math.max(...shifts.map((s) => Math.floor(s / 4) + (s % 4 === 0 ? 0 : 1)));
  const ds = Array.from({ length: dHi - dLo + 1 }, (_, i) => dLo + i);
  const rows = Array.from({ length: ts.length + win.kh - 1 }, (_, i) => i);
  const dName = (d: number) => (d < 0 ? `m${-d}` : `${d}`);
  const offset = (d: number) => (d < 0 ? ` - ${-d}u` : d > 0 ? ` + ${d}u` : '');
  const lanes = ['x', 'y', 'z', 'w'];
  // Texel column q + d must lie in the input row (else it is padding: zero). q itself does unless the
  // output rows are longer than the input's (2·pw > kw − 1, e.g. kw 5, pw 4): then the last output
  // texels' column q is past the row too, and reading it would take the next row's first texels.
  const outputWider = 2 * win.pw > win.kw - 1;
  const inRow = (d: number) => (d === 0 ? (outputWider ? ' && q < i32(inW4)' : '') : ` && u32(q + ${d}) < inW4`);
  const compose = (row: number, s: number) => {
    const d = Math.floor(s / 4), m = s - 4 * d;
    if (m === 0) return `e${row}_${dName(d)}`;
    const parts = [0, 1, 2, 3].map((j) => (m + j < 4 ? `e${row}_${dName(d)}.${lanes[m + j]}` : `e${row}_${dName(d + 1)}.${lanes[m + j - 4]}`));
    return `vec4<f32>(${parts.join(', ')})`;
  };
  const steps: string[] = [];
  for (let ky = 0; ky < win.kh; ky++) {
    shifts.forEach((s, kx) => steps.push(`
      {
${rs.map((r) => `        let a${r} = textureLoad(AT, vec2<u32>(am${r}, p0 + ${ky * win.kw + kx}u), 0);`).join('\n')}
${ts.map((t) => `        let b${t} = ${compose(t + ky, s)};`).join('\n')}
${rs.flatMap((r) => ts.flatMap((t) => [0, 1, 2, 3].map((i) => `        ${acc(r, t, i)} += a${r}.${lanes[i]} * b${t};`))).join('\n')}
      }`));
  }
  return `  let inC = P.inC; let inH = P.inH; let inW4 = P.inW4; let OH = P.oh;
  let at = windowAt(gid.x);
  let oy0 = at.y * ${ts.length}u;
${ts.map((t) => `  let nt${t} = select(n4, (at.x * OH + oy0 + ${t}u) * P.ow4 + at.z, oy0 + ${t}u < OH);`).join('\n')}
  // Texel of input row oy0 − ph, channel 0, column texel ox4 (u32 arithmetic wraps; rows outside are masked).
  let base = (at.x * inC * inH + oy0) * inW4 + at.z - ${win.ph}u * inW4;
  let iy0 = i32(oy0) - ${win.ph};
  let q = i32(at.z);
  for (var ci = 0u; ci < inC; ci++) {
    let p0 = ci * ${win.kh * win.kw}u;
    let u = base + ci * inH * inW4;
${rows.map((row) => `    let ok${row} = u32(iy0 + ${row}) < inH;
${ds.map((d) => `    let e${row}_${dName(d)} = select(vec4<f32>(0.0), textureLoad(BT, ${flatCoord(`u + ${row}u * inW4${offset(d)}`, win.width)}, 0), ok${row}${inRow(d)});`).join('\n')}`).join('\n')}
${steps.join('')}
  }`;
}

/** Whether one product of this geometry can run through textures on this device. */
export function textureGemmFits(g: MatmulGeometry, maxTextureDimension2D: number): boolean {
  const max = maxTextureDimension2D;
  return g.batch === 1 && g.k >= 1 && g.k <= max && Math.ceil(g.m / 4) <= max && Math.ceil(g.n / 4) <= max;
}

export function textureGemm(rt: GpuRuntime, a: GpuStorage, b: GpuStorage, g: MatmulGeometry, bias: GpuStorage | null, c: TextureGemmConfig, out: GpuStorage): void {
  const { m, k, n } = g;
  // op(A)[m, p]: A stored [m, k] (or [k, m] when transposed); op(B)ᵀ[n, p]: B stored [k, n] (or [n, k]).
  const at = toTexture(rt, a, m, k, g.transA ? 1 : k, g.transA ? m : 1);
  const bt = toTexture(rt, b, n, k, g.transB ? k : 1, g.transB ? 1 : n);
  runTextureGemm(rt, c, at, bt, bias, out, { m, k, n });
  rt.releaseTexture(at);
  rt.releaseTexture(bt);
}

/** One dispatch over operand textures already built; `params` by `textureGemmParams(c)`. */
export function runTextureGemm(rt: GpuRuntime, c: TextureGemmConfig, at: GpuTexture, bt: GpuTexture, bias: GpuStorage | null, out: GpuStorage, params: Record<string, number>, offsets?: GpuStorage): void {
  const { m, n } = params as { m: number; n: number };
  const vec4Store = n % 4 === 0 && (c.layout !== 'nchw' || params.p! % 4 === 0);
  const rowBlocks = Math.ceil(Math.ceil(m / 4) / c.r);
  // The window GEMM keeps a workgroup on one channel block (64 output columns): with 4 channel
  // blocks a workgroup, a 3 → 64 conv measured 5-10 % slower; wider convs were indifferent.
  const wgY = c.window ? 1 : Math.min(8, 2 ** Math.floor(Math.log2(rowBlocks)));
  const wgX = WG_SIZE / wgY;
  const columns = c.window ? params.invocations! : Math.ceil(Math.ceil(n / 4) / c.t);
  rt.run(textureGemmProgram({ ...c, vec4Store, wgY }), [at, bt, ...(bias ? [bias] : []), ...(offsets ? [offsets] : [])], [out], params,
    [Math.ceil(columns / wgX), Math.ceil(rowBlocks / wgY), 1]);
}
