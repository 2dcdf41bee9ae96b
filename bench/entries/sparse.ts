// `npm run bench:sparse [-- --quick] [-- --json FILE] [-- --layers A,B] [-- --out-dir DIR] [-- --tuned]`
import { runSparseBench } from '../sparse.js';
import { runBenchmark } from './run.js';

runBenchmark(({ quick, json, value, flag }) =>
  runSparseBench({ quick, json, layers: value('--layers')?.split(',').map((s) => s.trim()).filter(Boolean), outDir: value('--out-dir'), tuned: flag('--tuned') }));
