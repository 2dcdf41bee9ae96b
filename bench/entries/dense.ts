// `npm run bench:dense [-- --quick] [-- --json FILE]`: loads TF.js, so it runs from an esbuild
// bundle made by scripts/bench.mjs (TF.js's ESM build cannot be loaded by Node directly).
import { runDenseBench } from '../dense.js';
import { runBenchmark } from './run.js';

runBenchmark(({ quick, json }) => runDenseBench({ quick, json }));
