/**
 * A compute program: the description a launcher hands to the runtime. The runtime
 * adds the binding declarations and the shared prelude, compiles once per `key`,
 * and records dispatches into the shared compute pass.
 */

export interface Binding {
  name: string;
  /**
   * WGSL type; defaults to `array<f32>` (a storage buffer). A type starting with
   * `texture` (e.g. `texture_2d<f32>`, `texture_storage_2d<rgba32float, write>`)
   * declares a texture binding instead.
   */
  type?: string;
}

export interface Program {
  /** Identifies the generated source: one pipeline per key (kernel, variant, rank, tile config — never the shape). */
  key: string;
  /** Read-only storage bindings, in launch order. */
  inputs: readonly Binding[];
  /** Read-write storage bindings, in launch order. */
  outputs: readonly Binding[];
  /** Threads per workgroup along x (and y, z when given). */
  workgroupSize: readonly [number, number?, number?];
  /** WGSL body: functions and `@compute fn main`; may use the prelude's helpers. */
  body: () => string;
}

/** Shared WGSL helpers prepended to every program. Shape parameters arrive in `params`. */
export function prelude(p: Program): string {
  const [x, y = 1, z = 1] = p.workgroupSize;
  return `
const WG_X: u32 = ${x}u;
const WG_Y: u32 = ${y}u;
const WG_Z: u32 = ${z}u;
fn pu(i: u32) -> u32 { return params[i]; }
fn pi(i: u32) -> i32 { return bitcast<i32>(params[i]); }
fn pf(i: u32) -> f32 { return bitcast<f32>(params[i]); }
// Linear invocation index for 1-D launches split over a 2-D grid of workgroups
// (a single dimension is capped at 65535 workgroups).
fn linearIndex(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return gid.x + gid.y * nwg.x * WG_X; }
`;
}

export function bindingsWgsl(p: Program): string {
  const lines: string[] = [];
  let i = 0;
  const decl = (b: Binding, access: string) => (b.type?.startsWith('texture')
    ? `@group(0) @binding(${i++}) var ${b.name}: ${b.type};`
    : `@group(0) @binding(${i++}) var<storage, ${access}> ${b.name}: ${b.type ?? 'array<f32>'};`);
  for (const b of p.inputs) lines.push(decl(b, 'read'));
  for (const b of p.outputs) lines.push(decl(b, 'read_write'));
  lines.push(`@group(0) @binding(${i}) var<storage, read> params: array<u32>;`);
  return lines.join('\n');
}

export function programSource(p: Program): string {
  return `${bindingsWgsl(p)}\n${prelude(p)}\n${p.body()}`;
}

/**
 * The entry point of a one-thread-per-element kernel: `i` is this invocation's
 * element (launches split over a 2-D grid are linearised); threads past `params[0]` return.
 */
export function perElementMain(body: string): string {
  return `
@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linearIndex(gid, nwg);
  if (i >= pu(0u)) { return; }
${body}
}`;
}

/** Params for a kernel whose geometry travels as named i32 fields after the element count. */
export function geometryParams<K extends string>(total: number, g: Record<K, number>, fields: readonly K[]): number[] {
  return [total, ...fields.map((k) => g[k])];
}

/** WGSL `let` declarations (upper-cased names, i32: padding makes coordinates negative) for `geometryParams`. */
export function geometryLets(fields: readonly string[]): string {
  return fields.map((k, i) => `  let ${k.toUpperCase()} = pi(${i + 1}u);`).join('\n');
}

/** Bit pattern of a float32, for passing float parameters through the u32 params array. */
export function f32Bits(x: number): number {
  f32Scratch[0] = x;
  return u32Scratch[0]!;
}
const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);
