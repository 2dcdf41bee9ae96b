// `npm run bench:dense [-- --quick] [-- --json FILE] [-- --matmul-sizes 1024,4096] [-- --peak-gflops N] [-- --tuned]`:
// loads TF.js, so it runs from an esbuild bundle made by scripts/bench.mjs (TF.js's ESM build
// cannot be loaded by Node directly).
import { runDenseBench } from '../dense.js';
import { runBenchmark } from './run.js';

runBenchmark(({ quick, json, flag, numbers }) =>
  runDenseBench({ quick, json, matmulSizes: numbers('--matmul-sizes'), peakGflops: numbers('--peak-gflops')?.[0], tuned: flag('--tuned') }));
