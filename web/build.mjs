// Builds the browser benchmark page into dist/web/: static files any web server can serve.
//
//   node web/build.mjs            (npm run build:web)
//
// The page's TypeScript is bundled by esbuild for the browser (ESM, code splitting, so the
// TF.js peer loads only when it runs). ONNX Runtime Web is not bundled: its module, glue and
// WebAssembly files are copied to dist/web/ort/ and loaded from there when its peers run. The
// shipped LeNet-5 checkpoint is copied to dist/web/models/.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const defaultOut = join(root, 'dist', 'web');

/** ONNX Runtime Web's WebGPU build and the files it loads at run time (its WebGPU and wasm execution providers). */
export const ORT_FILES = ['ort.webgpu.min.mjs', 'ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm'];

/**
 * The page imports the package's browser-safe entry and a few browser-safe modules (the study's
 * results schema and formats, the sparse benchmark's masks, the TF.js peer). A Node built-in or
 * Dawn's `webgpu` package reaching the bundle is a mistake: the build fails naming the importer.
 */
export const browserOnly = {
  name: 'browser-only',
  setup(b) {
    b.onResolve({ filter: /^(node:.*|webgpu|onnxruntime-node)$/ }, (a) => ({
      errors: [{ text: `the browser page must not import '${a.path}' (imported by ${a.importer.replace(root + '/', '')})` }],
    }));
  },
};

/** Builds the page into `out` (default dist/web/, emptied first); resolves to the folder. */
export async function buildWeb(out = defaultOut) {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'ort'), { recursive: true });
  mkdirSync(join(out, 'models'), { recursive: true });
  await build({
    entryPoints: { app: join(root, 'web', 'main.ts') },
    outdir: out,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    minify: false,
    logLevel: 'warning',
    // The ORT module is fetched from dist/web/ort/ at run time (see web/peers/ort.ts).
    external: ['./ort/*'],
    plugins: [browserOnly],
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  for (const f of ['index.html', 'style.css']) copyFileSync(join(root, 'web', f), join(out, f));
  for (const f of ORT_FILES) copyFileSync(join(root, 'node_modules', 'onnxruntime-web', 'dist', f), join(out, 'ort', f));
  copyFileSync(join(root, 'models', 'lenet5-mnist.safetensors'), join(out, 'models', 'lenet5-mnist.safetensors'));
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = await buildWeb();
  console.log(`built the browser page in ${dir}`);
}
