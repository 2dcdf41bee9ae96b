/**
 * fuseForInference(model): an inference copy of `model` with fewer, fatter layers — the
 * eval-mode fusion PyTorch users know from torch.fx / `torch.ao.quantization.fuse_modules`
 * ("fold BatchNorm into the preceding conv"):
 *
 *  - Conv2d → BatchNorm2d and Linear → BatchNorm1d, adjacent in a Sequential: the batch
 *    norm's eval-mode affine map is folded into the layer. With
 *    scale = γ / sqrt(running_var + eps) per output channel (γ = 1, β = 0 without affine):
 *        W' = W · scale      b' = (b − running_mean) · scale + β      (b = 0 when absent)
 *  - a ReLU right after the layer (or after the folded batch norm) becomes the layer's
 *    fused activation (`activation: 'relu'`: applied in the conv / matmul kernel's
 *    epilogue, not as a separate pass) and leaves the Sequential.
 *  - a MaxPool2d right after a conv (or after its folded batch norm and fused ReLU) becomes
 *    the conv's `maxPool` and leaves the Sequential: on WebGPU the window convolution pools
 *    2×2 stride 2 as it stores, so the full-size activation is never written or read back
 *    (other pools and paths run the pooling kernel after the conv, as before).
 *
 * Nested Sequentials, Residual and Concat bodies are fused recursively; every other layer
 * of nn/layers is copied as it is. The source model is not modified: every tensor of the
 * result is new (masked layers contribute their effective weight, so the copy carries no
 * masks), and the result is in eval mode.
 *
 * Keys: a Sequential's children keep their names, so the fused model's keys are a subset of
 * the source's — a fused layer keeps its own key (`features.0.weight`) and always has a
 * `features.0.bias` once a batch norm was folded into it; the folded batch norm's keys
 * (`features.1.*`) and the fused ReLUs are gone. For conv4: `features.{0,3,7,10}.{weight,bias}`
 * and `classifier.{0,2,4}.{weight,bias}`. Load a checkpoint into the unfused model, then fuse.
 *
 * Like torch's fuse_conv_bn_eval, fusion is for eval mode only and refuses a model with any
 * module in training mode (training batch norm normalises with batch statistics, which no
 * fixed weight can reproduce). A batch norm without running statistics (trackRunningStats:
 * false, which uses batch statistics in eval mode too) is left unfolded. Linear → BatchNorm1d
 * folds for the usual [N, features] input (BatchNorm1d on [N, C, L] normalises dimension 1,
 * which a Linear's output does not have as its features).
 */
import { add, type Activation, Generator, type MaxPoolOptions, mul, neg, noGrad, reciprocal, reshape, sqrt, sub, tidy } from '../engine/internal.js';
import { ReLU } from './layers/activation.js';
import { BatchNorm1d, BatchNorm2d } from './layers/batchnorm.js';
import { Conv2d } from './layers/conv.js';
import { copyStatelessLayer } from './layers/copy-stateless.js';
import { Linear } from './layers/linear.js';
import { MaxPool2d } from './layers/pooling.js';
import { Concat, Residual } from './layers/residual.js';
import { Sequential } from './layers/sequential.js';
import { cloneTensor, type Module } from './module.js';

type BatchNorm = BatchNorm1d | BatchNorm2d;

const where = (path: string) => (path ? `'${path}'` : 'the model');
const join = (prefix: string, name: string) => (prefix ? `${prefix}.${name}` : name);

/** A throwaway generator: building the new layers must not advance the global one. */
const scratch = () => new Generator(0);

export function fuseForInference(model: Module): Module {
  for (const [path, m] of model.namedModules()) {
    if (m.training) {
      throw new Error(`fuseForInference: ${path ? `${m.typeName()} '${path}'` : `the model (${m.typeName()})`} is in training mode; call model.eval() first ` +
        '(fusion folds BatchNorm\'s running statistics, which only eval mode uses, as torch\'s fuse_conv_bn_eval requires)');
    }
  }
  return copy(model, '').eval();
}

/** The batch norm that folds into `layer` when it follows it, or null (kinds differ, no running statistics). */
function foldable(layer: Conv2d | Linear, next: Module | undefined): BatchNorm | null {
  const kind = layer instanceof Conv2d ? BatchNorm2d : BatchNorm1d;
  if (!(next instanceof kind) || !next.buffer('running_mean') || !next.buffer('running_var')) return null;
  return next;
}

