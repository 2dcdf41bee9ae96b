/**
 * Compaction through every supported topology on small hand-built models:
 * BatchNorm2d/1d, Flatten → Linear, residual blocks (identity and projection
 * shortcuts), concatenation; the dependency graph's groups; and the errors for
 * what is not supported (the model left untouched). CPU reference backend.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Generator, init, mul, setBackend, shutdown, type Tensor } from '../engine/index.js';
import {
  AvgPool2d, BatchNorm1d, BatchNorm2d, Concat, Conv2d, Dropout, Flatten, Linear, MaxPool2d, Module, ReLU, Residual, Sequential, Sigmoid, Tanh,
} from '../nn/index.js';
import { buildDependencyGraph, compact, compactWithPlan, isPruned, prune, UnsupportedLayerError } from '../pruning/index.js';
import { expectSameOutputs, maskGroups, outputs, randomInput, randomizeBatchNorms, shapes, snapshot } from './helpers/compact.js';

beforeAll(async () => {
  await init({ backend: 'cpu' });
  setBackend('cpu');
});
afterAll(shutdown);

const conv = (i: number, o: number, k: number, g: Generator, stride = 1) => new Conv2d(i, o, k, { padding: (k - 1) / 2, stride, bias: false, generator: g });

/** A small ResNet: stem, an identity-shortcut block, a projection-shortcut block, global pool, head. Input [3, 8, 8]. */
function resnet(seed = 1): Sequential {
  const g = new Generator(seed);
  return new Sequential(
    ['stem', new Sequential(conv(3, 8, 3, g), new BatchNorm2d(8), new ReLU())],
    ['block1', new Residual(new Sequential(conv(8, 8, 3, g), new BatchNorm2d(8), new ReLU(), conv(8, 8, 3, g), new BatchNorm2d(8)))],
    ['relu1', new ReLU()],
    ['block2', new Residual(
      new Sequential(conv(8, 16, 3, g, 2), new BatchNorm2d(16), new ReLU(), conv(16, 16, 3, g), new BatchNorm2d(16)),
      new Sequential(conv(8, 16, 1, g, 2), new BatchNorm2d(16)),
    )],
    ['relu2', new ReLU()],
    ['pool', new AvgPool2d(4)],
    ['flatten', new Flatten()],
    ['fc', new Linear(16, 10, { generator: g })],
  );
}

/** Inception-style concatenation: a 1×1 branch, a 3×3 + BN branch and a max-pool branch (passes the stem's channels). Input [1, 6, 6]. */
function inception(seed = 2): Sequential {
  const g = new Generator(seed);
  return new Sequential(
    ['stem', new Conv2d(1, 4, 3, { padding: 1, generator: g })], ['relu', new ReLU()],
    ['mix', new Concat(
      new Sequential(new Conv2d(4, 4, 1, { generator: g }), new ReLU()),
      new Sequential(conv(4, 6, 3, g), new BatchNorm2d(6), new ReLU()),
      new MaxPool2d(3, { stride: 1, padding: 1 }),
    )],
    ['conv', new Conv2d(14, 6, 3, { generator: g })], ['relu2', new ReLU()],
    ['flatten', new Flatten()],
    ['fc', new Linear(6 * 4 * 4, 10, { generator: g })],
  );
}

/** An MLP with BatchNorm1d, Dropout and Tanh. Input [20]. */
function mlp(seed = 3): Sequential {
  const g = new Generator(seed);
  return new Sequential(
    new Linear(20, 16, { generator: g }), new BatchNorm1d(16), new ReLU(), new Dropout(0.3, { generator: g }),
    new Linear(16, 12, { generator: g }), new Tanh(),
    new Linear(12, 3, { generator: g }),
  );
}

