// Bundles the library and the CLI as ESM with esbuild; types come from tsc (see package.json "build").
//   dist/index.js    browser-safe entry (index.ts) for bundlers: no Node built-ins, dependencies left as imports
//   dist/node.js     Node entry (node.ts): the same plus Dawn, files, MNIST and ONNX Runtime
//   dist/browser.js  browser-safe entry with every dependency bundled: loads in a page as is, no import map
//   dist/cli.js      the `wgprune` command
import { build } from 'esbuild';
import { chmodSync, copyFileSync } from 'node:fs';

const common = { bundle: true, format: 'esm', sourcemap: true, logLevel: 'warning' };
const node = { ...common, platform: 'node', target: 'node20', packages: 'external' };
await build({ ...node, entryPoints: ['node.ts'], outfile: 'dist/node.js' });
await build({ ...node, entryPoints: ['cli/main.ts'], outfile: 'dist/cli.js' });
chmodSync('dist/cli.js', 0o755);
// dist/browser.js bundles everything, so a Node built-in reaching the browser-safe entry fails this build
// (dist/index.js leaves imports as they are; test/bundle.test.ts checks both).
await build({ ...common, platform: 'browser', target: 'es2022', packages: 'external', entryPoints: ['index.ts'], outfile: 'dist/index.js' });
await build({ ...common, platform: 'browser', target: 'es2022', entryPoints: ['index.ts'], outfile: 'dist/browser.js' });
// The study results' JSON Schema ships next to the bundle (package export "./results.schema.json").
copyFileSync('study/results.schema.json', 'dist/results.schema.json');
