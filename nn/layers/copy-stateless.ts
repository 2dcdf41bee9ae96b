/**
 * A fresh copy of a layer that holds no tensors (pooling, Flatten, Dropout, activations, Softmax),
 * with the same configuration; null for any other module. Shared by the model rebuilders
 * (pruning/compact-rebuild.ts, nn/fuse.ts), which handle the layers with tensors themselves.
 */
import type { Generator } from '../../engine/internal.js';
import type { Module } from '../module.js';
import { Identity, ReLU, Sigmoid, Softmax, Tanh } from './activation.js';
import { Dropout } from './dropout.js';
import { Flatten } from './flatten.js';
import { AvgPool2d, MaxPool2d } from './pooling.js';

export function copyStatelessLayer(m: Module): Module | null {
  if (m instanceof MaxPool2d) return new MaxPool2d(m.kernelSize, { ...m.options });
  if (m instanceof AvgPool2d) return new AvgPool2d(m.kernelSize, { ...m.options });
  if (m instanceof Flatten) return new Flatten(m.startDim);
  // The generator is private to Dropout; the copy draws its masks from the same source.
  if (m instanceof Dropout) return new Dropout(m.p, { generator: (m as unknown as { generator: Generator }).generator });
  if (m instanceof ReLU) return new ReLU();
  if (m instanceof Tanh) return new Tanh();
  if (m instanceof Sigmoid) return new Sigmoid();
  if (m instanceof Identity) return new Identity();
  if (m instanceof Softmax) return new Softmax(m.dim);
  return null;
}
