/**
 * Optimizers and schedules: SGD/Adam/AdamW steps of a module against a
 * reference computed by hand in float64, optimizer state round trips, the
 * schedules' learning rates against PyTorch's closed forms. (Training runs on
 * WebGPU with flat memory: nn-train-webgpu.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../index.js';
import * as nn from '../nn/index.js';
import { expectClose, initBoth, on, shutdown } from './helpers/backends.js';

beforeAll(initBoth);
afterAll(shutdown);

type Backend = 'cpu' | 'webgpu';

const W0 = [0.1, -0.2, 0.3, 0.4, 0.5, -0.6];
const B0 = [0.1, -0.1];
const X = [1, 2, 3, -1, 0, 1];

/** A Linear(3, 2) with known weights on `backend`. */
function knownLinear(backend: Backend): nn.Linear {
  return on(backend, () => {
    const lin = new nn.Linear(3, 2);
    lin.loadStateDict({ weight: wg.tensor(W0, [2, 3]), bias: wg.tensor(B0) });
    return lin;
  });
}

/** One training step of loss = ½·Σ y² for y = x·Wᵀ + b, x = X ([2, 3]). */
function trainStep(lin: nn.Linear, opt: nn.Optimizer<nn.BaseOptions>, backend: Backend): void {
  on(backend, () =>
    wg.tidy(() => {
      const y = lin.forward(wg.tensor(X, [2, 3]));
      const loss = wg.mul(wg.sum(wg.mul(y, y)), 0.5);
      opt.zeroGrad();
      loss.backward();
      opt.step();
    }),
  );
}

/** The same loss's gradients by hand: dy = y, dW = dyᵀ·x, db = Σ_n dy. */
function handGrads(w: number[], b: number[]): { gw: number[]; gb: number[] } {
  const gw = new Array<number>(6).fill(0);
  const gb = [0, 0];
  for (let n = 0; n < 2; n++) {
    for (let j = 0; j < 2; j++) {
      let y = b[j]!;
      for (let i = 0; i < 3; i++) y += w[j * 3 + i]! * X[n * 3 + i]!;
      gb[j]! += y;
      for (let i = 0; i < 3; i++) gw[j * 3 + i]! += y * X[n * 3 + i]!;
    }
  }
  return { gw, gb };
}

async function weights(lin: nn.Linear): Promise<number[]> {
  return [...(await lin.parameter('weight')!.toArray()), ...(await lin.parameter('bias')!.toArray())];
}

