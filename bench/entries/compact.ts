// `npm run bench:compact [-- --quick] [-- --json FILE] [-- --models a,b] [-- --sparsities 0.25,0.5]
//   [-- --cifar-batches 1,256] [-- --reps N] [-- --no-masked] [-- --layer-times] [-- --fuse]
//   [-- --epochs N] [-- --finetune-epochs N] [-- --tuned]` (also what `wgprune bench compact` runs)
import { runCompactBench } from '../compact.js';
import { runBenchmark } from './run.js';

runBenchmark(({ quick, json, value, flag, numbers }) => {
  const reps = numbers('--reps')?.[0];
  return runCompactBench({
    quick, json,
    models: value('--models')?.split(',').map((m) => m.trim()).filter(Boolean),
    sparsities: numbers('--sparsities'),
    cifarBatches: numbers('--cifar-batches'),
    timeMasked: !flag('--no-masked'),
    layerTimes: flag('--layer-times'),
    fuse: flag('--fuse'),
    epochs: numbers('--epochs')?.[0],
    finetuneEpochs: numbers('--finetune-epochs')?.[0],
    tuned: flag('--tuned'),
    ...(reps ? { protocol: { reps, minReps: Math.min(reps, 3) } } : {}),
  });
});
