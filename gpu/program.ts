/**
 * A compute program: the description a launcher hands to the runtime. The runtime
 * adds the binding declarations and the shared prelude, compiles once per `key`,
 * and records dispatches into the shared compute pass.
 *
 * Programs are made by a family (`programFamily(name, build)`) from a config: the plain
 * data that determines the generated WGSL (variant, rank, tile sizes, fused epilogue —
 * never a shape). The family derives the key from the config, so two programs share a
 * pipeline exactly when they were built from equal configs.
 *
 * Shapes and scalars travel as named parameters: a program declares them (`params:
 * [['n', 'u32'], ['alpha', 'f32']]`), its WGSL reads `P.n`, `P.alpha` from a uniform
 * struct, and a launch passes a record `{ n: 10, alpha: 0.5 }` that the runtime checks
 * and packs by the declaration.
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

/** The WGSL type of a named parameter: every one is a 4-byte scalar, so the uniform struct packs with no padding. */
export type ParamType = 'u32' | 'i32' | 'f32';

/** Named parameters in struct order: `[name, type]` pairs. */
export type ParamDecl = ReadonlyArray<readonly [name: string, type: ParamType]>;

/** A launch's parameter values, by name. */
export type ParamValues = Readonly<Record<string, number>>;

export interface Program {
  /** Identifies the generated source: one pipeline per key (derived from the family's config by `programFamily`). */
  key: string;
  /** Read-only storage bindings, in launch order. */
  inputs: readonly Binding[];
  /** Read-write storage bindings, in launch order. */
  outputs: readonly Binding[];
  /** Threads per workgroup along x (and y, z when given). */
  workgroupSize: readonly [number, number?, number?];
  /** Named parameters, bound as `var<uniform> P: Params` after the other bindings (none when absent or empty). */
  params?: ParamDecl;
  /** WGSL body: functions and `@compute fn main`; may use the prelude's helpers. */
  body: () => string;
}

/** What a family's builder returns: a program without its key. */
export type ProgramSpec = Omit<Program, 'key'>;

/** Builds the programs of one family; `family` and `key(config)` name them. */
export interface ProgramFamily<C> {
  /** The program for `config` (built once per key). */
  (config: C): Program;
  readonly family: string;
  key(config: C): string;
  /** Builds the program for `config` afresh, bypassing the cache (for checks that a key determines the source). */
  build(config: C): Program;
}

const families = new Map<string, ProgramFamily<never>>();
const FAMILY_NAME = /^[A-Za-z0-9][A-Za-z0-9:._-]*$/;

/**
 * Defines a family of programs built from configs. The key of a program is the family
 * name followed by the stable serialisation of its config (nothing for an empty config);
 * equal configs give the same cached program. A family name may be defined once: two
 * definitions would share keys for different sources.
 *
 * `sourceConfig` maps a config to the part that shapes the WGSL, when a config carries
 * more (a flag the launcher reads, a field some variants ignore): configs that differ only
 * elsewhere then share one key and one pipeline. The builder must not read what it drops.
 */
export function programFamily<C extends object>(family: string, build: (config: C) => ProgramSpec, sourceConfig: (config: C) => object = (c) => c): ProgramFamily<C> {
  if (!FAMILY_NAME.test(family)) throw new Error(`program family '${family}': a name is letters, digits and ':._-'`);
  if (families.has(family)) throw new Error(`program family '${family}' is defined twice`);
  const built = new Map<string, Program>();
  const key = (config: C) => {
    const serial = stableSerialise(sourceConfig(config), `${family} config`);
    return serial === '{}' ? family : `${family}${serial}`;
  };
  const fresh = (config: C): Program => ({ ...build(config), key: key(config) });
  const make = (config: C): Program => {
    const k = key(config);
    let p = built.get(k);
    if (!p) {
      p = { ...build(config), key: k };
      built.set(k, p);
    }
    return p;
  };
  const f = Object.assign(make, { family, key, build: fresh });
  families.set(family, f as ProgramFamily<never>);
  return f;
}

/** Every family defined so far (by the kernel modules imported), by name. */
export function programFamilies(): ReadonlyMap<string, ProgramFamily<never>> {
  return families;
}

/**
 * A canonical text for plain data: object keys sorted, fields holding `undefined` left
 * out, numbers finite. Throws for anything else (functions, class instances, NaN), which
 * has no place in a program's config.
 */
export function stableSerialise(value: unknown, what = 'value'): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${what}: ${value} is not a finite number`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v, i) => stableSerialise(v, `${what}[${i}]`)).join(',')}]`;
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) throw new Error(`${what}: a ${proto?.constructor?.name ?? 'class instance'} is not plain data`);
    const fields = Object.keys(value).sort().filter((k) => (value as Record<string, unknown>)[k] !== undefined);
    return `{${fields.map((k) => `${JSON.stringify(k)}:${stableSerialise((value as Record<string, unknown>)[k], `${what}.${k}`)}`).join(',')}}`;
  }
  throw new Error(`${what}: a ${typeof value} is not plain data`);
}

