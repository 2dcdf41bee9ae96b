/**
 * wgprune: pruning research on WebGPU. This entry is browser-safe: it imports no Node built-ins
 * and gets WebGPU from `navigator.gpu` (or from a provider given to `setGpuProvider`). Under Node
 * the package resolves to ./node.ts instead, which adds Dawn, files, MNIST and ONNX Runtime.
 */
export * from './engine/index.js';
export * as nn from './nn/index.js';
export * as pruning from './pruning/index.js';
export * from './measure/index.js';
export { setGpuProvider, navigatorGpuProvider } from './gpu/device.js';
export type { GpuProvider, GpuCandidate } from './gpu/device.js';