describe.each(['cpu', 'webgpu'] as const)('%s: optimizer steps match a hand-computed reference', (backend) => {
  it('SGD with momentum, dampening and weight decay (3 steps), and Nesterov', async () => {
    for (const config of [
      { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01, nesterov: false },
      { lr: 0.05, momentum: 0.8, dampening: 0, weightDecay: 0, nesterov: true },
      { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0.1, nesterov: false },
    ]) {
      const lin = knownLinear(backend);
      const opt = new nn.SGD(lin.parameters(), config);
      let p = [...W0, ...B0];
      let buf: number[] | null = null;
      for (let step = 0; step < 3; step++) {
        trainStep(lin, opt, backend);
        const { gw, gb } = handGrads(p.slice(0, 6), p.slice(6));
        const d = [...gw, ...gb].map((g, i) => g + config.weightDecay * p[i]!);
        let update = d;
        if (config.momentum !== 0) {
          buf = buf === null ? d : buf.map((m, i) => config.momentum * m + (1 - config.dampening) * d[i]!);
          update = config.nesterov ? d.map((g, i) => g + config.momentum * buf![i]!) : buf;
        }
        p = p.map((v, i) => v - config.lr * update[i]!);
        expectClose(await weights(lin), p, { rtol: 1e-5, atol: 1e-6 }, `${JSON.stringify(config)} step ${step + 1}`);
      }
      opt.dispose();
      lin.dispose();
    }
  });

  it('Adam (L2 decay) and AdamW (decoupled decay), 3 steps', async () => {
    for (const [Opt, decoupled] of [[nn.Adam, false], [nn.AdamW, true]] as const) {
      const lin = knownLinear(backend);
      const cfg = { lr: 0.01, betas: [0.9, 0.99] as [number, number], eps: 1e-8, weightDecay: 0.05 };
      const opt = new Opt(lin.parameters(), cfg);
      let p = [...W0, ...B0];
      let m = new Array<number>(8).fill(0);
      let v = new Array<number>(8).fill(0);
      for (let t = 1; t <= 3; t++) {
        trainStep(lin, opt, backend);
        const { gw, gb } = handGrads(p.slice(0, 6), p.slice(6));
        let g = [...gw, ...gb];
        if (decoupled) p = p.map((x) => x * (1 - cfg.lr * cfg.weightDecay));
        else g = g.map((x, i) => x + cfg.weightDecay * p[i]!);
        m = m.map((x, i) => cfg.betas[0] * x + (1 - cfg.betas[0]) * g[i]!);
        v = v.map((x, i) => cfg.betas[1] * x + (1 - cfg.betas[1]) * g[i]! ** 2);
        const mHat = m.map((x) => x / (1 - cfg.betas[0] ** t));
        const vHat = v.map((x) => x / (1 - cfg.betas[1] ** t));
        p = p.map((x, i) => x - (cfg.lr * mHat[i]!) / (Math.sqrt(vHat[i]!) + cfg.eps));
        expectClose(await weights(lin), p, { rtol: 1e-5, atol: 1e-6 }, `${Opt.name} step ${t}`);
      }
      const state = opt.stateDict();
      expect(state.state.get(0)!.step).toBe(3);
      expect(Object.keys(state.state.get(0)!)).toEqual(['step', 'exp_avg', 'exp_avg_sq']);
      expectClose(await (state.state.get(1)!.exp_avg as wg.Tensor).toArray(), m.slice(6), { rtol: 1e-5, atol: 1e-7 });
      opt.dispose();
      lin.dispose();
    }
  });
});

describe('optimizer API', () => {
  it('skips parameters without a gradient; zeroGrad clears; lr is mutable; groups keep their own options', async () => {
    on('webgpu', () => undefined);
    const a = new nn.Linear(3, 2, { generator: new wg.Generator(1) });
    const b = new nn.Linear(2, 2, { generator: new wg.Generator(2) });
    const bBefore = await b.parameter('weight')!.toArray();
    const opt = new nn.SGD([{ params: a.parameters() }, { params: b.parameters(), lr: 0.5 }], { lr: 0.1, momentum: 0.9 });
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.1, 0.5]);
    expect(opt.paramGroups[1]!.momentum).toBe(0.9);
    const aBefore = await a.parameter('weight')!.toArray();
    wg.tidy(() => {
      a.forward(wg.ones([1, 3])).sum().backward();
      opt.step();
    });
    expect(await b.parameter('weight')!.toArray()).toEqual(bBefore);
    expect(await a.parameter('weight')!.toArray()).not.toEqual(aBefore);
    expect(opt.stateDict().state.size).toBe(2);
    opt.zeroGrad();
    expect(a.parameters().every((p) => p.grad === null)).toBe(true);
    opt.lr = 0.01;
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.01, 0.01]);
    expect(() => new nn.SGD([], { lr: 0.1 })).toThrow(/empty parameter list/);
    expect(() => new nn.SGD(a.parameters(), { lr: 0.1, nesterov: true })).toThrow(/Nesterov momentum requires momentum > 0/);
    expect(() => new nn.SGD([{ params: a.parameters() }, { params: a.parameters() }], { lr: 0.1 })).toThrow(/more than one group/);
    expect(() => new nn.Adam(a.parameters(), { betas: [1, 0.9] })).toThrow(/betas must be in \[0, 1\)/);
    expect(new nn.AdamW(a.parameters()).paramGroups[0]!.weightDecay).toBe(0.01);
    expect(new nn.Adam(a.parameters()).paramGroups[0]).toMatchObject({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 });
    opt.dispose();
    a.dispose();
    b.dispose();
  });

  it('stateDict/loadStateDict resume training exactly where it left off', async () => {
    on('webgpu', () => undefined);
    const run = (lin: nn.Linear, opt: nn.Optimizer<nn.BaseOptions>, steps: number) => {
      for (let i = 0; i < steps; i++) trainStep(lin, opt, 'webgpu');
    };
    for (const make of [(ps: wg.Tensor[]) => new nn.SGD(ps, { lr: 0.05, momentum: 0.9 }), (ps: wg.Tensor[]) => new nn.Adam(ps, { lr: 0.01 })]) {
      const lin = knownLinear('webgpu');
      const opt: nn.Optimizer<nn.BaseOptions> = make(lin.parameters());
      run(lin, opt, 3);
      const modelState = lin.stateDict({ clone: true });
      const optState = opt.stateDict();
      run(lin, opt, 2);
      const resumed = knownLinear('webgpu');
      const opt2: nn.Optimizer<nn.BaseOptions> = make(resumed.parameters());
      resumed.loadStateDict(modelState);
      opt2.loadStateDict(optState);
      run(resumed, opt2, 2);
      expectClose(await weights(resumed), await weights(lin), { rtol: 1e-6, atol: 1e-7 }, opt.constructor.name);
      // A state for other parameters is refused before anything changes.
      const otherModel = new nn.Linear(4, 2);
      const other: nn.Optimizer<nn.BaseOptions> = make(otherModel.parameters());
      expect(() => other.loadStateDict(optState)).toThrow(/state '(momentum_buffer|exp_avg)' of parameter 0 is \[2, 3\], the parameter is \[2, 4\]/);
      expect(other.stateDict().state.size).toBe(0);
      otherModel.dispose();
      for (const o of [opt, opt2]) o.dispose();
      lin.dispose();
      resumed.dispose();
      for (const [, t] of modelState) t.dispose();
    }
  });
});

