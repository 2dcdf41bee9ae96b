/**
 * The engine as the package's own layers (nn, pruning, measure) see it: the public surface plus
 * internals that are not part of the published API and may change without notice.
 */
export * from './index.js';
export { sumToShape } from './ops/reduce.js';
export { sgdUpdate, adamUpdate } from './ops/optim.js';
export { pack16, unpack16, indexBitsFor, MAX_PACKED_INDEX } from '../formats/index.js';
export { kernelSettingsOf } from './webgpu/kernel-settings.js';
export { SPARSE_FAMILIES, sparseVariants } from '../kernels/sparse/candidates.js';
export { observingPlans } from '../gpu/profile.js';
