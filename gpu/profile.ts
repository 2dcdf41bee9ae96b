/**
 * Device profiles and kernel settings: the facts kernel planners read besides a problem's
 * geometry. A profile names a family of adapters whose kernel rules were measured together:
 *
 * - `llvmpipe`: CPU rasterizers (Mesa llvmpipe, lavapipe, SwiftShader, WARP). Rules measured on
 *   llvmpipe: gathered operands through textures, huge per-invocation register tiles, no
 *   workgroup memory (lanes run along x and vectorise across invocations).
 * - `gpu`: discrete and integrated GPUs. Rules from published WebGPU practice: workgroup-memory
 *   tiling, storage buffers, 4×4 to 8×8 outputs per invocation, 64 to 256 invocations per workgroup.
 *
 * The profile is chosen from the adapter's info and can be overridden (`init({ profile })` or
 * `WGPRUNE_PROFILE`). Each kernel family's choice can be forced (`init({ kernels })` or
 * `WGPRUNE_KERNEL=matmul=tiled-16x4,conv-fwd=implicit-8x8-wg16x8`), and a tuning table measured on this
 * adapter (`wgprune tune`) overrides the profile's rules for the shapes it covers.
 */

export type ProfileName = 'llvmpipe' | 'gpu';
export const PROFILE_NAMES: readonly ProfileName[] = ['llvmpipe', 'gpu'];

/** What the adapter says about itself (GPUAdapterInfo plus how it was requested). */
export interface AdapterFacts {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  featureLevel: 'core' | 'compatibility';
}

/** Kernel families whose program is planned per problem (the names WGPRUNE_KERNEL and tuning tables use). */
export const KERNEL_FAMILIES = ['matmul', 'conv-fwd', 'conv-grad-input', 'conv-grad-weight', 'spmm-csr', 'spmm-bsr', 'sparse-conv'] as const;
export type KernelFamily = (typeof KERNEL_FAMILIES)[number];

/** Forced variant names per family (research and tests); a family not named is planned as usual. */
export type KernelOverrides = Partial<Record<KernelFamily, string>>;

/** One measured winner: the variant and what every candidate took (median ms, the tuner's protocol). */
export interface TunedEntry {
  variant: string;
  ms: number;
  candidates: Record<string, number>;
}

/** Winners measured on one adapter: family → problem key → entry. */
export interface TuningTable {
  /** The adapter and driver the figures belong to (see adapterKey). */
  adapter: string;
  entries: Partial<Record<KernelFamily, Record<string, TunedEntry>>>;
}

/** Everything a planner reads besides the geometry; one per device. */
export interface KernelSettings {
  profile: ProfileName;
  /** Why this profile: the adapter fact it came from, or who forced it. */
  profileReason: string;
  /** The device's limits (planners keep every workgroup and texture within them). */
  limits: PlannerLimits;
  forced: KernelOverrides;
  tuned: TuningTable | null;
  /** Called with every plan made (benchmarks and the tuner record them); planners never depend on it. */
  onPlan?: (record: PlanRecord) => void;
}

/** The limits planners read (a GPUSupportedLimits satisfies it). */
export interface PlannerLimits {
  maxTextureDimension2D: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxComputeWorkgroupSizeY: number;
  maxComputeWorkgroupsPerDimension: number;
  maxComputeWorkgroupStorageSize: number;
  maxStorageBufferBindingSize: number;
}

const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader|warp|software|cpu/i;

/** The profile for an adapter: CPU rasterizers get `llvmpipe`, anything else `gpu`. */
export function profileFor(facts: AdapterFacts): { profile: ProfileName; reason: string } {
  const text = [facts.vendor, facts.architecture, facts.device, facts.description].join(' ');
  const soft = text.match(SOFTWARE);
  if (soft) return { profile: 'llvmpipe', reason: `adapter '${text.trim()}' names a CPU rasterizer (${soft[0]})` };
  // Dawn's GL ES compatibility adapter on Linux without a GPU can report empty info; it is llvmpipe here.
  if (!text.trim() && facts.featureLevel === 'compatibility') return { profile: 'llvmpipe', reason: 'compatibility adapter without adapter info (taken for a CPU rasterizer)' };
  return { profile: 'gpu', reason: `adapter '${text.trim() || 'unnamed'}' is not a known CPU rasterizer` };
}

