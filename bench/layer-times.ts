/**
 * Where a model's forward time goes: each leaf module (a Sequential's children, recursively)
 * is run on the previous one's output and timed on its own with the measure/timing.ts
 * protocol, then the medians are summed per module type. A leaf's time includes one device
 * sync, so the sum is a little above the whole-model latency; the shares are the point:
 * they show which layers shrink with compaction and which do not.
 */
import { noGrad, sync, type Tensor, tensor, tidy } from '../engine/index.js';
import { Conv2d, Linear, type Module, Sequential } from '../nn/index.js';
import { measure, type ProtocolOptions } from '../measure/index.js';

/** Milliseconds per module type (Conv2d, BatchNorm2d, ReLU, …; Conv2d+ReLU(+MaxPool2d) for fused layers), in first-seen order. */
export type LayerTimes = Record<string, number>;

function leaves(m: Module): Module[] {
  return m instanceof Sequential ? m.children().flatMap(leaves) : [m];
}

/** The module's type, with what nn/fuse.ts fused into it (Conv2d+ReLU+MaxPool2d). */
function typeOf(m: Module): string {
  const type = m.constructor.name;
  if (!(m instanceof Conv2d || m instanceof Linear)) return type;
  return `${type}${m.activation === 'relu' ? '+ReLU' : ''}${m instanceof Conv2d && m.maxPool ? '+MaxPool2d' : ''}`;
}

export async function layerTimes(model: Module, input: Float32Array, shape: readonly number[], protocol: ProtocolOptions): Promise<LayerTimes> {
  model.eval();
  const out: LayerTimes = {};
  // Every intermediate lives to the end: a layer's output may be a view of its input.
  const acts: Tensor[] = [tensor(input, [...shape])];
  try {
    for (const layer of leaves(model)) {
      const x = acts[acts.length - 1]!;
      const t = (await measure({ layer: () => noGrad(() => tidy(() => void layer.forward(x))) }, { ...protocol, sync: () => sync() })).results.layer;
      const type = typeOf(layer);
      out[type] = (out[type] ?? 0) + t.median * 1e3;
      acts.push(noGrad(() => layer.forward(x)));
    }
  } finally {
    for (const t of acts) t.dispose();
  }
  return out;
}
