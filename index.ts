/** wgprune: pruning research on WebGPU. */
export * from './engine/index.js';
