/** ONNX in and out: `fromOnnx` (a model file as nn modules) and `toOnnx` (nn modules as a model file). */
export { fromOnnx } from './import.js';
export type { FromOnnxOptions, OnnxImport, OnnxNames } from './import.js';
export { toOnnx } from './export.js';
export type { ToOnnxOptions } from './export.js';
export { OnnxError } from './errors.js';
export type { OnnxErrorKind, OnnxProblem } from './errors.js';
export { SUPPORTED_OPS } from './ops.js';
export { MIN_OPSET, MAX_OPSET } from './graph.js';
