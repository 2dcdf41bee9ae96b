/**
 * In-place optimizer updates on parameter tensors (torch.optim semantics). Not
 * recorded by autograd; the optimizer classes in nn/ hold the state tensors.
 */
import type { AdamConfig, SgdConfig } from '../backend.js';
import { fmtShape } from '../shape.js';
import { commonBackend, type Tensor } from '../tensor.js';

function checkSame(op: string, param: Tensor, others: Array<Tensor | null>): void {
  for (const t of others) {
    if (t && t.size !== param.size) throw new Error(`${op}: ${fmtShape(t.shape)} does not match parameter ${fmtShape(param.shape)}`);
  }
}

export function sgdUpdate(param: Tensor, grad: Tensor, momentumBuf: Tensor | null, config: SgdConfig): void {
  const backend = commonBackend('sgdUpdate', momentumBuf ? [param, grad, momentumBuf] : [param, grad]);
  checkSame('sgdUpdate', param, [grad, momentumBuf]);
  backend.sgdStep(param.storageFor('sgdUpdate'), grad.storageFor('sgdUpdate'), momentumBuf?.storageFor('sgdUpdate') ?? null, config);
}

export function adamUpdate(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, config: AdamConfig): void {
  const backend = commonBackend('adamUpdate', [param, grad, m, v]);
  checkSame('adamUpdate', param, [grad, m, v]);
  if (!(config.step >= 1)) throw new Error(`adamUpdate: step counts from 1, got ${config.step}`);
  backend.adamStep(param.storageFor('adamUpdate'), grad.storageFor('adamUpdate'), m.storageFor('adamUpdate'), v.storageFor('adamUpdate'), config);
}
