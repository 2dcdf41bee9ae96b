/**
 * Where a model's forward time goes, layer by layer:
 *
 *   const rows = await layerTimes(model, input, [256, 1, 28, 28]);   // [{ name, type, ms }, …]
 *
 * Each leaf module (the children of Sequential containers, recursively) runs on the previous
 * leaf's output and is timed alone with the measuring protocol (`measure`); the median is
 * reported in milliseconds. A leaf's time includes one device sync, so the sum is a little above
 * the whole model's latency: the shares are the point — which layers shrink with pruning and
 * which do not. Only chains of Sequential containers can be split this way (a residual block's
 * branches cannot be run one leaf after another): anything else is refused naming the module.
 */
import { noGrad, sync, type Tensor, tensor, tidy } from '../engine/internal.js';
import { Conv2d, Linear, type Module, Sequential } from '../nn/index.js';
import { measure, type ProtocolOptions } from './timing.js';

export interface LayerTime {
  /** Dotted module name. */
  name: string;
  /** Module type, with what an inference fusion folded into it (e.g. 'Conv2d+ReLU+MaxPool2d'). */
  type: string;
  /** Median milliseconds per forward of this layer alone. */
  ms: number;
}

function leaves(m: Module, prefix: string): Array<[string, Module]> {
  if (m instanceof Sequential) return [...m.namedChildren()].flatMap(([n, c]) => leaves(c, prefix ? `${prefix}.${n}` : n));
  if (m.children().length > 0) throw new Error(`layerTimes: '${prefix || '(model)'}' is a ${m.typeName()} with children; only Sequential chains can be timed layer by layer`);
  return [[prefix, m]];
}

/** The module's type, with what a fusion folded into it. */
export function fusedTypeName(m: Module): string {
  const type = m.typeName();
  if (!(m instanceof Conv2d || m instanceof Linear)) return type;
  return `${type}${m.activation === 'relu' ? '+ReLU' : ''}${m instanceof Conv2d && m.maxPool ? '+MaxPool2d' : ''}`;
}

export async function layerTimes(model: Module, input: Float32Array, shape: readonly number[], protocol: Partial<ProtocolOptions> = {}): Promise<LayerTime[]> {
  const list = leaves(model, '');
  model.eval();
  const out: LayerTime[] = [];
  // Every intermediate lives to the end: a layer's output may be a view of its input.
  const acts: Tensor[] = [tensor(input, [...shape])];
  try {
    for (const [name, layer] of list) {
      const x = acts[acts.length - 1]!;
      const { results } = await measure({ layer: () => noGrad(() => tidy(() => void layer.forward(x))) }, { ...protocol, sync: () => sync() });
      out.push({ name, type: fusedTypeName(layer), ms: results.layer.median * 1e3 });
      acts.push(noGrad(() => layer.forward(x)));
    }
  } finally {
    for (const t of acts) t.dispose();
  }
  return out;
}