describe('residual blocks', () => {
  it('the dependency graph couples the channels a residual addition joins', () => {
    const g = buildDependencyGraph(resnet(), { inputShape: [3, 8, 8] });
    const members = (layer: string, c: number) => g.groupOf(layer, c).members.map((m) => `${m.layer}:${m.role}:${m.index}`).sort();
    expect(members('block2.shortcut.0', 3)).toEqual([
      'block2.body.3:out:3', 'block2.body.4:channel:3', 'block2.shortcut.0:out:3', 'block2.shortcut.1:channel:3', 'fc:in:3',
    ].sort());
    expect(members('stem.0', 5)).toEqual([
      'block1.body.0:in:5', 'block1.body.3:out:5', 'block1.body.4:channel:5', 'block2.body.0:in:5', 'block2.shortcut.0:in:5',
      'stem.0:out:5', 'stem.1:channel:5',
    ].sort());
    expect(g.groupOf('block1.body.0', 2).members.map((m) => `${m.layer}:${m.role}`).sort()).toEqual(['block1.body.0:out', 'block1.body.1:channel', 'block1.body.3:in'].sort());
    expect(g.groupOf('fc', 0).pinned).toBe('model output');
    // Plus the 3 channels of the model input, pinned (read by the stem's columns).
    expect(g.groups().length).toBe(3 + 8 + 8 + 16 + 16 + 10);
    expect(g.groups().filter((x) => x.pinned === 'model input').length).toBe(3);
  });

  it('removes whole residual groups (shortcut conv, body conv, both BNs, head columns) with outputs unchanged', async () => {
    const model = resnet();
    randomizeBatchNorms(model);
    await maskGroups(model, [3, 8, 8], 'block2.shortcut.0', [1, 5, 6, 11]);
    await maskGroups(model, [3, 8, 8], 'stem.0', [0, 7]);
    await prune(model, { granularity: 'filter', sparsity: 0.5, layers: ['block1.body.0', 'block2.body.0'] });
    model.eval();
    for (const inputShape of [[3, 8, 8], undefined]) {
      const small = await compact(model, { inputShape });
      expect(shapes(small)).toMatchObject({
        'stem.0.weight': [6, 3, 3, 3], 'stem.1.running_var': [6],
        'block1.body.0.weight': [4, 6, 3, 3], 'block1.body.1.weight': [4], 'block1.body.3.weight': [6, 4, 3, 3], 'block1.body.4.bias': [6],
        'block2.body.0.weight': [8, 6, 3, 3], 'block2.body.3.weight': [12, 8, 3, 3], 'block2.body.4.running_mean': [12],
        'block2.shortcut.0.weight': [12, 6, 1, 1], 'block2.shortcut.1.weight': [12], 'fc.weight': [10, 12], 'fc.bias': [10],
      });
      const x = randomInput([4, 3, 8, 8]);
      small.eval();
      expectSameOutputs(await outputs(small, x, [4, 3, 8, 8]), await outputs(model, x, [4, 3, 8, 8]));
      // Train mode too: BatchNorm's batch statistics are per channel, so removing zero channels changes nothing.
      model.train();
      small.train();
      expectSameOutputs(await outputs(small, x, [4, 3, 8, 8]), await outputs(model, x, [4, 3, 8, 8]));
      model.eval();
    }
  });

  it('keeps a residual group whose members are not all pruned', async () => {
    const model = resnet(4);
    // Only the shortcut's conv filter is pruned: the body still feeds that channel, so nothing can go.
    await prune(model, { granularity: 'filter', sparsity: 0.5, layers: ['block2.shortcut.0'] });
    const { plan } = await compactWithPlan(model, { inputShape: [3, 8, 8] });
    expect(plan.removed.size).toBe(0);
    expect(plan.layers.every((l) => l.outAfter === l.outBefore && l.inAfter === l.inBefore)).toBe(true);
  });
});

it('concatenation: each branch\'s channels map to their own columns of the next layer', async () => {
  const model = inception();
  randomizeBatchNorms(model);
  await prune(model, { granularity: 'filter', sparsity: 0.5 });
  model.eval();
  const { model: small, plan } = await compactWithPlan(model, { inputShape: [1, 6, 6] });
  // The stem's channels pass through the max-pool branch, so they stay or go with it: 4 → 2 everywhere.
  expect(shapes(small)).toEqual({
    'stem.weight': [2, 1, 3, 3], 'stem.bias': [2],
    'mix.0.0.weight': [2, 2, 1, 1], 'mix.0.0.bias': [2],
    'mix.1.0.weight': [3, 2, 3, 3], 'mix.1.1.weight': [3], 'mix.1.1.bias': [3], 'mix.1.1.running_mean': [3], 'mix.1.1.running_var': [3], 'mix.1.1.num_batches_tracked': [],
    'conv.weight': [3, 7, 3, 3], 'conv.bias': [3],
    'fc.weight': [10, 48], 'fc.bias': [10],
  });
  expect(plan.layers.find((l) => l.name === 'fc')).toMatchObject({ inBefore: 96, inAfter: 48 });
  const x = randomInput([3, 1, 6, 6]);
  expectSameOutputs(await outputs(small, x, [3, 1, 6, 6]), await outputs(model, x, [3, 1, 6, 6]));
});

