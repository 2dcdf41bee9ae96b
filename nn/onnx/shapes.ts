/** Output-size arithmetic shared by the ONNX importer and exporter (per-sample shapes, no batch axis). */

export type Shape = number[];

export const fmtShape = (s: readonly (number | string | null)[] | null) => (s ? `[${s.map((d) => d ?? '?').join(', ')}]` : '[?]');

/** Output length of a convolution or pooling window along one axis (floor or ceil mode). */
export function windowOut(size: number, k: number, stride: number, padBegin: number, padEnd: number, dilation = 1, ceil = false): number {
  const span = size + padBegin + padEnd - dilation * (k - 1) - 1;
  return (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
}

export const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
