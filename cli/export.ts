/**
 * `wgprune export`: a checkpoint as an ONNX model file.
 *
 *   wgprune export --model lenet5-pruned.safetensors --compact --out lenet5-small.onnx
 *
 * The checkpoint is loaded as `wgprune prune` and `wgprune study` load it (architecture from the
 * file or --arch; a masked checkpoint comes back with its masks). Without --compact the file
 * holds the effective weights (masks made permanent, zeros kept); with --compact the pruned
 * filters and neurons are physically removed first (pruning.compact). --verify runs the file on
 * ONNX Runtime and compares its outputs with the model's own on a random batch.
 *
 * Every input is checked before the file is written; refused input exits with code 2, naming the
 * flag. The file is written atomically (temporary file, then rename).
 */
import { randomBytes } from 'node:crypto';
import { rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { Generator, init, noGrad, tensor } from '../engine/internal.js';
import { countParameters, MODELS, type Module, toOnnx } from '../nn/index.js';
import { MAX_OPSET } from '../nn/onnx/graph.js';
import { MIN_EXPORT_OPSET } from '../nn/onnx/export.js';
import { compact, loadModelCheckpoint } from '../pruning/node.js';
import { runOnOrt } from '../measure/ort.js';

export interface ExportOptions {
  model: string;
  arch?: string;
  compact?: boolean;
  out: string;
  /** A number, or the flag's text (checked here). */
  opset?: number | string;
  batch?: number | string;
  verify?: boolean;
  backend?: 'webgpu' | 'cpu';
  log?: (line: string) => void;
}

export interface ExportResult {
  arch: string;
  bytes: number;
  parameters: { before: number; after: number };
  /** Largest |ONNX Runtime − ours| / max |ours| on the check batch, when --verify. */
  verified?: number;
}

/** Refused input: exit code 2, naming the flag. */
function refuse(flag: string, detail: string): never {
  throw Object.assign(new Error(`export: ${flag} ${detail}`), { exitCode: 2 });
}

function integer(flag: string, v: unknown, min: number, max = Infinity): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) refuse(flag, `must be an integer${max < Infinity ? ` from ${min} to ${max}` : ` of at least ${min}`}, got '${v}'`);
  return n;
}

async function checkOut(path: string): Promise<void> {
  if (!path || path.trim() === '') refuse('--out', 'is empty');
  const target = await stat(path).catch(() => null);
  if (target?.isDirectory()) refuse('--out', `${path} is a folder: give the .onnx file to write in it`);
  const dir = dirname(resolve(path));
  const folder = await stat(dir).catch(() => null);
  if (!folder?.isDirectory()) refuse('--out', `${path}: the folder ${dir} does not exist (it is not created)`);
}

async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${resolve(path)}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, bytes, { flag: 'wx' });
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    refuse('--out', `${path} cannot be written (${(e as Error).message})`);
  }
}

async function outputsOf(model: Module, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const y = noGrad(() => model.forward(tensor(x, shape)));
  const v = await y.toArray();
  y.dispose();
  return v;
}

export async function exportCommand(o: ExportOptions): Promise<ExportResult> {
  const log = o.log ?? console.log;
  const opset = integer('--opset', o.opset ?? MIN_EXPORT_OPSET, MIN_EXPORT_OPSET, MAX_OPSET);
  const batch = o.batch === undefined ? undefined : integer('--batch', o.batch, 1);
  if (o.arch !== undefined && !MODELS.has(o.arch)) refuse('--arch', `'${o.arch}' is not a known architecture (known: ${[...MODELS.keys()].join(', ')})`);
  if (!(await stat(o.model).catch(() => null))?.isFile()) refuse('--model', `${o.model}: no such file`);
  await checkOut(o.out);

  await init({ backend: o.backend ?? 'cpu' });
  const loaded = await loadModelCheckpoint(o.model, { arch: o.arch }).catch((e: Error) => refuse('--model', e.message));
  let model: Module = loaded.model;
  model.eval();
  const inputShape = [...MODELS.get(loaded.arch)!.inputShape];
  const before = countParameters(model);
  if (o.compact) {
    model = await compact(loaded.model, { inputShape });
    model.eval();
  }
  const after = countParameters(model);
  const bytes = await toOnnx(model, { inputShape, opset, batch });
  const result: ExportResult = { arch: loaded.arch, bytes: bytes.length, parameters: { before, after } };

  if (o.verify) {
    const shape = [batch ?? 4, ...inputShape];
    const g = new Generator(0);
    const x = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => g.normal());
    const ours = await outputsOf(model, x, shape);
    const theirs = (await runOnOrt(bytes, x, shape)).data;
    let scale = 0, worst = 0;
    for (let i = 0; i < ours.length; i++) {
      scale = Math.max(scale, Math.abs(ours[i]!));
      worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!));
    }
    result.verified = scale > 0 ? worst / scale : worst;
    if (!(result.verified <= 1e-4)) throw new Error(`export: ONNX Runtime's outputs differ from the model's by ${result.verified.toExponential(2)} (relative); the file was not written`);
  }
  await writeAtomically(o.out, bytes);
  const masked = loaded.masked.length ? `, ${loaded.masked.length} masked parameter(s) made permanent` : '';
  const params = o.compact ? `${before.toLocaleString('en-US')} → ${after.toLocaleString('en-US')} parameters after compaction` : `${after.toLocaleString('en-US')} parameters`;
  log(`${loaded.arch} from ${o.model}${masked}: ${params}; input [${batch ?? 'N'}, ${inputShape.join(', ')}], opset ${opset}`);
  if (result.verified !== undefined) log(`verified on ONNX Runtime: max |Δ| / max |y| = ${result.verified.toExponential(2)}`);
  log(`wrote ${o.out} (${bytes.length.toLocaleString('en-US')} bytes)`);
  return result;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write a checkpoint as an ONNX model (opset 13+): dense, masked (pruning made permanent) or compacted (pruned filters and neurons removed)')
    .requiredOption('-m, --model <file>', 'checkpoint (.safetensors written by wgprune train or prune; masked or not)')
    .option('--arch <name>', `architecture of the checkpoint: ${[...MODELS.keys()].join(' | ')} (default: read from the file)`)
    .option('--compact', 'remove the pruned filters and neurons first (a smaller dense model)')
    .requiredOption('-o, --out <file>', 'the .onnx file to write (its folder must exist)')
    .option('--opset <n>', `ONNX operator set, ${MIN_EXPORT_OPSET} to ${MAX_OPSET} (default ${MIN_EXPORT_OPSET})`)
    .option('--batch <n>', 'a fixed batch size (default: a symbolic batch axis N)')
    .option('--verify', 'run the file on ONNX Runtime and compare its outputs with the model\'s (1e-4 relative) before writing it')
    .action(async (opts: { model: string; arch?: string; compact?: boolean; out: string; opset?: string; batch?: string; verify?: boolean }) => {
      await exportCommand(opts);
    });
}
