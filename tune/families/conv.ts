/**
 * The convolution families for the tuner (conv-fwd, conv-grad-input, conv-grad-weight): the
 * planner's arguments are the pass, the geometry and what the forward pass fuses (bias, ReLU,
 * max pooling); seeded synthetic input, weight, output-gradient and bias tensors of the
 * geometry's sizes run each candidate plan through the launcher.
 */
import type { Conv2dGeometry } from '../../gpu/types.js';
import type { GpuRuntime } from '../../gpu/runtime.js';
import { convWith } from '../../kernels/conv2d.js';
import { CONV_FAMILY, convCandidates, type ConvOptions, type ConvPass, type ConvPlan, convProblemKey, planConv } from '../../kernels/conv2d/plan.js';
import type { TunableFamily } from '../family.js';
import { seededValues } from '../inputs.js';

export interface ConvArgs {
  pass: ConvPass;
  g: Conv2dGeometry;
  options: ConvOptions;
}

const GEOMETRY_KEYS = ['n', 'c', 'h', 'w', 'oc', 'kh', 'kw', 'sh', 'sw', 'ph', 'pw', 'dh', 'dw', 'oh', 'ow'] as const;

function convFamily(pass: ConvPass): TunableFamily<ConvArgs, ConvPlan> {
  return {
    family: CONV_FAMILY[pass],
    parse(raw) {
      const r = raw as Partial<ConvArgs> | null;
      if (r?.pass !== pass) throw new Error(`${CONV_FAMILY[pass]} problem: expected pass '${pass}', got '${String(r?.pass)}'`);
      const g = r.g as unknown as Record<string, unknown> | undefined;
      if (!g || typeof g !== 'object') throw new Error(`${CONV_FAMILY[pass]} problem: expected { pass, g: geometry, options }`);
      for (const k of GEOMETRY_KEYS) if (!Number.isInteger(g[k]) || (g[k] as number) < 0) throw new Error(`${CONV_FAMILY[pass]} problem: g.${k} must be a non-negative integer`);
      const o = r.options ?? ({} as Partial<ConvOptions>);
      return { pass, g: g as unknown as Conv2dGeometry, options: { bias: !!o.bias, relu: !!o.relu, pool: o.pool ?? null } };
    },
    key: (a) => convProblemKey(a.pass, a.g, a.options),
    candidates: (a, s) => convCandidates(a.pass, a.g, a.options, s),
    plan: (a, s) => planConv(a.pass, a.g, a.options, s),
    prepare(rt: GpuRuntime, { g, options }, seed) {
      const x = pass !== 'gradInput' ? rt.upload(seededValues(g.n * g.c * g.h * g.w, seed)) : undefined;
      const w = pass !== 'gradWeight' ? rt.upload(seededValues(g.oc * g.c * g.kh * g.kw, seed + 1)) : undefined;
      const gy = pass !== 'fwd' ? rt.upload(seededValues(g.n * g.oc * g.oh * g.ow, seed + 2)) : undefined;
      const bias = options.bias ? rt.upload(seededValues(g.oc, seed + 3)) : null;
      return {
        run: (plan) => convWith(rt, plan, g, { x, w, gy, bias }),
        dispose: () => {
          for (const s of [x, w, gy, bias]) if (s) rt.release(s);
        },
      };
    },
    describe: ({ g, options }) =>
      `${pass} n${g.n} ${g.c}→${g.oc} ${g.kh}×${g.kw} on ${g.h}×${g.w}${g.sh > 1 || g.sw > 1 ? ` stride ${g.sh}` : ''}${g.ph || g.pw ? ` pad ${g.ph}` : ''}` +
      `${options.bias ? ' +bias' : ''}${options.relu ? ' +relu' : ''}${options.pool ? ' +pool' : ''}`,
    flops: ({ g }) => 2 * g.n * g.oc * g.oh * g.ow * g.c * g.kh * g.kw,
  };
}

export const convFamilies: Array<TunableFamily<ConvArgs, ConvPlan>> = (['fwd', 'gradInput', 'gradWeight'] as const).map(convFamily);
