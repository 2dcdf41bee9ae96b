/**
 * Presets: the experiments of the pruning notes wgprune was built from, as studies
 * (`wgprune study --preset NAME`; any other flag overrides the preset's value). Each says what
 * its source reports, so a run can be set next to it.
 */
import type { StudyMethod } from './results.js';
import type { StudyOptions } from './config.js';

export interface Preset {
  name: string;
  description: string;
  /** What the source reports, to compare with. */
  source: string;
  options: StudyOptions;
  /** Methods given in full (otherwise built from options.methods × scope × schedule). */
  methods?: StudyMethod[];
}

const method = (m: Omit<StudyMethod, 'label'> & { label?: string }): StudyMethod => ({
  label: m.label ?? [m.criterion, m.granularity, ...(m.scope === 'global' ? ['global'] : []), ...(m.schedule === 'oneshot' ? [] : m.schedule === 'agp' ? ['agp'] : [`${m.schedule}×${m.rounds}`])].join(' '),
  ...m,
});

const list: Preset[] = [
  {
    name: 'lenet5-notes',
    description: 'LeNet-5 on MNIST: random vs L1 unstructured vs L1 structured (filter) pruning, 10–70 % per layer, K = 3 rounds of prune → 4 fine-tuning epochs',
    source: 'LeNet-5 notes: dense baseline 98.09 % after 80 epochs, 932,500 multiply-adds; pruning to 70 % per layer "compresses the model up to 36 times" (unstructured); masked pruning gives no inference speedup and the same file size; structured pruning gives real speedups at some accuracy cost',
    options: {
      model: 'lenet5', sparsities: '0.1,0.2,0.3,0.4,0.5,0.6,0.7', schedule: 'iterative', rounds: 3, finetuneEpochs: 4,
      methods: 'random:weight,l1:weight,l1:filter', formats: 'dense,masked,csr,bsr,compacted', trainLimit: 'all', testLimit: 'all',
    },
  },
  {
    name: 'mnist-cnn2-filters',
    description: 'The two-conv MNIST CNN (8 and 4 filters of 3×3): remove the n lowest-L1 vs lowest-L2 filters of each conv, compact, fine-tune; plus uniform 25 % / 50 % filter pruning',
    source: 'filter-pruning notes: 6,130 → 3,052 parameters (8 → 6 and 4 → 2 filters), accuracy 94 % before and after (7 epochs, lr 0.001)',
    options: {
      model: 'mnist-cnn2', trainEpochs: 7, optimizer: 'adam', lr: 0.001, sparsities: '0.25,0.5', finetuneEpochs: 1,
      formats: 'dense,masked,csr,compacted,compacted-fused', trainLimit: 'all', testLimit: 'all',
    },
    methods: [
      method({ label: 'l1 filter (6+2 filters)', criterion: 'l1', granularity: 'filter', scope: 'local', schedule: 'oneshot', rounds: 1, finetuneEpochs: 1, perLayer: { 'features.0': 0.25, 'features.2': 0.5 } }),
      method({ label: 'l2 filter (6+2 filters)', criterion: 'l2', granularity: 'filter', scope: 'local', schedule: 'oneshot', rounds: 1, finetuneEpochs: 1, perLayer: { 'features.0': 0.25, 'features.2': 0.5 } }),
      method({ criterion: 'l1', granularity: 'filter', scope: 'local', schedule: 'oneshot', rounds: 1, finetuneEpochs: 1 }),
      method({ criterion: 'l2', granularity: 'filter', scope: 'local', schedule: 'oneshot', rounds: 1, finetuneEpochs: 1 }),
    ],
  },
  {
    name: 'conv4-scope',
    description: 'The CIFAR-shaped Conv-4 CNN (synthetic inputs, timing only): local vs global scope × unstructured vs structured L1 pruning, every execution format',
    source: 'CIFAR CNN notes: unstructured L1 pruning with torch.nn.utils.prune; "I would expect even more good results with structured and global pruning" (no figures given)',
    options: {
      model: 'conv4', data: 'synthetic-cifar', trainEpochs: 0, sparsities: '0.5,0.75', methods: 'l1:weight,l1:filter', scope: 'local,global',
      formats: 'dense,masked,csr,bsr,compacted,compacted-fused', batches: '1,64', finetuneEpochs: 0, trainLimit: 512, testLimit: 256,
    },
  },
  {
    name: 'schedules',
    description: 'One-shot vs iterative (3 rounds) vs AGP at the same final sparsity and the same fine-tuning budget (3 epochs), weight magnitude vs gradient × weight (Taylor) magnitude, LeNet-300-100 on MNIST',
    source: 'fasterai notes: iterative pruning "leads to better results" than one-shot; gradual pruning (Zhu & Gupta) prunes inside training; weight magnitude "has been found to be very effective" next to gradient magnitude (no figures given)',
    options: { model: 'lenet300', trainEpochs: 3, sparsities: '0.9', formats: 'dense,masked,csr,bsr', trainLimit: 'all', testLimit: 'all', lr: 0.01 },
    methods: [
      ...(['l1', 'taylor'] as const).flatMap((criterion) => [
        method({ criterion, granularity: 'weight', scope: 'global', schedule: 'oneshot', rounds: 1, finetuneEpochs: 3 }),
        method({ criterion, granularity: 'weight', scope: 'global', schedule: 'iterative', rounds: 3, finetuneEpochs: 1 }),
        method({ criterion, granularity: 'weight', scope: 'global', schedule: 'agp', rounds: 10, finetuneEpochs: 3 }),
      ]),
    ],
  },
  {
    name: 'lottery',
    description: 'Lottery ticket (iterative global magnitude pruning with rewinding to initialisation, 5 rounds) vs the same mask with random re-initialisation, LeNet-300-100 on MNIST',
    source: 'Frankle & Carbin (2019), as summarised in the notes: a winning ticket trained in isolation matches the dense network\'s accuracy; re-initialised randomly it learns more slowly and reaches lower accuracy',
    options: { model: 'lenet300', optimizer: 'adam', lr: 0.0012, batchSize: 60, sparsities: '0.8,0.9', formats: 'dense,masked,csr', trainLimit: 'all', testLimit: 'all' },
    methods: [
      method({ label: 'lottery ticket', criterion: 'l1', granularity: 'weight', scope: 'global', schedule: 'lottery', rounds: 5, finetuneEpochs: 2 }),
      method({ label: 'random re-init', criterion: 'l1', granularity: 'weight', scope: 'global', schedule: 'lottery-reinit', rounds: 5, finetuneEpochs: 2 }),
    ],
  },
];

export const PRESETS: ReadonlyMap<string, Preset> = new Map(list.map((p) => [p.name, p]));
