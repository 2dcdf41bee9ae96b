/** safetensors encoding/decoding and model checkpoints: round trips, layout, refusal of bad files, atomic saves. */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import * as wg from '../index.js';
import type { StatefulModule } from '../nn/checkpoint.js';
import { loadCheckpoint, saveCheckpoint } from '../nn/checkpoint-file.js';
import { decodeSafetensors, encodeSafetensors } from '../nn/safetensors.js';
import { loadSafetensors, saveSafetensors } from '../nn/safetensors-file.js';
import { initBoth, on, shutdown } from './helpers/backends.js';
import { record } from './helpers/reliability.js';

let tmp: string;
beforeAll(async () => {
  await initBoth();
  tmp = mkdtempSync(join(tmpdir(), 'wgprune-ckpt-'));
});
afterAll(() => {
  shutdown();
  rmSync(tmp, { recursive: true, force: true });
});

/** A stand-in for nn.Module: named tensors, loadStateDict copies values in with assign. */
class Tiny implements StatefulModule {
  readonly params = new Map<string, wg.Tensor>();
  loads = 0;
  constructor(shapes: Record<string, number[]>, seed: number, backend: wg.BackendName) {
    const generator = new wg.Generator(seed);
    for (const [k, s] of Object.entries(shapes)) this.params.set(k, wg.randn(s, { generator, backend }));
  }
  stateDict(): Map<string, wg.Tensor> {
    return new Map(this.params);
  }
  loadStateDict(state: Map<string, wg.Tensor>, options: { strict?: boolean } = {}): void {
    this.loads++;
    if (options.strict ?? true) expect([...state.keys()].sort()).toEqual([...this.params.keys()].sort());
    for (const [k, t] of state) this.params.get(k)!.assign(t);
  }
  async values(): Promise<Record<string, number[]>> {
    const out: Record<string, number[]> = {};
    for (const [k, t] of this.params) out[k] = [...new Uint32Array((await t.toArray()).buffer)];
    return out;
  }
}

const SHAPES = { 'conv.weight': [4, 1, 3, 3], 'conv.bias': [4], 'bn.running_mean': [4], 'fc.weight': [10, 36], 'fc.bias': [10], step: [] };

let counter = 0;
const file = (name = 'model') => join(tmp, `${name}-${counter++}.safetensors`);

/** A safetensors buffer from a header object and raw data bytes (header padded to 8 bytes). */
function raw(header: object, data: Uint8Array, pad = true): Uint8Array {
  let json = JSON.stringify(header);
  if (pad) json = json.padEnd(Math.ceil(json.length / 8) * 8, ' ');
  const h = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}
const f32bytes = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);

describe.each(['cpu', 'webgpu'] as const)('checkpoint round trip on %s', (backend) => {
  it('save → load is bit-exact, including -0, ±Infinity, NaN and subnormals', async () => {
    const a = new Tiny(SHAPES, 1, backend);
    const special = on(backend, () => wg.tensor([-0, Infinity, -Infinity, NaN, 1e-45, -1.17549435e-38, 3.4028234663852886e38, 0.1, 1 / 3, -7], [10]));
    a.params.get('fc.bias')!.assign(special);
    special.dispose();
    const path = file();
    await saveCheckpoint(path, a, { epoch: '3', note: 'round trip' });
    const b = new Tiny(SHAPES, 2, backend);
    expect(await b.values()).not.toEqual(await a.values());
    const before = wg.memoryStats(backend).storages;
    const result = await loadCheckpoint(path, b);
    expect(result.metadata).toEqual({ epoch: '3', note: 'round trip' });
    expect(result.loaded.sort()).toEqual(Object.keys(SHAPES).sort());
    expect(b.loads).toBe(1);
    expect(await b.values()).toEqual(await a.values());
    // The temporaries were disposed: the model holds as many storages as before.
    expect(wg.memoryStats(backend).storages).toBe(before);
  });
});

it('a checkpoint saved on one backend loads on the other, bit-exact', async () => {
  const a = new Tiny(SHAPES, 5, 'webgpu');
  const path = file();
  await saveCheckpoint(path, a);
  const b = new Tiny(SHAPES, 6, 'cpu');
  await loadCheckpoint(path, b);
  expect(await b.values()).toEqual(await a.values());
  const c = new Tiny(SHAPES, 7, 'webgpu');
  await saveCheckpoint(path, b);
  await loadCheckpoint(path, c);
  expect(await c.values()).toEqual(await a.values());
});

