/**
 * Row reductions: input [outer, inner] → [outer] (sum, max, min, argmax).
 * Short rows use one thread per row; long rows use one workgroup per row with a
 * tree reduction in workgroup memory; a few very long rows are split in two passes
 * (sum/max/min). max/min/argmax: first extreme wins, NaN wins.
 */
import type { ReduceOp } from '../gpu/types.js';
import type { GpuRuntime, GpuStorage } from '../gpu/runtime.js';
import { programFamily } from '../gpu/program.js';

const ROW_WG = 64;
const THREAD_WG = 128;
/** Rows at most this long are reduced by a single thread. */
const SHORT_ROW = 64;

/** WGSL for folding element (v, idx) into the accumulator (acc, accIdx). */
function combine(op: ReduceOp): string {
  if (op === 'sum') return 'acc = acc + v;';
  const better = op === 'min' ? 'v < acc' : 'v > acc';
  // NaN beats everything; among equals, and among NaNs, the lower index is kept (the
  // tree reduction meets candidates out of index order).
  const lower = 'idx < accIdx';
  return `if ((v != v && (acc == acc || ${lower})) || (acc == acc && (${better} || (v == acc && ${lower})))) { acc = v; accIdx = idx; }`;
}

function result(op: ReduceOp): string {
  return op === 'argmax' ? 'f32(accIdx)' : 'acc';
}

const init = (op: ReduceOp) => (op === 'sum' ? '0.0' : 'x[base]');

const threadPerRow = programFamily('reduce:thread', ({ op }: { op: ReduceOp }) => ({
  inputs: [{ name: 'x' }],
  outputs: [{ name: 'y' }],
  workgroupSize: [THREAD_WG],
  params: [['outer', 'u32'], ['inner', 'u32']],
  body: () => `
@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = linearIndex(gid, nwg);
  let inner = P.inner;
  if (row >= P.outer) { return; }
  let base = row * inner;
  var acc: f32 = ${init(op)};
  var accIdx: u32 = 0u;
  for (var idx = 0u; idx < inner; idx++) {
    let v = x[base + idx];
    ${combine(op)}
  }
  y[row] = ${result(op)};
}`,
}));

/**
 * One workgroup per segment of a row, tree-reduced in workgroup memory. A row is
 * one segment unless it is split (see `reduce`); output y[segment].
 * Parameters: segments, inner (row length), segment length, segments per row.
 */
const workgroupPerSegment = programFamily('reduce:workgroup', ({ op }: { op: ReduceOp }) => ({
  inputs: [{ name: 'x' }],
  outputs: [{ name: 'y' }],
  workgroupSize: [ROW_WG],
  params: [['segments', 'u32'], ['inner', 'u32'], ['segment', 'u32'], ['perRow', 'u32']],
  body: () => `
var<workgroup> sAcc: array<f32, ${ROW_WG}>;
var<workgroup> sIdx: array<u32, ${ROW_WG}>;
@compute @workgroup_size(WG_X)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let seg = wid.x + wid.y * nwg.x;
  let inner = P.inner;
  let live = seg < P.segments;
  let row = seg / P.perRow;
  let start = (seg % P.perRow) * P.segment;
  let end = min(inner, start + P.segment);
  let base = select(0u, row * inner, live);
  let first = min(start + lid, end - 1u);
  var acc: f32 = ${op === 'sum' ? '0.0' : 'x[base + first]'};
  var accIdx: u32 = first;
  if (live) {
    for (var idx = start + lid; idx < end; idx += WG_X) {
      let v = x[base + idx];
      ${combine(op)}
    }
  }
  sAcc[lid] = acc;
  sIdx[lid] = accIdx;
  workgroupBarrier();
  for (var stride = WG_X / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) {
      let v = sAcc[lid + stride];
      let idx = sIdx[lid + stride];
      acc = sAcc[lid];
      accIdx = sIdx[lid];
      ${combine(op)}
      sAcc[lid] = acc;
      sIdx[lid] = accIdx;
    }
    workgroupBarrier();
  }
  if (lid == 0u && live) {
    acc = sAcc[0];
    accIdx = sIdx[0];
    y[seg] = ${result(op)};
  }
}`,
}));

/** Rows at least this long are split over several workgroups when there are few rows. */
const SPLIT_ROW = 16384;
/** Elements per segment of a split row. */
const SEGMENT = 4096;

export function reduce(rt: GpuRuntime, op: ReduceOp, x: GpuStorage, outer: number, inner: number): GpuStorage {
  if (outer > 0 && op !== 'argmax' && inner >= SPLIT_ROW && outer < 256) {
    // Few long rows (e.g. a bias gradient: sum over N·H·W per channel) would occupy only
    // `outer` workgroups: reduce segments in parallel, then the per-row partials.
    const perRow = Math.ceil(inner / SEGMENT);
    const partial = rt.alloc(outer * perRow);
    rt.run(workgroupPerSegment({ op }), [x], [partial], { segments: outer * perRow, inner, segment: SEGMENT, perRow }, outer * perRow);
    const out = reduce(rt, op, partial, outer, perRow);
    rt.release(partial);
    return out;
  }
  const out = rt.alloc(outer);
  if (outer === 0) return out;
  if (inner <= SHORT_ROW) rt.run(threadPerRow({ op }), [x], [out], { outer, inner }, Math.ceil(outer / THREAD_WG));
  else rt.run(workgroupPerSegment({ op }), [x], [out], { segments: outer, inner, segment: inner, perRow: 1 }, outer);
  return out;
}
