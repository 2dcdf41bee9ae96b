/**
 * Running one matmul plan on the WebGPU runtime and checking it against a float64 reference:
 * shapes as compact specs, operands drawn at random, every element within 1e-5 of Σ|a·b|.
 */
import { expect } from 'vitest';
import type { MatmulGeometry } from '../../gpu/types.js';
import { Generator } from '../../engine/random.js';
import type { GpuRuntime, GpuStorage } from '../../gpu/runtime.js';
import { matmul, matmulWith, planPrograms, type MatmulPlan } from '../../kernels/matmul.js';

export type Spec = { batch?: number; m: number; k: number; n: number; transA?: boolean; transB?: boolean; broadcast?: 'a' | 'b' };
export type Epilogue = { bias?: boolean; relu?: boolean };

export function geometry(s: Spec): MatmulGeometry {
  const batch = s.batch ?? 1;
  return {
    batch, m: s.m, k: s.k, n: s.n, transA: !!s.transA, transB: !!s.transB,
    aBatchStride: s.broadcast === 'a' ? 0 : s.m * s.k, bBatchStride: s.broadcast === 'b' ? 0 : s.k * s.n,
  };
}

/** float64 reference with either layout, plus Σ|a·b| per element for the tolerance. */
export function reference(a: Float32Array, b: Float32Array, g: MatmulGeometry, bias: Float32Array | null, relu: boolean): { out: Float64Array; mag: Float64Array } {
  const { batch, m, k, n } = g;
  const out = new Float64Array(batch * m * n), mag = new Float64Array(batch * m * n);
  for (let z = 0; z < batch; z++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let acc = 0, abs = 0;
        for (let p = 0; p < k; p++) {
          const av = a[z * g.aBatchStride + (g.transA ? p * m + i : i * k + p)]!;
          const bv = b[z * g.bBatchStride + (g.transB ? j * k + p : p * n + j)]!;
          acc += av * bv;
          abs += Math.abs(av * bv);
        }
        if (bias) acc += bias[j]!;
        const o = (z * m + i) * n + j;
        out[o] = relu ? Math.max(acc, 0) : acc;
        mag[o] = abs + (bias ? Math.abs(bias[j]!) : 0);
      }
  return { out, mag };
}

/** Runs specs against the reference on one runtime; storages are released after each check. */
export class MatmulChecker {
  private readonly rng: Generator;

  constructor(private readonly rt: () => GpuRuntime, seed = 1234) {
    this.rng = new Generator(seed);
  }

  private randn(size: number): Float32Array {
    const a = new Float32Array(size);
    for (let i = 0; i < size; i++) a[i] = this.rng.normal();
    return a;
  }

  /** Runs `plan` (or the automatic plan when null) on the spec and compares every element. */
  async check(s: Spec, plan: MatmulPlan | null, epi: Epilogue = {}, label = ''): Promise<void> {
    const rt = this.rt();
    const g = geometry(s);
    const aLen = s.broadcast === 'a' ? s.m * s.k : g.batch * s.m * s.k;
    const bLen = s.broadcast === 'b' ? s.k * s.n : g.batch * s.k * s.n;
    const a = this.randn(aLen), b = this.randn(bLen);
    const bias = epi.bias ? this.randn(s.n) : null;
    const live: GpuStorage[] = [];
    const track = (x: GpuStorage) => (live.push(x), x);
    try {
      const ga = track(rt.upload(a)), gb = track(rt.upload(b));
      const gbias = bias ? track(rt.upload(bias)) : null;
      const e = { bias: gbias, relu: !!epi.relu };
      const out = track(plan ? matmulWith(rt, plan, ga, gb, g, e) : matmul(rt, ga, gb, g, e));
      const got = await rt.read(out);
      const { out: want, mag } = reference(a, b, g, bias, !!epi.relu);
      const what = `${label ? `${label} ` : ''}${JSON.stringify(s)} ${plan ? planPrograms(plan, epi).map((p) => p.key).join(' + ') : 'auto'} ${JSON.stringify(epi)}`;
      expect(got.length, what).toBe(want.length);
      for (let i = 0; i < want.length; i++) {
        if (!(Math.abs(got[i]! - want[i]!) <= 1e-5 * mag[i]! + 1e-5)) expect.fail(`${what}: element ${i} is ${got[i]}, expected ${want[i]}`);
      }
    } finally {
      for (const x of live) rt.release(x);
    }
  }
}
