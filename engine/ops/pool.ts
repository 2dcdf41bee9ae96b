/** 2-D max and average pooling (NCHW) with PyTorch's padding rules. */
import type { Pool2dGeometry } from '../backend.js';
import { fmtShape } from '../shape.js';
import { commonBackend, isGradEnabled, makeResult, type Tensor } from '../tensor.js';
import { outSize, pair, type Pair } from './sliding-window.js';

export interface Pool2dOptions {
  /** Defaults to the kernel size. */
  stride?: Pair;
  padding?: Pair;
}

/** The pooling of an input of `shape` [N, C, H, W] (validated; errors name `op`). */
export function poolGeometry(op: string, shape: readonly number[], kernel: Pair, o: Pool2dOptions): Pool2dGeometry {
  if (shape.length !== 4) throw new Error(`${op}: input must be 4-D [N, C, H, W], got ${fmtShape(shape)}`);
  const [n, c, h, w] = shape as [number, number, number, number];
  const [kh, kw] = pair(op, 'kernel size', kernel, 1);
  const [sh, sw] = pair(op, 'stride', o.stride ?? [kh, kw], 1);
  const [ph, pw] = pair(op, 'padding', o.padding ?? 0, 0);
  if (ph > kh / 2 || pw > kw / 2) throw new Error(`${op}: padding ${ph}x${pw} must be at most half the kernel ${kh}x${kw}`);
  const oh = outSize(h, kh, sh, ph, 1), ow = outSize(w, kw, sw, pw, 1);
  if (oh < 1 || ow < 1) throw new Error(`${op}: kernel ${kh}x${kw} is larger than the padded input of ${fmtShape(shape)}`);
  return { n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow };
}

export function maxPool2d(x: Tensor, kernel: Pair, options: Pool2dOptions = {}): Tensor {
  const backend = commonBackend('maxPool2d', [x]);
  const g = poolGeometry('maxPool2d', x.shape, kernel, options);
  // The indices are only needed for backward: not computed when no gradient will flow.
  const { out, argmax } = backend.maxPool2d(x.storageFor('maxPool2d'), g, isGradEnabled() && x.requiresGrad);
  if (!argmax) return makeResult('maxPool2d', backend, out, [g.n, g.c, g.oh, g.ow], []);
  const indices = makeResult('maxPool2d indices', backend, argmax, [g.n, g.c, g.oh, g.ow], []);
  const y = makeResult('maxPool2d', backend, out, [g.n, g.c, g.oh, g.ow], [x], (gy) => [
    makeResult('maxPool2d grad', backend, backend.maxPool2dGrad(gy.storageFor('maxPool2d backward'), indices.storageFor('maxPool2d backward'), g), x.shape, []),
  ]);
  y.own(indices);
  return y;
}

export function avgPool2d(x: Tensor, kernel: Pair, options: Pool2dOptions & { countIncludePad?: boolean } = {}): Tensor {
  const backend = commonBackend('avgPool2d', [x]);
  const g = poolGeometry('avgPool2d', x.shape, kernel, options);
  const inc = options.countIncludePad ?? true;
  return makeResult('avgPool2d', backend, backend.avgPool2d(x.storageFor('avgPool2d'), g, inc), [g.n, g.c, g.oh, g.ow], [x], (gy) => [
    makeResult('avgPool2d grad', backend, backend.avgPool2dGrad(gy.storageFor('avgPool2d backward'), g, inc), x.shape, []),
  ]);
}