export function checkProfileName(name: string, where: string): ProfileName {
  if ((PROFILE_NAMES as readonly string[]).includes(name)) return name as ProfileName;
  throw new Error(`${where}: unknown device profile '${name}' (expected one of ${PROFILE_NAMES.join(', ')})`);
}

/**
 * Parses `family=variant[,family=variant…]` (WGPRUNE_KERNEL's syntax). Unknown families are
 * refused here; unknown variants are refused by the family's planner, which knows its candidates.
 */
export function parseKernelOverrides(text: string, where = 'WGPRUNE_KERNEL'): KernelOverrides {
  const out: KernelOverrides = {};
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0 || eq === part.length - 1) throw new Error(`${where}: expected family=variant, got '${part}' (families: ${KERNEL_FAMILIES.join(', ')})`);
    const family = part.slice(0, eq).trim();
    if (!(KERNEL_FAMILIES as readonly string[]).includes(family)) throw new Error(`${where}: unknown kernel family '${family}' (families: ${KERNEL_FAMILIES.join(', ')})`);
    out[family as KernelFamily] = part.slice(eq + 1).trim();
  }
  return out;
}

/** The key a tuning table is stored under: adapter identity and driver, as far as the adapter tells. */
export function adapterKey(facts: AdapterFacts): string {
  return [facts.vendor, facts.architecture, facts.device, facts.description, facts.featureLevel].map((s) => s || '-').join('|');
}

/** Settings for planners without a device (tests, reports): the profile's rules with generous default limits. */
export function settingsFor(profile: ProfileName, limits: Partial<PlannerLimits> = {}, extra: Partial<Omit<KernelSettings, 'profile' | 'limits'>> = {}): KernelSettings {
  return {
    profile,
    profileReason: extra.profileReason ?? 'given',
    limits: {
      maxTextureDimension2D: profile === 'llvmpipe' ? 4096 : 8192,
      maxComputeInvocationsPerWorkgroup: profile === 'llvmpipe' ? 1024 : 256,
      maxComputeWorkgroupSizeX: profile === 'llvmpipe' ? 1024 : 256,
      maxComputeWorkgroupSizeY: profile === 'llvmpipe' ? 1024 : 256,
      maxComputeWorkgroupsPerDimension: 65535,
      maxComputeWorkgroupStorageSize: profile === 'llvmpipe' ? 32768 : 16384,
      maxStorageBufferBindingSize: 128 * 2 ** 20,
      ...limits,
    },
    forced: extra.forced ?? {},
    tuned: extra.tuned ?? null,
  };
}

/** What a planner chose, and why: every timing can name the plan behind it. */
export interface PlanRecord {
  family: KernelFamily;
  /** The problem's key (geometry, the same key tuning tables use). */
  problem: string;
  variant: string;
  source: 'forced' | 'tuned' | 'rule';
  why: string;
  /** The planner's own arguments for this problem (geometry, epilogue…), so a tuner can plan and run it again. */
  args?: unknown;
}

function envValue(name: string): string | undefined {
  return typeof process !== 'undefined' ? process.env?.[name] : undefined;
}

/**
 * A device's settings: the profile from its adapter facts unless `WGPRUNE_PROFILE` names one,
 * variants forced by `WGPRUNE_KERNEL`; no tuning table until one is loaded.
 */
export function deviceSettings(facts: AdapterFacts, limits: PlannerLimits): KernelSettings {
  const envProfile = envValue('WGPRUNE_PROFILE');
  const chosen = envProfile
    ? { profile: checkProfileName(envProfile, 'WGPRUNE_PROFILE'), reason: `WGPRUNE_PROFILE=${envProfile}` }
    : profileFor(facts);
  const envKernels = envValue('WGPRUNE_KERNEL');
  return { profile: chosen.profile, profileReason: chosen.reason, limits, forced: envKernels ? parseKernelOverrides(envKernels) : {}, tuned: null };
}

/** Runs `work` with every plan made under `s` also passed to `record` (after any observer already installed, restored after). */
export async function observingPlans<T>(s: KernelSettings, record: (r: PlanRecord) => void, work: () => T | Promise<T>): Promise<T> {
  const before = s.onPlan;
  s.onPlan = (r) => {
    before?.(r);
    record(r);
  };
  try {
    return await work();
  } finally {
    s.onPlan = before;
  }
}