function fuseSequential(seq: Sequential, path: string): Sequential {
  const entries = [...seq.namedChildren()];
  const out: Array<[string, Module]> = [];
  for (let i = 0; i < entries.length; i++) {
    const [name, m] = entries[i]!;
    // (A conv that already pools takes nothing more: a batch norm after the pooling does not commute with it.)
    if ((m instanceof Conv2d || m instanceof Linear) && !m.activation && !(m instanceof Conv2d && m.maxPool)) {
      const bnEntry = entries[i + 1];
      const bn = foldable(m, bnEntry?.[1]);
      if (bn) i++;
      const reluFollows = entries[i + 1]?.[1] instanceof ReLU;
      if (reluFollows) i++;
      const next = entries[i + 1]?.[1];
      const pool = m instanceof Conv2d && next instanceof MaxPool2d ? next : null;
      if (pool) i++;
      out.push([name, fusedLayer(m, join(path, name), bn, bn ? join(path, bnEntry![0]) : '', reluFollows ? 'relu' : null, pool ? { kernel: pool.kernelSize, ...pool.options } : null)]);
    } else {
      out.push([name, copy(m, join(path, name))]);
    }
  }
  return new Sequential(...out);
}

/** A new Conv2d / Linear: `layer` with `bn` folded in (when given) and `activation` fused. */
function fusedLayer(layer: Conv2d | Linear, path: string, bn: BatchNorm | null, bnPath: string, activation: Activation | null, maxPool: MaxPoolOptions | null = null): Conv2d | Linear {
  const outputs = layer instanceof Conv2d ? layer.outChannels : layer.outFeatures;
  if (bn && bn.numFeatures !== outputs) {
    throw new Error(`fuseForInference: ${bn.typeName()} ${where(bnPath)} has ${bn.numFeatures} channels but the ${layer.typeName()} ${where(path)} before it has ${outputs} outputs`);
  }
  const { weight, bias } = noGrad(() => tidy(() => {
    const w = layer.getParam('weight')!;
    const b = layer.getParam('bias');
    if (!bn) return { weight: cloneTensor(w), bias: b ? cloneTensor(b) : null };
    const gamma = bn.getParam('weight'), beta = bn.getParam('bias');
    const invStd = reciprocal(sqrt(add(bn.buffer('running_var')!, bn.eps)));
    const scale = gamma ? mul(gamma, invStd) : invStd;
    const perRow = reshape(scale, [outputs, ...w.shape.slice(1).map(() => 1)]);
    const mean = bn.buffer('running_mean')!;
    const shifted = mul(b ? sub(b, mean) : neg(mean), scale);
    return { weight: mul(w, perRow), bias: beta ? add(shifted, beta) : shifted };
  }));
  const backend = weight.backend.name;
  const common = { bias: bias !== null, backend, generator: scratch(), activation };
  const out = layer instanceof Conv2d
    ? new Conv2d(layer.inChannels, layer.outChannels, layer.kernelSize, { ...common, stride: layer.stride, padding: layer.padding, dilation: layer.dilation, maxPool })
    : new Linear(layer.inFeatures, layer.outFeatures, common);
  out.replaceParameter('weight', weight)?.dispose();
  if (bias) out.replaceParameter('bias', bias)?.dispose();
  return out;
}

function copyBatchNorm(m: BatchNorm): BatchNorm {
  const o = { eps: m.eps, momentum: m.momentum, affine: m.affine, trackRunningStats: m.trackRunningStats, backend: (m.parameters(false)[0] ?? m.buffers(false)[0])?.backend.name };
  const out = m instanceof BatchNorm2d ? new BatchNorm2d(m.numFeatures, o) : new BatchNorm1d(m.numFeatures, o);
  for (const name of ['weight', 'bias']) {
    const t = noGrad(() => tidy(() => {
      const v = m.getParam(name);
      return v ? cloneTensor(v) : null;
    }));
    if (t) out.replaceParameter(name, t)?.dispose();
  }
  for (const name of ['running_mean', 'running_var', 'num_batches_tracked']) {
    const t = m.buffer(name);
    if (t) out.replaceBuffer(name, cloneTensor(t))?.dispose();
  }
  return out;
}

/** A copy of `m` with every Sequential inside it fused. */
function copy(m: Module, path: string): Module {
  if (m instanceof Sequential) return fuseSequential(m, path);
  if (m instanceof Residual) return new Residual(copy(m.body, join(path, 'body')), m.shortcut ? copy(m.shortcut, join(path, 'shortcut')) : null);
  if (m instanceof Concat) return new Concat(...[...m.namedChildren()].map(([n, c]): [string, Module] => [n, copy(c, join(path, n))]));
  if (m instanceof Conv2d) return fusedLayer(m, path, null, '', m.activation, m.maxPool);
  if (m instanceof Linear) return fusedLayer(m, path, null, '', m.activation);
  if (m instanceof BatchNorm1d || m instanceof BatchNorm2d) return copyBatchNorm(m);
  const stateless = copyStatelessLayer(m);
  if (stateless) return stateless;
  throw new Error(`fuseForInference: cannot copy ${m.typeName()} ${where(path)}: only the layers of nn/layers (Sequential, Residual, Concat, Conv2d, Linear, batch norm, pooling, activations, Flatten, Dropout) are supported`);
}
