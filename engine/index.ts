/**
 * The engine's public surface: what a user of the package imports. Pieces that only the
 * package's own layers need (gradient reduction to a broadcast shape, fused optimizer updates,
 * index packing) are in ./internal.ts.
 */
import './methods.js';

export { Tensor, noGrad, isGradEnabled } from './tensor.js';
export { tidy, keep } from './scope.js';
export { init, shutdown, getBackend, setBackend, memoryStats, trimMemory, flush, sync } from './registry.js';
export { DeviceShutdownError, DeviceLostError, ShaderCompileError } from '../gpu/errors.js';
export type { BackendName, DeviceDescription, InitOptions } from './registry.js';
export type { ProfileName, KernelFamily, KernelOverrides, TuningTable, TunedEntry, PlanRecord, KernelSettings } from '../gpu/profile.js';
export { KERNEL_FAMILIES, PROFILE_NAMES, profileFor, parseKernelOverrides, settingsFor } from '../gpu/profile.js';
export type { Activation, Backend, MemoryStats, SgdConfig, AdamConfig } from './backend.js';
export { Generator, manualSeed, defaultGenerator } from './random.js';
export { tensor, zeros, ones, full, randn, rand, arange } from './ops/creation.js';
export type { TensorOptions, RandomOptions } from './ops/creation.js';
export {
  neg, exp, log, sqrt, abs, relu, sigmoid, tanh, sign, reciprocal,
  add, sub, mul, div, pow, maximum, minimum, compare, eq, ne, lt, le, gt, ge, where, addcmul, checkActivation,
} from './ops/elementwise.js';
export { sum, mean, max, min, argmax } from './ops/reduce.js';
export { reshape, flatten, squeeze, unsqueeze, permute, transpose, expand, slice, narrow, concat } from './ops/shape.js';
export { matmul, linear } from './ops/matmul.js';
export type { LinearOptions } from './ops/matmul.js';
export { conv2d } from './ops/conv.js';
export type { Conv2dOptions, MaxPoolOptions } from './ops/conv.js';
export { maxPool2d, avgPool2d } from './ops/pool.js';
export { softmax, logSoftmax, crossEntropy } from './ops/softmax.js';
export { batchNorm } from './ops/batchnorm.js';
export { dropout } from './ops/dropout.js';
export { SparseTensor, sparseTensor, sparseLinear, sparseConv2d } from './ops/sparse.js';
export { CsrMatrix, BsrMatrix, BLOCK_SHAPES, checkBlockShape, blockName, forEachEntry } from '../formats/index.js';
export type { CsrArrays, FromDenseOptions, BlockShape, BsrArrays, BsrFromDenseOptions, SparseMatrix } from '../formats/index.js';
