/**
 * nn: modules, layers, initialisation, losses, optimizers, schedules and models. Builds on engine/ only.
 * Browser-safe: what reads or writes files (checkpoint files, MNIST, IDX files) is added by ./node.ts.
 */
export { Module, cloneTensor } from './module.js';
export type { StateDict, LoadStateDictOptions, LoadStateDictResult, RegisterBufferOptions, ParamOverride, CreateOptions } from './module.js';
export * as init from './init.js';
export { Linear } from './layers/linear.js';
export type { LinearOptions } from './layers/linear.js';
export { Conv2d } from './layers/conv.js';
export type { Conv2dLayerOptions, Pair } from './layers/conv.js';
export { BatchNorm1d, BatchNorm2d } from './layers/batchnorm.js';
export type { BatchNormLayerOptions } from './layers/batchnorm.js';
export { MaxPool2d, AvgPool2d } from './layers/pooling.js';
export type { PoolLayerOptions } from './layers/pooling.js';
export { ReLU, Tanh, Sigmoid, Identity, Softmax } from './layers/activation.js';
export { Flatten } from './layers/flatten.js';
export { Dropout } from './layers/dropout.js';
export type { DropoutOptions } from './layers/dropout.js';
export { Sequential } from './layers/sequential.js';
export type { SequentialEntry } from './layers/sequential.js';
export { CrossEntropyLoss, MSELoss, mseLoss } from './loss.js';
export type { Reduction } from './loss.js';
export { Optimizer } from './optim/optimizer.js';
export type { BaseOptions, ParamGroup, ParamGroupSpec, ParamsArg, OptimizerStateDict, StateValue } from './optim/optimizer.js';
export { SGD } from './optim/sgd.js';
export type { SgdOptions } from './optim/sgd.js';
export { Adam, AdamW } from './optim/adam.js';
export type { AdamOptions } from './optim/adam.js';
export { LRScheduler, StepLR, MultiStepLR, CosineAnnealingLR } from './optim/schedule.js';
export { countParameters } from './count.js';
export { createModel, modelNames, MODELS, lenet300, lenet5, mnistCnn2, conv4 } from './models/index.js';
export type { CreateModelOptions, ModelSpec, Conv4Options, LeNet5Options } from './models/index.js';
export { batches, numBatches, shuffledIndices } from './data/loader.js';
export type { ArrayDataset, Batch, BatchOptions } from './data/loader.js';
export { syntheticCifar } from './data/synthetic-cifar.js';
export { parseIdx } from './data/idx.js';
export type { IdxArray, IdxKind, ParseIdxOptions } from './data/idx.js';
export { encodeSafetensors, decodeSafetensors } from './safetensors.js';
export type { SafetensorsEntry, SafetensorsMetadata, DecodedSafetensors, DecodedTensor, DecodeOptions } from './safetensors.js';
export { saveCheckpointBytes, loadCheckpointBytes, checkpointBlob, findNonFinite, NonFiniteValuesError } from './checkpoint.js';
export type {
  CheckpointBytes, LoadCheckpointOptions, LoadCheckpointBytesOptions, LoadedCheckpoint, SaveCheckpointOptions, NonFinitePolicy, NonFiniteTensor, StatefulModule,
} from './checkpoint.js';
export { trainEpoch, evaluate, NonFiniteLossError } from './train.js';
export type { EpochStats, EvalStats, BatchProgress } from './train.js';
export { fit } from './fit.js';
export type { FitOptions, FitResult } from './fit.js';
export { SparseLinear, SparseConv2d, toSparse, SparseSequential } from './sparse/index.js';
export type { SparseConv2dGeometry, ToSparseOptions, SparseChoice, SparseFormat, SparseSummary } from './sparse/index.js';
export { Residual, Concat } from './layers/residual.js';
export { fuseForInference } from './fuse.js';
export { fromOnnx, toOnnx, OnnxError } from './onnx/index.js';
export type { FromOnnxOptions, OnnxImport, OnnxNames, ToOnnxOptions, OnnxErrorKind, OnnxProblem } from './onnx/index.js';
