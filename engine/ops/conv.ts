/** 2-D convolution (NCHW, weights [oc, c, kh, kw]) with stride, padding and dilation. */
import type { Activation, Conv2dGeometry } from '../backend.js';
import { fmtShape } from '../shape.js';
import { commonBackend, isGradEnabled, makeResult, type Tensor } from '../tensor.js';
import { checkActivation, reluGradFromOutput } from './elementwise.js';
import { maxPool2d, poolGeometry, type Pool2dOptions } from './pool.js';
import { sum } from './reduce.js';
import { outSize, pair, type Pair } from './sliding-window.js';

export type { Pair } from './sliding-window.js';

/** A max pooling (torch.nn.MaxPool2d's kernel, stride, padding) fused after a convolution. */
export interface MaxPoolOptions extends Pool2dOptions {
  kernel: Pair;
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  /** Applied to the output inside the convolution kernel (after the bias): relu(conv2d(x)) in one pass. */
  activation?: Activation | null;
  /**
   * Max pooling of the (activated) output: maxPool2d(relu(conv2d(x))) in one call, for
   * inference — on WebGPU the convolution's plan can pool 2×2, stride 2 in its store epilogue
   * (kernels/conv2d/plan.ts, `window+pool` on CPU rasterizers), so the full-size output is never
   * written; every other case runs the pooling kernel after the convolution. When a gradient
   * will flow it is the two ops, conv2d then maxPool2d, with their usual backward passes.
   */
  maxPool?: MaxPoolOptions | null;
}

export function conv2dGeometry(x: Tensor, weight: Tensor, o: Conv2dOptions): Conv2dGeometry {
  if (x.rank !== 4) throw new Error(`conv2d: input must be 4-D [N, C, H, W], got ${fmtShape(x.shape)}`);
  if (weight.rank !== 4) throw new Error(`conv2d: weight must be 4-D [OC, C, KH, KW], got ${fmtShape(weight.shape)}`);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [oc, wc, kh, kw] = weight.shape as [number, number, number, number];
  if (wc !== c) throw new Error(`conv2d: input has ${c} channels but weight ${fmtShape(weight.shape)} expects ${wc}`);
  if (kh < 1 || kw < 1) throw new Error(`conv2d: the kernel must be at least 1x1, got ${kh}x${kw} in weight ${fmtShape(weight.shape)}`);
  const [sh, sw] = pair('conv2d', 'stride', o.stride ?? 1, 1);
  const [ph, pw] = pair('conv2d', 'padding', o.padding ?? 0, 0);
  const [dh, dw] = pair('conv2d', 'dilation', o.dilation ?? 1, 1);
  const oh = outSize(h, kh, sh, ph, dh), ow = outSize(w, kw, sw, pw, dw);
  if (oh < 1 || ow < 1) {
    throw new Error(`conv2d: kernel ${kh}x${kw} (dilation ${dh}x${dw}) is larger than the padded input ${h + 2 * ph}x${w + 2 * pw} of ${fmtShape(x.shape)}`);
  }
  return { n, c, h, w, oc, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow };
}

export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, options: Conv2dOptions = {}): Tensor {
  const inputs = bias ? [x, weight, bias] : [x, weight];
  const backend = commonBackend('conv2d', inputs);
  const g = conv2dGeometry(x, weight, options);
  const activation = checkActivation('conv2d', options.activation);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== g.oc)) throw new Error(`conv2d: bias ${fmtShape(bias.shape)} must be [${g.oc}]`);
  if (options.maxPool) {
    const { kernel, ...pool } = options.maxPool;
    const pg = poolGeometry('conv2d maxPool', [g.n, g.oc, g.oh, g.ow], kernel, pool);
    if (isGradEnabled() && inputs.some((t) => t.requiresGrad)) return maxPool2d(conv2d(x, weight, bias, { ...options, maxPool: null }), kernel, pool);
    const pooled = backend.conv2d(x.storageFor('conv2d'), weight.storageFor('conv2d'), bias ? bias.storageFor('conv2d') : null, g, activation, pg);
    return makeResult(activation ? 'conv2d+relu+maxPool2d' : 'conv2d+maxPool2d', backend, pooled, [pg.n, pg.c, pg.oh, pg.ow], []);
  }
  const storage = backend.conv2d(x.storageFor('conv2d'), weight.storageFor('conv2d'), bias ? bias.storageFor('conv2d') : null, g, activation);
  const op = activation ? 'conv2d+relu' : 'conv2d';
  const y: Tensor = makeResult(op, backend, storage, [g.n, g.oc, g.oh, g.ow], inputs, (gOut) => {
    // Through the fused ReLU first: the convolution's own output gradient.
    const gy = activation ? reluGradFromOutput(gOut, y) : gOut;
    const gs = gy.storageFor('conv2d backward');
    return [
      x.requiresGrad ? makeResult('conv2d grad', backend, backend.conv2dGradInput(gs, weight.storageFor('conv2d backward'), g), x.shape, []) : null,
      weight.requiresGrad ? makeResult('conv2d grad', backend, backend.conv2dGradWeight(x.storageFor('conv2d backward'), gs, g), weight.shape, []) : null,
      bias?.requiresGrad ? sum(gy, [0, 2, 3]) : null,
    ];
  });
  return y;
}
