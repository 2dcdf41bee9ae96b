/**
 * Measuring: per-layer cost (`profile`), the timing protocol (`measure`), per-layer time
 * (`layerTimes`) and the kernel plans behind a measurement (`withPlans`, `formatPlans`). Builds
 * on engine/, nn/ and pruning/'s tracer. Browser-safe; timing on ONNX Runtime for Node
 * (./ort.ts) comes with the package's Node entry.
 */
export { profile, formatProfile, checkpointSize, weightCost, PROFILE_CONVENTIONS } from './profile.js';
export type { ModelProfile, LayerProfile, ProfileTotals, ProfileOptions } from './profile.js';
export { measure, measureInterleaved, describeProtocol, summarise, DEFAULT_PROTOCOL } from './timing.js';
export type { Measurement, MeasureOptions, MeasureResult, Protocol, ProtocolOptions, Work } from './timing.js';
export { layerTimes, fusedTypeName } from './layer-times.js';
export type { LayerTime } from './layer-times.js';
export { countPlans, distinctPlans, formatPlanCounts, formatPlans, plansKernels, recordingPlans, withPlans } from './plans.js';
export type { PlanCount, PlanUse } from './plans.js';
