/** Parameter counting. */
import type { Module } from './module.js';

/** Number of scalar parameters (each shared tensor counted once); buffers are not parameters. */
export function countParameters(model: Module): number {
  return model.parameters().reduce((n, p) => n + p.size, 0);
}
