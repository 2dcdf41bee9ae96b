// `npm run bench:kernels [-- --quick] [-- --out-dir DIR]`
import { runKernelsBench } from '../kernels.js';
import { runBenchmark } from './run.js';

runBenchmark(({ quick, value }) => runKernelsBench({ quick, outDir: value('--out-dir') }));
