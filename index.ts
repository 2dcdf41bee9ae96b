/**
 * wgprune: pruning research on WebGPU. This entry is browser-safe: it imports no Node built-ins
 * and gets WebGPU from `navigator.gpu` (or from a provider given to `setGpuProvider`). Under Node
 * the package resolves to ./node.ts instead, which adds Dawn, files, MNIST and ONNX Runtime.
 *
 * Kernel tuning runs here too: `tune()` measures every kernel candidate for a model's problems
 * (`modelProblems`), and the tables it measures are kept in IndexedDB, from where a WebGPU
 * backend started later in the same browser loads its adapter's table (registered on import
 * where IndexedDB exists; Node's entry uses a cache file instead).
 */

export * from './engine/index.js';
export * as nn from './nn/index.js';
export * as pruning from './pruning/index.js';
export * from './measure/index.js';
export { setGpuProvider, navigatorGpuProvider } from './gpu/device.js';
export type { GpuProvider, GpuCandidate } from './gpu/device.js';
// Kernel tuning, and the tables it measures kept in the browser (IndexedDB) or as tuning.json files.
export { tune, QUICK_TUNE_PROTOCOL, TUNE_PROTOCOL } from './tune/tune.js';
export type { TuneOptions, TuneResult, ProblemResult, CandidateTime } from './tune/tune.js';
export { modelProblems, problemsOf } from './tune/collect.js';
export type { Problem } from './tune/family.js';
export {
  useTuningStore, hasTuningStore, loadStoredTuning, storedTuning, storeTuning, deleteStoredTuning, tuningFileText, readTuningFile, importTuningFile,
} from './tune/cache-browser.js';
export { TuningCacheError } from './tune/cache-format.js';
export type { StoredTable, TuningCache } from './tune/cache-format.js';

// A WebGPU backend started in a browser loads its adapter's table from IndexedDB (init({ tuning }) overrides it).
import { useTuningStore as registerTuningStore } from './tune/cache-browser.js';
registerTuningStore();
