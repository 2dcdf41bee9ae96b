// Runs a benchmark script (bench/entries/*.ts, bench/train.ts, bench/prune.ts) from an esbuild
// bundle: TF.js's ESM build uses extensionless and directory imports that Node cannot load
// directly but a bundler resolves. Usage: node scripts/bench.mjs bench/train.ts [args...]
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { basename } from 'node:path';

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/bench.mjs <benchmark script>.ts [args...]');
  process.exit(2);
}
const outfile = `dist/bench/${basename(entry).replace(/\.ts$/, '.mjs')}`;
await build({
  entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', sourcemap: true,
  // Dawn's native binding stays a package; everything else (TF.js included) is bundled.
  external: ['webgpu'],
  // Bundled CommonJS code (TF.js) calls require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __wgCreateRequire } from 'node:module'; const require = __wgCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
const run = spawnSync(process.execPath, ['--enable-source-maps', outfile, ...args], { stdio: 'inherit' });
process.exit(run.status ?? 1);
