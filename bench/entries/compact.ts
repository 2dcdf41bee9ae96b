// `npm run bench:compact [-- --quick] [-- --json FILE]`
import { runCompactBench } from '../compact.js';
import { runBenchmark } from './run.js';

runBenchmark(({ quick, json }) => runCompactBench({ quick, json }));
