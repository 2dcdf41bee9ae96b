// Builds the offline kit scripts/gpu-check.sh runs on a machine without npm access (a GPU host
// that cannot install packages): everything bundled except Dawn's native binding, which is
// copied for linux-x64 only. Usage: node scripts/gpu-kit.mjs [dir] (default .gpu-kit).
//   dir/cli.mjs                    the wgprune command, its dependencies bundled
//   dir/bench/{dense,sparse,compact}.mjs   the benchmark entries, TF.js bundled
//   dir/node_modules/webgpu/       index.js, package.json and dist/linux-x64/dawn.node (~21 MB)
// About 30 MB in all, small enough to travel with a working tree; the full node_modules is ~800 MB.
import { build } from 'esbuild';
import { cpSync, mkdirSync, rmSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? '.gpu-kit';
rmSync(dir, { recursive: true, force: true });
const common = {
  bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning',
  // Native bindings stay packages: Dawn is copied below; ONNX Runtime (the study's second runtime) is not part of the kit.
  external: ['webgpu', 'onnxruntime-node'],
  // Bundled CommonJS code calls require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __wgCreateRequire } from 'node:module'; const require = __wgCreateRequire(import.meta.url);" },
};
await build({ ...common, entryPoints: ['cli/main.ts'], outfile: join(dir, 'cli.mjs') });
for (const name of ['dense', 'sparse', 'compact']) {
  await build({ ...common, entryPoints: [`bench/entries/${name}.ts`], outfile: join(dir, 'bench', `${name}.mjs`) });
}
const webgpu = join(dir, 'node_modules', 'webgpu');
mkdirSync(join(webgpu, 'dist'), { recursive: true });
for (const f of ['index.js', 'package.json', 'LICENSE.md']) cpSync(join('node_modules', 'webgpu', f), join(webgpu, f));
cpSync(join('node_modules', 'webgpu', 'dist', 'linux-x64'), join(webgpu, 'dist', 'linux-x64'), { recursive: true });

const size = (p) => (statSync(p).isDirectory() ? readdirSync(p).reduce((a, f) => a + size(join(p, f)), 0) : statSync(p).size);
console.log(`gpu kit: ${dir} (${(size(dir) / 2 ** 20).toFixed(1)} MiB)`);
