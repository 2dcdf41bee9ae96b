/**
 * The page's URL parameters.
 *
 *   ?quick=1        tiny shapes and a short protocol (seconds, even on a software adapter)
 *   ?peers=0        skip TF.js and ONNX Runtime Web (they run by default)
 *   ?need=NAME:MIN  also require the device limit NAME to be at least MIN (shows the "missing limit" message)
 *   ?lose=1         destroy the device in the middle of the sweep (shows the "device lost" message)
 *   ?tune=1         start tuning the kernels on load (the "Tune kernels on this adapter" button)
 *   ?tunematmul=MxKxN[,MxKxN…]  tune (and list the plans of) these plain matmuls instead of the page's problems
 */

export interface PageParams {
  quick: boolean;
  peers: boolean;
  /** Extra limit requirements given with ?need=. */
  need: Array<{ name: string; min: number }>;
  lose: boolean;
  tune: boolean;
  /** Plain matmuls (M, K, N) the tuning section covers instead of the page's problems. */
  tuneMatmuls: Array<[number, number, number]>;
}

/** `MxKxN,MxKxN` → shapes; anything malformed is skipped. */
export function parseMatmuls(text: string | null): Array<[number, number, number]> {
  if (!text) return [];
  return text.split(',').map((s) => s.trim().split('x').map(Number)).filter((d) => d.length === 3 && d.every((v) => Number.isInteger(v) && v > 0)) as Array<[number, number, number]>;
}

const truthy = (v: string | null) => v !== null && v !== '0' && v !== 'false' && v !== 'no';

export function readParams(search: string): PageParams {
  const q = new URLSearchParams(search);
  const need: PageParams['need'] = [];
  for (const spec of q.getAll('need')) {
    const [name, min] = spec.split(':');
    if (name && Number.isFinite(Number(min))) need.push({ name, min: Number(min) });
  }
  return {
    quick: truthy(q.get('quick')), peers: q.get('peers') === null ? true : truthy(q.get('peers')), need, lose: truthy(q.get('lose')),
    tune: truthy(q.get('tune')), tuneMatmuls: parseMatmuls(q.get('tunematmul')),
  };
}
