// Bundles the library and the CLI as ESM with esbuild; types come from tsc (see package.json "build").
import { build } from 'esbuild';
import { chmodSync, copyFileSync } from 'node:fs';

const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', sourcemap: true, packages: 'external', logLevel: 'warning' };
await build({ ...common, entryPoints: ['index.ts'], outfile: 'dist/index.js' });
await build({ ...common, entryPoints: ['cli/main.ts'], outfile: 'dist/cli.js' });
chmodSync('dist/cli.js', 0o755);
// The study results' JSON Schema ships next to the bundle (package export "./results.schema.json").
copyFileSync('study/results.schema.json', 'dist/results.schema.json');