it('Linear → BatchNorm1d → ReLU → Dropout → Linear → Tanh → Linear', async () => {
  const model = mlp();
  randomizeBatchNorms(model);
  await prune(model, { granularity: 'filter', sparsity: 0.5 });
  model.eval();
  const small = await compact(model, { inputShape: [20] });
  expect(shapes(small)).toMatchObject({ '0.weight': [8, 20], '1.weight': [8], '1.running_var': [8], '4.weight': [6, 8], '4.bias': [6], '6.weight': [3, 6] });
  small.eval();
  const x = randomInput([5, 20]);
  expectSameOutputs(await outputs(small, x, [5, 20]), await outputs(model, x, [5, 20]));
});

it('a pruned neuron followed by Sigmoid is not zero (sigmoid(0) = 0.5) and is kept', async () => {
  const g = new Generator(9);
  const model = new Sequential(new Linear(6, 8, { generator: g }), new Sigmoid(), new Linear(8, 2, { generator: g }));
  await prune(model, { granularity: 'filter', sparsity: 0.5 });
  const { model: small, plan } = await compactWithPlan(model);
  expect(plan.removed.size).toBe(0);
  const x = randomInput([2, 6]);
  expectSameOutputs(await outputs(small, x, [2, 6]), await outputs(model, x, [2, 6]));
});

describe('unsupported topologies: a clear error naming the layer, the model untouched', () => {
  class Scale extends Module {
    forward(x: Tensor): Tensor {
      return mul(x, 2);
    }
  }
  class Shuffle extends Sequential {
    override forward(x: Tensor): Tensor {
      return super.forward(x);
    }
  }
  const g = () => new Generator(5);
  const cases: Array<[string, () => Module, RegExp]> = [
    ['an unknown layer', () => new Sequential(['conv', new Conv2d(1, 4, 3, { generator: g() })], ['scale', new Scale()], ['flatten', new Flatten()], ['fc', new Linear(16, 2, { generator: g() })]), /unsupported layer 'scale' \(Scale\)/],
    ['a container with its own forward', () => new Sequential(['conv', new Conv2d(1, 4, 3, { generator: g() })], ['body', new Shuffle(new ReLU())], ['flatten', new Flatten()], ['fc', new Linear(16, 2, { generator: g() })]), /unsupported layer 'body' \(Shuffle\)/],
    ['a shared module', () => {
      const c = new Conv2d(4, 4, 1, { generator: g() });
      return new Sequential(['conv', new Conv2d(1, 4, 3, { generator: g() })], ['a', c], ['b', c], ['flatten', new Flatten()], ['fc', new Linear(16, 2, { generator: g() })]);
    }, /unsupported layer 'b' \(Conv2d\).*also used as 'a'/],
    ['Linear on a 4-D tensor', () => new Sequential(['conv', new Conv2d(1, 4, 3, { generator: g() })], ['fc', new Linear(16, 2, { generator: g() })]), /unsupported layer 'fc' \(Linear\).*Flatten/],
  ];
  it.each(cases)('%s', async (_, build, message) => {
    const model = build();
    await prune(model, { granularity: 'filter', sparsity: 0.5, layers: ['conv'] });
    const before = await snapshot(model);
    const err = await compact(model, { inputShape: [1, 4, 4] }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedLayerError);
    expect((err as Error).message).toMatch(message);
    expect(await snapshot(model)).toEqual(before);
    expect(isPruned(model.child('conv')!, 'weight')).toBe(true);
  });
});
