/**
 * Masks against torch.nn.utils.prune (test/fixtures/torch_prune.json, made by
 * scripts/gen_prune_fixtures.py): l1Unstructured, lnStructured (n = 1, 2; dim
 * 0, 1, −1, 2; fractional and integer amounts), globalUnstructured and repeated
 * pruning, replayed call by call on the CPU reference backend.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../index.js';
import { Conv2d, Linear, type Module } from '../nn/index.js';
import { type Amount, getMask, globalUnstructured, l1Unstructured, lnStructured } from '../pruning/index.js';

interface Data { shape: number[]; data: number[] }
interface Call { fn: string; layer?: number; layers?: number[]; amount: number; amount_is_int: boolean; n?: number; dim?: number }
interface Case { name: string; layers: Array<Data & { kind: 'linear' | 'conv2d' }>; calls: Call[]; masks: Data[] }

const fixtures = JSON.parse(readFileSync(new URL('./fixtures/torch_prune.json', import.meta.url), 'utf8')) as { cases: Case[] };

beforeAll(async () => {
  await wg.init({ backend: 'cpu' });
});
afterAll(() => wg.shutdown());

function build(l: Case['layers'][number]): Module {
  const [o, i, kh, kw] = l.shape;
  const m = l.kind === 'linear' ? new Linear(i!, o!) : new Conv2d(i!, o!, [kh!, kw!]);
  m.parameter('weight')!.assign(wg.tensor(Float32Array.from(l.data), l.shape));
  return m;
}

/** torch's int/float distinction, made explicit. */
function amountOf(c: Call): Amount {
  return c.amount_is_int ? { count: c.amount } : { fraction: c.amount };
}

describe('masks equal torch.nn.utils.prune', () => {
  it('has the fixture cases', () => {
    expect(fixtures.cases.length).toBeGreaterThanOrEqual(30);
  });
  for (const c of fixtures.cases) {
    it(c.name, async () => {
      const mods = c.layers.map(build);
      for (const call of c.calls) {
        if (call.fn === 'l1_unstructured') await l1Unstructured(mods[call.layer!]!, 'weight', amountOf(call));
        else if (call.fn === 'ln_structured') await lnStructured(mods[call.layer!]!, 'weight', amountOf(call), call.n!, call.dim!);
        else if (call.fn === 'global_unstructured') await globalUnstructured(call.layers!.map((i) => [mods[i]!, 'weight'] as const), { amount: amountOf(call), method: 'l1' });
        else throw new Error(call.fn);
      }
      for (let j = 0; j < mods.length; j++) {
        const m = getMask(mods[j]!, 'weight');
        const got = m ? Array.from(await m.toArray()) : new Array<number>(c.masks[j]!.data.length).fill(1);
        expect(got, `mask of layer ${j}`).toEqual(c.masks[j]!.data);
      }
    });
  }

  it('plain numbers read like torch literals: integers are counts, others fractions', async () => {
    const c = fixtures.cases.find((x) => x.name === 'l1_linear_int7')!;
    const m = build(c.layers[0]!);
    await l1Unstructured(m, 'weight', 7);
    expect(Array.from(await getMask(m, 'weight')!.toArray())).toEqual(c.masks[0]!.data);
    const f = fixtures.cases.find((x) => x.name === 'l1_linear_0.3')!;
    const m2 = build(f.layers[0]!);
    await l1Unstructured(m2, 'weight', 0.3);
    expect(Array.from(await getMask(m2, 'weight')!.toArray())).toEqual(f.masks[0]!.data);
  });
});
