/**
 * The dependency graph: which parameter slices hang on each prunable channel.
 *
 *   const g = buildDependencyGraph(model, { inputShape: [3, 32, 32] });
 *   g.groupOf('features.0', 5)   // filter 5 of features.0 and everything coupled to it
 *   await g.removableGroups()    // the groups compaction may delete
 *
 * A group (coupling class) lists its members: Conv2d/Linear output rows
 * ('out'), the input columns of the layers that read it ('in', a span of dim 1 —
 * H·W columns per channel after a Flatten), and BatchNorm channels ('channel').
 * Residual additions and concatenations merge the groups of their operands, so a
 * ResNet block's shortcut conv, its last body conv and the channels they feed
 * form one group. Groups reaching the model input or output are pinned.
 *
 * A group is removable when it is not pinned and every channel of it that a
 * Conv2d/Linear reads is identically zero (zeros.ts): deleting the group then
 * leaves every remaining output unchanged.
 */
import type { Module } from '../../nn/index.js';
import { type Trace, type TraceOptions, traceModel } from './trace.js';
import { ParamCache } from './values.js';
import { zeroSlots } from './zeros.js';

export { InputShapeError, traceModel, UnsupportedLayerError } from './trace.js';
export type { Trace, TraceOp, TraceOptions, WeightOp, NormOp, MapOp, AddOp, ConcatOp } from './trace.js';
export { ParamCache } from './values.js';
export type { ParamValues } from './values.js';
export { SlotTable } from './slots.js';

export interface GroupMember {
  /** Dotted module name. */
  layer: string;
  type: string;
  /** 'out': rows of weight and bias; 'in': a span of weight dim 1; 'channel': BatchNorm entries. */
  role: 'out' | 'in' | 'channel';
  /** Output channel / input channel / BatchNorm channel index. */
  index: number;
  /** The slice it owns: [start, end) along dim 0 (out, channel) or dim 1 (in). */
  span: [number, number];
}

export interface ChannelGroup {
  id: number;
  members: GroupMember[];
  /** Why it can never be removed (model input or output), if so. */
  pinned?: string;
}

export class DependencyGraph {
  readonly cache = new ParamCache();
  private memberMap: Map<number, GroupMember[]> | null = null;
  private zeros: Promise<Uint8Array> | null = null;

  constructor(readonly model: Module, readonly trace: Trace) {}

  /** The group id of a slot. */
  groupId(slot: number): number {
    return this.trace.slots.find(slot);
  }

  private members(): Map<number, GroupMember[]> {
    if (this.memberMap) return this.memberMap;
    const map = new Map<number, GroupMember[]>();
    const put = (slot: number, m: GroupMember) => {
      const id = this.groupId(slot);
      let list = map.get(id);
      if (!list) map.set(id, (list = []));
      list.push(m);
    };
    for (const op of this.trace.ops) {
      const type = op.module.typeName();
      if (op.kind === 'conv' || op.kind === 'linear') {
        op.output.forEach((s, o) => put(s, { layer: op.name, type, role: 'out', index: o, span: [o, o + 1] }));
        op.input?.forEach((s, i) => put(s, { layer: op.name, type, role: 'in', index: i, span: [i * op.inRepeat, (i + 1) * op.inRepeat] }));
      } else if (op.kind === 'norm') {
        op.output?.forEach((s, c) => put(s, { layer: op.name, type, role: 'channel', index: c, span: [c * op.repeat, (c + 1) * op.repeat] }));
      }
    }
    return (this.memberMap = map);
  }

  /** Every group holding at least one parameter slice, in order of first appearance. */
  groups(): ChannelGroup[] {
    return [...this.members()].map(([id, members]) => ({ id, members, pinned: this.trace.slots.pinnedReason(id) }));
  }

  /** The group of output channel `channel` of the Conv2d/Linear (or BatchNorm) `layer`. */
  groupOf(layer: string, channel: number): ChannelGroup {
    const op = this.trace.ops.find((o) => o.name === layer);
    if (!op || (op.kind !== 'conv' && op.kind !== 'linear' && op.kind !== 'norm')) {
      throw new Error(`groupOf: '${layer}' is not a Conv2d, Linear or BatchNorm of the model`);
    }
    const slots = op.output;
    if (!slots || !Number.isInteger(channel) || channel < 0 || channel >= slots.length) {
      throw new Error(`groupOf: '${layer}' has ${slots?.length ?? 0} output channels, no channel ${channel}`);
    }
    const id = this.groupId(slots[channel]!);
    return { id, members: this.members().get(id) ?? [], pinned: this.trace.slots.pinnedReason(id) };
  }

  /** Per slot: 1 when the channel is identically zero (computed once). */
  zeroSlots(): Promise<Uint8Array> {
    return (this.zeros ??= zeroSlots(this.trace, this.cache));
  }

  /** Ids of the groups that can be deleted without changing any output. */
  async removableGroups(): Promise<Set<number>> {
    const zero = await this.zeroSlots();
    const blocked = new Set<number>();
    for (const op of this.trace.ops) {
      if ((op.kind === 'conv' || op.kind === 'linear') && op.input) for (const s of op.input) if (!zero[s]) blocked.add(this.groupId(s));
    }
    const out = new Set<number>();
    for (const id of this.members().keys()) {
      if (!blocked.has(id) && this.trace.slots.pinnedReason(id) === undefined) out.add(id);
    }
    return out;
  }
}

/** Traces `model` into a dependency graph (synchronous; values are read only when asked). */
export function buildDependencyGraph(model: Module, options: TraceOptions = {}): DependencyGraph {
  return new DependencyGraph(model, traceModel(model, options));
}
