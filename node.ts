/**
 * wgprune for Node: everything the browser-safe entry (./index.ts) has, plus the pieces that need
 * Node — WebGPU from Dawn (the `webgpu` package, registered on import, so `init()` finds it),
 * checkpoint and safetensors files, MNIST and IDX files, and timing on ONNX Runtime.
 */
import { useDawn } from './gpu/dawn.js';

export * from './index.js';
// These namespaces replace the browser-safe ones of the same names.
export * as nn from './nn/node.js';
export * as pruning from './pruning/node.js';
export { timeOnOrt, runOnOrt, openOrtSession } from './measure/ort.js';
export type { OrtOptions, OrtRuntime, OrtSession, OrtTimingOptions, OrtTimingResult } from './measure/ort.js';
export { useDawn, dawnProvider, vulkanLoaderMayExist } from './gpu/dawn.js';

useDawn();
