/**
 * nn for Node: everything in ./index.ts plus what reads or writes files — checkpoint files
 * (atomic saves), safetensors files, the checkpoint output check, IDX files and MNIST.
 */
export * from './index.js';
export { loadMnist, clearMnistCache, MNIST_MEAN, MNIST_STD } from './data/mnist.js';
export type { MnistDataset, MnistOptions, MnistSplit } from './data/mnist.js';
export { readIdxFile } from './data/idx-file.js';
export { saveSafetensors, loadSafetensors, removeStaleTempFiles } from './safetensors-file.js';
export { saveCheckpoint, loadCheckpoint } from './checkpoint-file.js';
export { checkCheckpointOut, CheckpointOutError } from './checkpoint-out.js';
export type { CheckpointOutOptions } from './checkpoint-out.js';