describe('learning-rate schedules follow PyTorch', () => {
  const optimizer = () => on('cpu', () => new nn.SGD([{ params: [wg.zeros([1])] }, { params: [wg.zeros([1])], lr: 0.01 }], { lr: 0.1 }));

  it('StepLR: base·γ^⌊epoch/stepSize⌋', () => {
    const opt = optimizer();
    const sched = new nn.StepLR(opt, 3, 0.5);
    const seen: number[][] = [sched.getLastLr()];
    for (let e = 1; e < 10; e++) {
      sched.step();
      seen.push(sched.getLastLr());
    }
    const expected = [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125];
    seen.forEach((lrs, e) => {
      expect(lrs[0]).toBeCloseTo(expected[e]!, 12);
      expect(lrs[1]).toBeCloseTo(expected[e]! / 10, 12);
    });
  });

  it('CosineAnnealingLR: η_min + (base − η_min)(1 + cos(π·epoch/T))/2', () => {
    const opt = optimizer();
    const sched = new nn.CosineAnnealingLR(opt, 10, 0.001);
    const lrs = [opt.lr];
    for (let e = 1; e <= 10; e++) {
      sched.step();
      lrs.push(opt.lr);
    }
    expect(lrs[0]).toBeCloseTo(0.1, 12);
    expect(lrs[5]).toBeCloseTo(0.0505, 12);
    expect(lrs[10]).toBeCloseTo(0.001, 12);
    lrs.forEach((lr, e) => expect(lr).toBeCloseTo(0.001 + (0.099 * (1 + Math.cos((Math.PI * e) / 10))) / 2, 12));
    // Monotone decreasing on [0, T].
    expect(lrs.every((lr, i) => i === 0 || lr < lrs[i - 1]!)).toBe(true);
    expect(sched.getLastLr()[1]).toBeCloseTo(0.001, 12);
  });

  it('MultiStepLR decays at each milestone; scheduler state round-trips', () => {
    const opt = optimizer();
    const sched = new nn.MultiStepLR(opt, [5, 2], 0.1);
    const lrs = [opt.lr];
    for (let e = 1; e <= 6; e++) {
      sched.step();
      lrs.push(opt.lr);
    }
    [0.1, 0.1, 0.01, 0.01, 0.01, 0.001, 0.001].forEach((v, i) => expect(lrs[i]).toBeCloseTo(v, 12));
    const fresh = new nn.MultiStepLR(optimizer(), [2, 5], 0.1);
    fresh.loadStateDict(sched.stateDict());
    expect(fresh.getLastLr()[0]).toBeCloseTo(0.001, 12);
  });
});
