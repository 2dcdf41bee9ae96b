/** The dense model's profile, layer by layer: type, output shape, parameters, FLOPs and bytes per storage. */
import type { ModelProfile } from '../measure/index.js';
import { bytes, count, flops, shape } from './numbers.js';
import type { Row, Table } from './table.js';

export function profileTable(p: ModelProfile): Table {
  const rows: Row[] = p.layers.map((l) => ({
    cells: [l.name, l.type, shape(l.outShape), count(l.params), count(l.nonzeroParams), flops(l.flops), flops(l.effectiveFlops),
      bytes(l.bytes.dense), bytes(l.bytes.csr), bytes(l.bytes.bsr), bytes(l.bytes.checkpoint)],
  }));
  const t = p.totals;
  rows.push({
    cells: ['total', '', shape(p.outputShape), count(t.params), count(t.nonzeroParams), flops(t.flops), flops(t.effectiveFlops),
      bytes(t.denseBytes), bytes(t.csrBytes), bytes(t.bsrBytes), `${bytes(t.checkpointBytes)} (file)`],
    startsBlock: true,
  });
  const right = 'right' as const;
  return {
    columns: [
      { title: 'layer' }, { title: 'type' }, { title: 'output shape', align: right },
      { title: 'params', align: right }, { title: 'non-zero', align: right },
      { title: 'FLOPs', align: right }, { title: 'effective FLOPs', align: right },
      { title: 'dense', align: right, group: 'bytes' }, { title: 'CSR', align: right, group: 'bytes' },
      { title: `BSR ${p.bsrBlock.join('×')}`, align: right, group: 'bytes' }, { title: 'checkpoint', align: right, group: 'bytes' },
    ],
    rows,
  };
}
