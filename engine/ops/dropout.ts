/** Inverted dropout: zeroes elements with probability p and scales survivors by 1/(1−p). */
import { defaultGenerator, type Generator } from '../random.js';
import { commonBackend, Tensor } from '../tensor.js';
import { mul } from './elementwise.js';

export function dropout(x: Tensor, p = 0.5, training = true, generator: Generator = defaultGenerator): Tensor {
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout: probability must be in [0, 1], got ${p}`);
  if (!training || p === 0) return mul(x, 1);
  const backend = commonBackend('dropout', [x]);
  const scale = p === 1 ? 0 : 1 / (1 - p);
  const mask = new Float32Array(x.size);
  for (let i = 0; i < mask.length; i++) mask[i] = generator.uniform() >= p ? scale : 0;
  return mul(x, Tensor.fromStorage(backend, backend.upload(mask), x.shape));
}
