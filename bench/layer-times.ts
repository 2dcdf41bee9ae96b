/**
 * Time per module type (summed over a model's layers), from measure/'s per-layer timing: which
 * kinds of layer shrink with compaction and which do not.
 */
import type { Module } from '../nn/index.js';
import { layerTimes as perLayer, type ProtocolOptions } from '../measure/index.js';

/** Milliseconds per module type (Conv2d, BatchNorm2d, ReLU, …; Conv2d+ReLU(+MaxPool2d) for fused layers), in first-seen order. */
export type LayerTimes = Record<string, number>;

export async function layerTimes(model: Module, input: Float32Array, shape: readonly number[], protocol: ProtocolOptions): Promise<LayerTimes> {
  const out: LayerTimes = {};
  for (const { type, ms } of await perLayer(model, input, shape, protocol)) out[type] = (out[type] ?? 0) + ms;
  return out;
}
