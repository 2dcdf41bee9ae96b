// `npm run bench:sparse [-- --quick] [-- --json FILE] [-- --layers A,B] [-- --out-dir DIR]`
import { runSparseBench } from '../sparse.js';
import { runBenchmark } from './run.js';

runBenchmark(({ quick, json, value }) =>
  runSparseBench({ quick, json, layers: value('--layers')?.split(',').map((s) => s.trim()).filter(Boolean), outDir: value('--out-dir') }));
