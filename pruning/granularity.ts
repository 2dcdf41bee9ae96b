/**
 * Granularity: the shape of what is pruned together. Every weight is seen
 * through its 2-D view [out, in·kh·kw] (the GEMM the dense and block-sparse
 * kernels run: row r = output unit r, columns ordered (in, kh, kw)).
 *
 *   'weight'        single entries (unstructured)
 *   'row'           rows of the 2-D view: one output unit's incoming weights
 *   'column'        columns of the 2-D view: one input position across all outputs
 *   'kernel'        one kh×kw kernel (conv weights only)
 *   'filter'        output channel / neuron (dim 0) — equals 'row'
 *   'channel'       input channel / feature (dim 1); for Linear equals 'column'
 *   { block: [bh, bw] }  bh×bw tiles of the 2-D view aligned to the grid
 *                   (rows i·bh…, columns j·bw…); edge tiles may be partial
 *   { nm: [n, m] }  N:M: at most n live weights in every m consecutive entries
 *                   of a row of the 2-D view (the GEMM's reduction, i.e. input,
 *                   dimension); a partial trailing group of g entries keeps ⌈g·n/m⌉
 */
export type Granularity =
  | 'weight' | 'row' | 'column' | 'kernel' | 'filter' | 'channel'
  | { block: readonly [number, number] }
  | { nm: readonly [number, number] };

export interface Grouping {
  /** Number of groups. */
  count: number;
  /** Group of each flat element index. */
  of: Int32Array;
  /** Elements per group. */
  sizes: Int32Array;
}

const NAMES = ['weight', 'row', 'column', 'kernel', 'filter', 'channel'] as const;

function posInt(v: number): boolean {
  return Number.isInteger(v) && v >= 1;
}

/** Parses 'weight' | 'row' | … | '4x4' | 'block4x4' | '2:4' (or an object) and checks it. */
export function parseGranularity(g: Granularity | string): Granularity {
  if (typeof g === 'string') {
    const s = g.trim().toLowerCase();
    if ((NAMES as readonly string[]).includes(s)) return s as Granularity;
    if (s === 'unstructured' || s === 'element') return 'weight';
    if (s === 'neuron' || s === 'output-channel' || s === 'out-channel') return 'filter';
    if (s === 'input-channel' || s === 'in-channel') return 'channel';
    const block = /^(?:block)?(\d+)x(\d+)$/.exec(s);
    if (block) return parseGranularity({ block: [Number(block[1]), Number(block[2])] });
    const nm = /^(?:nm)?(\d+):(\d+)$/.exec(s);
    if (nm) return parseGranularity({ nm: [Number(nm[1]), Number(nm[2])] });
    throw new Error(`unknown granularity '${g}' (expected ${NAMES.join(', ')}, a block like 4x4, or N:M like 2:4)`);
  }
  if (g && typeof g === 'object' && 'block' in g) {
    const [bh, bw] = g.block;
    if (!posInt(bh) || !posInt(bw)) throw new Error(`block granularity needs positive integer sizes, got ${JSON.stringify(g.block)}`);
    return { block: [bh, bw] };
  }
  if (g && typeof g === 'object' && 'nm' in g) {
    const [n, m] = g.nm;
    if (!posInt(m) || !Number.isInteger(n) || n < 0 || n > m) throw new Error(`N:M granularity needs integers 0 ≤ N ≤ M, M ≥ 1, got ${JSON.stringify(g.nm)}`);
    return { nm: [n, m] };
  }
  if ((NAMES as readonly unknown[]).includes(g)) return g;
  throw new Error(`unknown granularity ${JSON.stringify(g)}`);
}

export function granularityName(g: Granularity): string {
  if (typeof g === 'string') return g;
  if ('block' in g) return `${g.block[0]}x${g.block[1]}`;
  return `${g.nm[0]}:${g.nm[1]}`;
}

/** Whether whole neurons/channels/kernels go (the classifier head is excluded by default for these). */
export function isStructured(g: Granularity): boolean {
  return g === 'row' || g === 'column' || g === 'kernel' || g === 'filter' || g === 'channel';
}

export function isNM(g: Granularity): g is { nm: readonly [number, number] } {
  return typeof g === 'object' && 'nm' in g;
}

/** [rows, cols] of the 2-D view. */
export function view2d(shape: readonly number[]): [number, number] {
  const size = shape.reduce((a, b) => a * b, 1);
  const rows = shape.length === 0 ? 1 : shape[0]!;
  return [rows, rows === 0 ? 0 : size / rows];
}

function fromKeyFn(size: number, count: number, key: (i: number) => number): Grouping {
  const of = new Int32Array(size);
  const sizes = new Int32Array(count);
  for (let i = 0; i < size; i++) {
    const k = key(i);
    of[i] = k;
    sizes[k]!++;
  }
  return { count, of, sizes };
}

/** The groups of a parameter of `shape` at granularity `g` (for N:M: the groups of m consecutive entries). */
export function groupsFor(shape: readonly number[], granularity: Granularity | string, where = 'prune'): Grouping {
  const g = parseGranularity(granularity);
  const size = shape.reduce((a, b) => a * b, 1);
  if (g === 'weight') return fromKeyFn(size, size, (i) => i);
  if (shape.length < 2) throw new Error(`${where}: granularity '${granularityName(g)}' needs a parameter with at least 2 dims, got shape [${shape.join(', ')}]`);
  const [rows, cols] = view2d(shape);
  switch (g) {
    case 'row':
    case 'filter':
      return fromKeyFn(size, rows, (i) => Math.floor(i / cols));
    case 'column':
      return fromKeyFn(size, cols, (i) => i % cols);
    case 'channel': {
      const inner = cols / shape[1]!;
      return fromKeyFn(size, shape[1]!, (i) => Math.floor((i % cols) / inner));
    }
    case 'kernel': {
      if (shape.length !== 4) throw new Error(`${where}: granularity 'kernel' needs a conv weight [out, in, kh, kw], got shape [${shape.join(', ')}]`);
      const k = shape[2]! * shape[3]!;
      return fromKeyFn(size, size / k, (i) => Math.floor(i / k));
    }
    default:
      break;
  }
  if ('block' in g) {
    const [bh, bw] = g.block;
    const bc = Math.ceil(cols / bw);
    return fromKeyFn(size, Math.ceil(rows / bh) * bc, (i) => Math.floor(Math.floor(i / cols) / bh) * bc + Math.floor((i % cols) / bw));
  }
  const m = g.nm[1];
  const per = Math.ceil(cols / m);
  return fromKeyFn(size, rows * per, (i) => Math.floor(i / cols) * per + Math.floor((i % cols) / m));
}
