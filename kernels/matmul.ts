/**
 * Batched matmul, one output element per thread, with either operand stored
 * transposed (so backward passes need no materialised transposes). Correct and
 * simple; the tiled, register-blocked kernels arrive with the dense-kernel issue.
 */
import type { MatmulGeometry } from '../engine/backend.js';
import type { GpuRuntime, GpuStorage } from '../engine/webgpu/runtime.js';
import type { Program } from './program.js';

const TILE = 16;

function naiveProgram(): Program {
  return {
    key: 'matmul:naive',
    inputs: [{ name: 'A' }, { name: 'B' }],
    outputs: [{ name: 'C' }],
    workgroupSize: [TILE, TILE],
    // params: m, k, n, aRow, aCol, bRow, bCol, aBatch, bBatch
    body: () => `
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m = pu(0u); let k = pu(1u); let n = pu(2u);
  let row = gid.y; let col = gid.x; let b = gid.z;
  if (row >= m || col >= n) { return; }
  var a = b * pu(7u) + row * pu(3u);
  var bb = b * pu(8u) + col * pu(6u);
  let aStep = pu(4u); let bStep = pu(5u);
  var acc = 0.0;
  for (var p = 0u; p < k; p++) {
    acc += A[a] * B[bb];
    a += aStep;
    bb += bStep;
  }
  C[(b * m + row) * n + col] = acc;
}`,
  };
}

export function matmul(rt: GpuRuntime, a: GpuStorage, b: GpuStorage, g: MatmulGeometry): GpuStorage {
  const { batch, m, k, n } = g;
  const out = rt.alloc(batch * m * n);
  const params = [
    m, k, n,
    g.transA ? 1 : k, g.transA ? m : 1,
    g.transB ? k : n, g.transB ? 1 : n,
    g.aBatchStride, g.bBatchStride,
  ];
  // params[3] = A row stride, [4] = A step along k, [5] = B step along k, [6] = B column stride
  const [aRow, aK] = g.transA ? [1, m] : [k, 1];
  const [bK, bCol] = g.transB ? [1, k] : [n, 1];
  params.splice(3, 4, aRow, aK, bK, bCol);
  if (batch > rt.limits.maxComputeWorkgroupsPerDimension) throw new Error(`matmul: batch ${batch} exceeds the adapter's workgroup limit`);
  rt.run(naiveProgram(), [a, b], [out], params, [Math.ceil(n / TILE), Math.ceil(m / TILE), batch]);
  return out;
}
