/**
 * The page's URL parameters.
 *
 *   ?quick=1        tiny shapes and a short protocol (seconds, even on a software adapter)
 *   ?peers=0        skip TF.js and ONNX Runtime Web (they run by default)
 *   ?need=NAME:MIN  also require the device limit NAME to be at least MIN (shows the "missing limit" message)
 *   ?lose=1         destroy the device in the middle of the sweep (shows the "device lost" message)
 */
export interface PageParams {
  quick: boolean;
  peers: boolean;
  /** Extra limit requirements given with ?need=. */
  need: Array<{ name: string; min: number }>;
  lose: boolean;
}

const truthy = (v: string | null) => v !== null && v !== '0' && v !== 'false' && v !== 'no';

export function readParams(search: string): PageParams {
  const q = new URLSearchParams(search);
  const need: PageParams['need'] = [];
  for (const spec of q.getAll('need')) {
    const [name, min] = spec.split(':');
    if (name && Number.isFinite(Number(min))) need.push({ name, min: Number(min) });
  }
  return { quick: truthy(q.get('quick')), peers: q.get('peers') === null ? true : truthy(q.get('peers')), need, lose: truthy(q.get('lose')) };
}
