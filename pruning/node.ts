/** pruning for Node: everything in ./index.ts plus loading a registered architecture's checkpoint file. */
export * from './index.js';
export { loadModelCheckpoint } from './load-file.js';
