/**
 * Which traced channels are identically zero, for every input. Propagated in
 * forward order from the effective parameter values:
 *
 *   Conv2d / Linear output o   bias[o] = 0 (or no bias) and every weight reading a
 *                              channel that is not itself zero is 0
 *   BatchNorm channel c        γ[c] = β[c] = 0 (affine; exact in train and eval mode)
 *   ReLU, Tanh, pools, dropout, identity, flatten   zero in → zero out (Sigmoid: never)
 *   residual addition          zero when every operand is
 *   concatenation              channel by channel
 *
 * A filter pruned by `prune(..., { granularity: 'filter' })` has its weight row,
 * bias and following BatchNorm γ/β masked, so it reads as zero here; so does one
 * zeroed by hand, without masks.
 */
import type { Trace, WeightOp } from './trace.js';
import type { ParamCache } from './values.js';

function allZero(v: Float32Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (v[i] !== 0) return false;
  return true;
}

async function weightZeros(op: WeightOp, zero: Uint8Array, cache: ParamCache): Promise<void> {
  const w = (await cache.get(op.module, 'weight'))!;
  const b = await cache.get(op.module, 'bias');
  const rows = w.shape[0]!;
  const cols = w.effective.length / rows;
  const inCount = op.input ? op.input.length : 1;
  const span = cols / inCount;
  for (let o = 0; o < rows; o++) {
    let z = !b || b.effective[o] === 0;
    for (let i = 0; z && i < inCount; i++) {
      if (op.input && zero[op.input[i]!]) continue;
      const base = o * cols + i * span;
      z = allZero(w.effective, base, base + span);
    }
    zero[op.output[o]!] = z ? 1 : 0;
  }
}

/** One flag per slot: 1 when that channel is zero for every input. */
export async function zeroSlots(trace: Trace, cache: ParamCache): Promise<Uint8Array> {
  const zero = new Uint8Array(trace.slots.size);
  for (const op of trace.ops) {
    switch (op.kind) {
      case 'conv':
      case 'linear':
        await weightZeros(op, zero, cache);
        break;
      case 'norm': {
        if (!op.output) break;
        const g = await cache.get(op.module, 'weight');
        const b = await cache.get(op.module, 'bias');
        if (!g || !b) break;
        for (let c = 0; c < op.output.length; c++) {
          const from = c * op.repeat, to = from + op.repeat;
          zero[op.output[c]!] = allZero(g.effective, from, to) && allZero(b.effective, from, to) ? 1 : 0;
        }
        break;
      }
      case 'map':
        if (op.input && op.output && op.input !== op.output) for (let i = 0; i < op.output.length; i++) zero[op.output[i]!] = op.keepsZero ? zero[op.input[i]!]! : 0;
        break;
      case 'add':
        for (let i = 0; i < op.output.length; i++) zero[op.output[i]!] = op.inputs.every((s) => s !== null && zero[s[i]!]) ? 1 : 0;
        break;
      case 'concat': {
        let at = 0;
        for (const s of op.inputs) for (let i = 0; i < s.length; i++) zero[op.output[at++]!] = zero[s[i]!]!;
        break;
      }
    }
  }
  return zero;
}
