/**
 * wgprune for Node: everything the browser-safe entry (./index.ts) has, plus the pieces that need
 * Node — WebGPU from Dawn (the `webgpu` package, registered on import, so `init()` finds it),
 * checkpoint and safetensors files, MNIST and IDX files, timing on ONNX Runtime, and the tuning
 * cache (`wgprune tune`'s measured kernel choices, loaded when a WebGPU backend starts).
 */
import { useDawn } from './gpu/dawn.js';
import { useTuningCache } from './tune/cache-file.js';

export * from './index.js';
// These namespaces replace the browser-safe ones of the same names.
export * as nn from './nn/node.js';
export * as pruning from './pruning/node.js';
export { timeOnOrt, runOnOrt, openOrtSession } from './measure/ort.js';
export type { OrtOptions, OrtRuntime, OrtSession, OrtTimingOptions, OrtTimingResult } from './measure/ort.js';
export { useDawn, dawnProvider, vulkanLoaderMayExist } from './gpu/dawn.js';
// The tuning cache written by `wgprune tune`: a WebGPU backend loads its adapter's table at start-up.
export { useTuningCache, cachePath as tuningCachePath, readCache as readTuningCache, TuningCacheError } from './tune/cache-file.js';

useDawn();
useTuningCache();
