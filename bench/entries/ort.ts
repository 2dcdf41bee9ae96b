// `npm run bench:ort [-- --quick] [-- --json FILE]`: compaction on ONNX Runtime (CPU) next to WebGPU, conv4.
import { runOrtBench } from '../ort.js';
import { runBenchmark } from './run.js';

runBenchmark(({ quick, json }) => runOrtBench({ quick, json }));
