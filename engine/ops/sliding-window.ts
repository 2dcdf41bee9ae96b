/** The window arithmetic that convolution and pooling share: (h, w) pairs and PyTorch's output size. */
export type Pair = number | readonly [number, number];

export function pair(op: string, name: string, v: Pair, min: number): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((x) => Number.isInteger(x) && x >= min)) throw new Error(`${op}: ${name} must be integers >= ${min}, got ${JSON.stringify(v)}`);
  return p;
}

/** PyTorch's output size: floor((in + 2p − d(k−1) − 1)/s) + 1. */
export function outSize(input: number, k: number, s: number, p: number, d: number): number {
  return Math.floor((input + 2 * p - d * (k - 1) - 1) / s) + 1;
}
