/** wgprune: pruning research on WebGPU. */
export * from './engine/index.js';
export * as nn from './nn/index.js';
export * as pruning from './pruning/index.js';
export * from './measure/index.js';