const PARAM_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/** Checks a declaration: valid WGSL names, each once, known types. */
export function checkParamDecl(key: string, decl: ParamDecl): void {
  const seen = new Set<string>();
  for (const [name, type] of decl) {
    if (!PARAM_NAME.test(name)) throw new Error(`kernel '${key}': parameter name '${name}' is not a WGSL identifier`);
    if (seen.has(name)) throw new Error(`kernel '${key}': parameter '${name}' is declared twice`);
    if (type !== 'u32' && type !== 'i32' && type !== 'f32') throw new Error(`kernel '${key}': parameter '${name}' has type '${type}' (u32, i32 or f32)`);
    seen.add(name);
  }
}

/** Bytes of the uniform buffer for a declaration: 4 per field, rounded up to 16 (at least 16). */
export function paramBytes(decl: ParamDecl): number {
  return Math.max(16, Math.ceil((decl.length * 4) / 16) * 16);
}

/**
 * Packs `values` by `decl` into the uniform struct's words. Every declared field must be
 * present and finite (an f32 within float32's range), u32 and i32 ones integers in range;
 * a field that is not declared is an error too.
 */
export function packParams(key: string, decl: ParamDecl, values: ParamValues): Uint32Array<ArrayBuffer> {
  const words = new Uint32Array(paramBytes(decl) / 4);
  const f32 = new Float32Array(words.buffer);
  const i32 = new Int32Array(words.buffer);
  decl.forEach(([name, type], i) => {
    const v = values[name];
    if (v === undefined) throw new Error(`webgpu: kernel '${key}' needs parameter '${name}' (${type})`);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`webgpu: kernel '${key}': parameter '${name}' is ${String(v)}, not a finite number`);
    if (type === 'f32') {
      f32[i] = v;
      if (!Number.isFinite(f32[i]!)) throw new Error(`webgpu: kernel '${key}': parameter '${name}' = ${v} overflows f32`);
    } else if (!Number.isInteger(v) || (type === 'u32' ? v < 0 || v > 0xffffffff : v < -(2 ** 31) || v >= 2 ** 31)) {
      throw new Error(`webgpu: kernel '${key}': parameter '${name}' = ${v} is not a ${type}`);
    } else if (type === 'u32') {
      words[i] = v;
    } else {
      i32[i] = v;
    }
  });
  if (Object.keys(values).length > decl.length) {
    const declared = new Set(decl.map(([n]) => n));
    const extra = Object.keys(values).filter((n) => !declared.has(n));
    if (extra.length) throw new Error(`webgpu: kernel '${key}' declares no parameter ${extra.map((n) => `'${n}'`).join(', ')}`);
  }
  return words;
}

/** Shared WGSL helpers prepended to every program. */
export function prelude(p: Program): string {
  const [x, y = 1, z = 1] = p.workgroupSize;
  return `
const WG_X: u32 = ${x}u;
const WG_Y: u32 = ${y}u;
const WG_Z: u32 = ${z}u;
// Linear invocation index for 1-D launches split over a 2-D grid of workgroups
// (a single dimension is capped at 65535 workgroups).
fn linearIndex(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return gid.x + gid.y * nwg.x * WG_X; }
`;
}

/** The uniform struct of a program's named parameters (empty when it declares none). */
export function paramsStructWgsl(decl: ParamDecl): string {
  return decl.length ? `struct Params {\n${decl.map(([name, type]) => `  ${name}: ${type},`).join('\n')}\n}` : '';
}

export function bindingsWgsl(p: Program): string {
  const lines: string[] = [];
  let i = 0;
  const decl = (b: Binding, access: string) => (b.type?.startsWith('texture')
    ? `@group(0) @binding(${i++}) var ${b.name}: ${b.type};`
    : `@group(0) @binding(${i++}) var<storage, ${access}> ${b.name}: ${b.type ?? 'array<f32>'};`);
  for (const b of p.inputs) lines.push(decl(b, 'read'));
  for (const b of p.outputs) lines.push(decl(b, 'read_write'));
  if (p.params?.length) lines.push(paramsStructWgsl(p.params), `@group(0) @binding(${i}) var<uniform> P: Params;`);
  return lines.join('\n');
}

export function programSource(p: Program): string {
  return `${bindingsWgsl(p)}\n${prelude(p)}\n${p.body()}`;
}

/**
 * The entry point of a one-thread-per-element kernel: `i` is this invocation's
 * element (launches split over a 2-D grid are linearised); threads past the element
 * count (the named parameter `n`) return.
 */
export function perElementMain(body: string): string {
  return `
@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linearIndex(gid, nwg);
  if (i >= P.n) { return; }
${body}
}`;
}

/** Bit pattern of a float32: as a u32 parameter (read with `bitcast<f32>`) it carries any float, infinities and NaN included, where an f32 parameter must be finite. */
export function f32Bits(x: number): number {
  f32Scratch[0] = x;
  return u32Scratch[0]!;
}
const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);
