/** Measuring: per-layer cost (`profile`) and the timing protocol (`measure`). Builds on engine/, nn/ and pruning/'s tracer. */
export { profile, formatProfile, checkpointSize, weightCost, PROFILE_CONVENTIONS } from './profile.js';
export type { ModelProfile, LayerProfile, ProfileTotals, ProfileOptions } from './profile.js';
export { measure, measureInterleaved, describeProtocol, summarise, DEFAULT_PROTOCOL } from './timing.js';
export type { Measurement, MeasureOptions, MeasureResult, Protocol, ProtocolOptions, Work } from './timing.js';