describe('safetensors layout', () => {
  it('writes the header length as LE u64, pads the JSON with spaces to 8 bytes, then contiguous LE float32 data', () => {
    const bytes = encodeSafetensors(
      [
        ['w', { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
        ['b', { shape: [1], data: Float32Array.from([-0.5]) }],
        ['s', { shape: [], data: Float32Array.from([7]) }],
      ],
      { format: 'pt' },
    );
    const view = new DataView(bytes.buffer);
    const n = Number(view.getBigUint64(0, true));
    expect(view.getUint32(4, true)).toBe(0);
    expect(n % 8).toBe(0);
    expect((8 + n) % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    const json = '{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"F32","shape":[1],"data_offsets":[24,28]},"s":{"dtype":"F32","shape":[],"data_offsets":[28,32]}}';
    expect(text.trimEnd()).toBe(json);
    expect(text.length - json.length).toBeLessThan(8);
    expect(/^ *$/.test(text.slice(json.length))).toBe(true);
    expect(bytes.length).toBe(8 + n + 32);
    const data = bytes.slice(8 + n);
    for (let i = 0; i < 6; i++) expect(new DataView(data.buffer).getFloat32(4 * i, true)).toBe(i + 1);
    expect(new DataView(data.buffer).getFloat32(24, true)).toBe(-0.5);
    expect(new DataView(data.buffer).getFloat32(28, true)).toBe(7);
    const back = decodeSafetensors(bytes);
    expect([...back.tensors.keys()]).toEqual(['w', 'b', 's']);
    expect(back.tensors.get('w')).toEqual({ dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) });
    expect(back.tensors.get('s')!.shape).toEqual([]);
    expect(back.metadata).toEqual({ format: 'pt' });
  });

  it('reads files whose header order differs from the data order (as other writers produce)', () => {
    const bytes = raw(
      { b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] }, __metadata__: { x: 'y' }, a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } },
      f32bytes([1, 2, 3, 4]),
    );
    const { tensors } = decodeSafetensors(bytes);
    expect([...tensors.get('a')!.data]).toEqual([1, 2]);
    expect([...tensors.get('b')!.data]).toEqual([3, 4]);
    // An unpadded header is legal too.
    expect([...decodeSafetensors(raw({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32bytes([9]), false)).tensors.get('a')!.data]).toEqual([9]);
  });

  it('converts F16, BF16 and F64 only when asked', () => {
    const f16 = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00]).buffer);
    const bytes = raw({ h: { dtype: 'F16', shape: [6], data_offsets: [0, 12] } }, f16);
    expect(() => decodeSafetensors(bytes, { name: 'half.st' })).toThrow("half.st: tensor 'h': dtype F16 is not supported (pass { convert: true }");
    expect([...decodeSafetensors(bytes, { convert: true }).tensors.get('h')!.data]).toEqual([1, -2, 65504, 2 ** -24, -0, Infinity]);
    const bf = new Uint8Array(new Uint16Array([0x3f80, 0xc040]).buffer);
    expect([...decodeSafetensors(raw({ b: { dtype: 'BF16', shape: [2], data_offsets: [0, 4] } }, bf), { convert: true }).tensors.get('b')!.data]).toEqual([1, -3]);
    const f64 = new Uint8Array(Float64Array.from([0.5, -1.25]).buffer);
    const d = decodeSafetensors(raw({ d: { dtype: 'F64', shape: [2], data_offsets: [0, 16] } }, f64), { convert: true }).tensors.get('d')!;
    expect(d.dtype).toBe('F64');
    expect([...d.data]).toEqual([0.5, -1.25]);
  });

  it('refuses corrupt, truncated and inconsistent buffers with clear messages', () => {
    const ok = encodeSafetensors([['w', { shape: [4], data: Float32Array.from([1, 2, 3, 4]) }]]);
    let tried = 0;
    const bad = (bytes: Uint8Array, re: RegExp | string) => (tried++, expect(() => decodeSafetensors(bytes, { name: 'f.st' })).toThrow(re));
    onTestFinished(() => record('bad-input', 'malformed safetensors buffers (truncated, garbled JSON, bad dtypes, offsets, shapes, metadata, UTF-8)', { variants: tried }));
    bad(ok.subarray(0, 5), 'f.st: truncated: 5 bytes, too short for the 8-byte header length');
    const huge = ok.slice();
    new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
    bad(huge, /f\.st: header length 1099511627776 exceeds the file \(\d+ bytes\)/);
    const garbled = ok.slice();
    garbled[20] = 0x7d; // '}' in the middle of the JSON
    bad(garbled, /f\.st: header is not valid JSON/);
    bad(raw([1, 2], new Uint8Array(0)), /header does not start with '\{'/);
    bad(ok.subarray(0, ok.length - 3), /f\.st: tensor 'w': data_offsets \[0, 16\] run past the end of the data \(13 bytes\): truncated file\?/);
    bad(raw({ w: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, new Uint8Array(16)), "f.st: tensor 'w': dtype I64 is not supported (only floating-point tensors are read");
    bad(raw({ w: { dtype: 'Q4', shape: [2], data_offsets: [0, 1] } }, new Uint8Array(1)), "tensor 'w': unknown dtype 'Q4'");
    bad(raw({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }, new Uint8Array(16)), "tensor 'w': data_offsets [0, 16] hold 16 bytes, but F32 [3] needs 12");
    bad(raw({ w: { dtype: 'F32', shape: [2, -1], data_offsets: [0, 8] } }, new Uint8Array(8)), /"shape" must be an array of non-negative integers/);
    bad(raw({ w: { dtype: 'F32', shape: [2], data_offsets: [8] } }, new Uint8Array(8)), /"data_offsets" must be \[begin, end\]/);
    bad(raw({ w: { dtype: 'F32', shape: [2] } }, new Uint8Array(8)), /"data_offsets" must be/);
    bad(raw({ w: { shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8)), /missing or non-string "dtype"/);
    bad(
      raw({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Uint8Array(12)),
      "tensor 'b': data_offsets [4, 12] overlap the previous tensor's bytes (which end at 8)",
    );
    bad(raw({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), "tensor 'a': gap in the data before offset 4");
    bad(raw({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(9)), 'f.st: 5 bytes of trailing data after the last tensor');
    bad(raw({ __metadata__: { epoch: 3 } }, new Uint8Array(0)), `"__metadata__" value for key 'epoch' must be a string`);
    const latin = raw({ a: { dtype: 'F32', shape: [0], data_offsets: [0, 0] } }, new Uint8Array(0));
    latin[12] = 0xff;
    bad(latin, 'header is not valid UTF-8');
  });

  it('refuses to encode inconsistent entries', () => {
    expect(() => encodeSafetensors([['w', { shape: [3], data: new Float32Array(4) }]])).toThrow("tensor 'w': 4 values for shape [3] (3 elements)");
    expect(() => encodeSafetensors([['__metadata__', { shape: [1], data: new Float32Array(1) }]])).toThrow(/reserved/);
    expect(() => encodeSafetensors([['a', { shape: [1], data: new Float32Array(1) }], ['a', { shape: [1], data: new Float32Array(1) }]])).toThrow("duplicate tensor name 'a'");
  });
});

describe('loadCheckpoint refuses a mismatched or damaged file and leaves the model untouched', () => {
  let good: string;
  let model: Tiny;
  let original: Record<string, number[]>;
  beforeAll(async () => {
    good = file('good');
    await saveCheckpoint(good, new Tiny(SHAPES, 11, 'cpu'));
    model = new Tiny(SHAPES, 12, 'webgpu');
    original = await model.values();
  });
  const refused = async (path: string, re: RegExp | string, target: Tiny = model) => {
    await expect(loadCheckpoint(path, target)).rejects.toThrow(re);
    expect(target.loads).toBe(0);
    if (target === model) expect(await model.values()).toEqual(original);
  };

  it('corrupt header', async () => {
    const bytes = readFileSync(good);
    bytes[30] = 0x00;
    const path = file('corrupt');
    writeFileSync(path, bytes);
    record('fault', 'checkpoint file with a corrupted header byte', { expected: 'refused, naming the file; the model untouched' });
    await refused(path, new RegExp(`${path}: header is not valid JSON`));
  });

  it('truncated file', async () => {
    const bytes = readFileSync(good);
    const path = file('truncated');
    record('fault', 'checkpoint file truncated (in the data, in the header, empty)', { expected: 'refused, naming the file; the model untouched' });
    writeFileSync(path, bytes.subarray(0, bytes.length - 17));
    await refused(path, /run past the end of the data .*: truncated file\?/);
    writeFileSync(path, bytes.subarray(0, 40));
    await refused(path, /header length \d+ exceeds the file \(40 bytes\)/);
    writeFileSync(path, new Uint8Array(0));
    await refused(path, /truncated: 0 bytes/);
  });

  it('wrong dtype', async () => {
    const { tensors } = await loadSafetensors(good);
    const header: Record<string, object> = {};
    const parts: Uint8Array[] = [];
    let offset = 0;
    for (const [k, t] of tensors) {
      const bytes = k === 'fc.bias' ? new Uint8Array(new Float64Array(t.data).buffer) : new Uint8Array(t.data.buffer);
      header[k] = { dtype: k === 'fc.bias' ? 'F64' : 'F32', shape: t.shape, data_offsets: [offset, offset + bytes.length] };
      parts.push(bytes);
      offset += bytes.length;
    }
    const data = new Uint8Array(offset);
    parts.reduce((o, p) => (data.set(p, o), o + p.length), 0);
    const path = file('f64');
    writeFileSync(path, raw(header, data));
    await refused(path, "tensor 'fc.bias': dtype F64 is not supported");
  });

  it('shape mismatch names the keys and both shapes', async () => {
    const other = new Tiny({ ...SHAPES, 'fc.weight': [36, 10], 'conv.bias': [5] }, 1, 'cpu');
    const path = file('shapes');
    await saveCheckpoint(path, other);
    await refused(path, /shape mismatch: 'conv\.bias' \(checkpoint \[5\], model \[4\]\), 'fc\.weight' \(checkpoint \[36, 10\], model \[10, 36\]\)/);
  });

  it('missing and unexpected keys are named; strict: false loads the shared ones', async () => {
    const { 'bn.running_mean': _, ...fewer } = SHAPES;
    const other = new Tiny({ ...fewer, 'head.weight': [2, 2] }, 3, 'cpu');
    const path = file('keys');
    await saveCheckpoint(path, other);
    await refused(path, "missing keys (in the model, not in the checkpoint): 'bn.running_mean'; unexpected keys (in the checkpoint, not in the model): 'head.weight'");
    const lenient = new Tiny(SHAPES, 12, 'webgpu');
    const result = await loadCheckpoint(path, lenient, { strict: false });
    expect(result.missing).toEqual(['bn.running_mean']);
    expect(result.unexpected).toEqual(['head.weight']);
    const got = await lenient.values(), want = await other.values();
    expect(got['fc.weight']).toEqual(want['fc.weight']);
    expect(got['bn.running_mean']).toEqual(original['bn.running_mean']);
  });

  it('a mismatched shape is refused even with strict: false', async () => {
    const path = file('lenient-shape');
    await saveCheckpoint(path, new Tiny({ ...SHAPES, step: [1] }, 1, 'cpu'));
    await expect(loadCheckpoint(path, model, { strict: false })).rejects.toThrow("shape mismatch: 'step' (checkpoint [1], model [])");
    expect(await model.values()).toEqual(original);
  });
});

describe('atomic save', () => {
  it('a save that fails while reading tensors leaves the previous checkpoint intact and no temp file', async () => {
    const dir = join(tmp, 'atomic');
    mkdirSync(dir);
    const path = join(dir, 'best.safetensors');
    const m = new Tiny(SHAPES, 21, 'webgpu');
    await saveCheckpoint(path, m, { epoch: '1' });
    const before = readFileSync(path);
    m.params.get('fc.weight')!.dispose();
    record('fault', 'a checkpoint save failing while reading tensors', { expected: 'the previous checkpoint intact, no temp file' });
    await expect(saveCheckpoint(path, m, { epoch: '2' })).rejects.toThrow(/saveSafetensors .*best\.safetensors: cannot read tensor 'fc\.weight': .*used after dispose/);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(readdirSync(dir)).toEqual(['best.safetensors']);
    expect((await loadSafetensors(path)).metadata).toEqual({ epoch: '1' });
  });

  it('a save that fails after the temp file was written removes the temp file', async () => {
    const dir = join(tmp, 'atomic2');
    mkdirSync(dir);
    // Renaming a file over a non-empty directory fails after the temp file is complete.
    const target = join(dir, 'ckpt.safetensors');
    mkdirSync(target);
    writeFileSync(join(target, 'keep'), 'x');
    record('fault', 'a checkpoint save failing at the final rename', { expected: 'the temp file removed' });
    const t = on('cpu', () => wg.tensor([1, 2, 3]));
    await expect(saveSafetensors(target, { t })).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['ckpt.safetensors']);
    t.dispose();
  });

  it('overwrites atomically on success and the file loads back', async () => {
    const path = file('overwrite');
    await saveSafetensors(path, new Map([['a', on('cpu', () => wg.tensor([1, 2]))]]), { v: '1' });
    await saveSafetensors(path, { a: on('cpu', () => wg.tensor([3, 4, 5])) }, { v: '2' });
    const back = await loadSafetensors(path);
    expect(back.metadata).toEqual({ v: '2' });
    expect([...back.tensors.get('a')!.data]).toEqual([3, 4, 5]);
    expect(readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
