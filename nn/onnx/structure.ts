/**
 * From the planned ONNX graph (a DAG of layers and joins) to nested nn containers:
 *
 *   a chain of layers                      → Sequential
 *   x → (branch A, branch B) → Add         → Residual(A, B)   (a branch that is x itself: the identity shortcut)
 *   x → (branch 1 … branch k) → Concat     → Concat(1 … k)
 *
 * Walking from the model input: a value read by one layer continues the chain; a value read
 * several times opens a fork, whose branches must meet again at one Add or Concat — the first
 * node every branch reaches (its post-dominator) — each branch ending at a different operand.
 * Branches may themselves hold forks (nested blocks). Any other topology (branches that never
 * meet, cross-links between branches, dead ends) is refused, naming the value and the nodes.
 */
import type { JoinPlan, LayerPlan, Plan } from './ops.js';

export type Spec =
  | { kind: 'layer'; plan: LayerPlan }
  | { kind: 'residual'; plan: JoinPlan; body: Spec[]; shortcut: Spec[] | null }
  | { kind: 'concat'; plan: JoinPlan; branches: Array<Spec[] | null> };

export class StructureError extends Error {
  constructor(readonly node: string | undefined, readonly opType: string | undefined, message: string) {
    super(message);
  }
}

export function buildStructure(plans: Plan[], input: string, output: string): Spec[] {
  const index = new Map<Plan, number>(plans.map((p, i) => [p, i]));
  const producer = new Map<string, Plan>();
  for (const p of plans) producer.set(p.output, p);
  const readers = new Map<string, Plan[]>();
  for (const p of plans) {
    for (const v of p.kind === 'layer' ? [p.input] : p.inputs) {
      let list = readers.get(v);
      if (!list) readers.set(v, (list = []));
      list.push(p);
    }
  }
  // Descendants of each plan (itself included), computed in reverse topological order.
  const reach: Array<Set<number>> = plans.map((_, i) => new Set([i]));
  for (let i = plans.length - 1; i >= 0; i--) {
    for (const r of readers.get(plans[i]!.output) ?? []) for (const j of reach[index.get(r)!]!) reach[i]!.add(j);
  }
  const first = (p: Plan) => p.nodes[0]!;
  const position = (v: string) => (producer.has(v) ? index.get(producer.get(v)!)! : -1);
  const used = new Set<Plan>();
  const fail = (p: Plan | undefined, msg: string): never => {
    throw new StructureError(p ? first(p).name : undefined, p ? first(p).opType : undefined, msg);
  };
  const take = (p: Plan) => {
    if (used.has(p)) fail(p, 'is reached along two paths that do not meet at an Add or Concat');
    used.add(p);
  };

  function chain(from: string, stop: string): Spec[] {
    const items: Spec[] = [];
    let cur = from;
    while (cur !== stop) {
      if (position(cur) > position(stop)) fail(producer.get(cur), `its output '${cur}' runs past the point where its branch should end ('${stop}')`);
      const edges = readers.get(cur) ?? [];
      if (edges.length === 0) fail(producer.get(cur), `its output '${cur}' is never used on the way to the model output '${stop}'`);
      if (edges.length === 1 && edges[0]!.kind === 'layer') {
        const p = edges[0]!;
        take(p);
        items.push({ kind: 'layer', plan: p });
        cur = p.output;
        continue;
      }
      const join = fork(cur, edges);
      items.push(join);
      cur = join.plan.output;
    }
    return items;
  }

  /** The block from `v`, read by `edges`, to the Add/Concat where its branches meet. */
  function fork(v: string, edges: Plan[]): Spec & { plan: JoinPlan } {
    let common: number[] = [...reach[index.get(edges[0]!)!]!];
    for (const e of edges.slice(1)) common = common.filter((i) => reach[index.get(e)!]!.has(i));
    const meet = common.length ? Math.min(...common) : -1;
    const names = edges.map((e) => `'${first(e).name}'`).join(', ');
    if (meet < 0) fail(producer.get(v), `its output '${v}' feeds branches (${names}) that never meet again at an Add or Concat`);
    const join = plans[meet]!;
    if (join.kind === 'layer') return fail(join, `branches from '${v}' (${names}) meet here; they must meet at an Add or a Concat`);
    if (join.inputs.length !== edges.length) {
      fail(join, `the ${edges.length} uses of '${v}' (${names}) do not map one to one onto its ${join.inputs.length} operands; only blocks whose branches all start at one value and end at one Add or Concat are supported`);
    }
    take(join);
    const free = edges.filter((e) => e !== join);
    const branches = join.inputs.map((operand): Spec[] | null => {
      if (operand === v) return null;
      const target = position(operand);
      const starts = free.filter((e) => reach[index.get(e)!]!.has(target));
      if (starts.length !== 1) fail(join, `its operand '${operand}' is reached from ${starts.length} of the branches leaving '${v}'; each branch must end at its own operand`);
      const start = starts[0]!;
      free.splice(free.indexOf(start), 1);
      if (start.kind !== 'layer') return fail(start, `a branch from '${v}' starts with a nested ${start.kind === 'add' ? 'Add' : 'Concat'} that has other operands; this topology is not supported`);
      take(start);
      return [{ kind: 'layer', plan: start }, ...chain(start.output, operand)];
    });
    if (join.kind === 'concat') return { kind: 'concat', plan: join, branches };
    // Residual(body, shortcut): the identity operand is the shortcut; otherwise operand 0 is the body.
    const [a, b] = branches as [Spec[] | null, Spec[] | null];
    if (a === null) return { kind: 'residual', plan: join, body: b ?? [], shortcut: null };
    return { kind: 'residual', plan: join, body: a, shortcut: b };
  }

  const top = chain(input, output);
  const left = plans.filter((p) => !used.has(p));
  if (left.length) fail(left[0], `does not lie on the path from the model input to its output (${left.length} node(s) left over: ${left.map((p) => `'${first(p).name}'`).join(', ')})`);
  return top;
}
