/**
 * safetensors files (Node): atomic writes and validated reads of the format in ./safetensors.ts.
 */
import { open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Tensor } from '../engine/internal.js';
import { type DecodedSafetensors, type DecodeOptions, decodeSafetensors, encodeSafetensors, readTensorEntries, type SafetensorsMetadata } from './safetensors.js';

/** 12 random hex digits (Web Crypto, global in Node 20 and browsers). */
function randomHex(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A fresh temp file name next to `path`, owned by this process: `.NAME.PID.RANDOM.tmp`. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomHex()}.tmp`);
}

/** True when a process with this id exists (one we may not signal counts: it is alive). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temp files that an earlier, killed writer of `path` left behind
 * (`.NAME.PID.RANDOM.tmp`, see writeFileAtomic) — only those whose process is gone;
 * a live process's temp file (this one's included) is another write in progress.
 * Returns the names removed. Best effort: an unreadable folder removes nothing.
 */
export async function removeStaleTempFiles(path: string): Promise<string[]> {
  const dir = dirname(path);
  const prefix = `.${basename(path)}.`;
  const names = await readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const m = /^(\d+)\.[0-9a-f]{12}\.tmp$/.exec(name.slice(prefix.length));
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    if (await unlink(join(dir, name)).then(() => true, () => false)) removed.push(name);
  }
  return removed;
}

/**
 * Writes `bytes` to `path` atomically: temp file in the same directory, fsync, rename.
 * Temp files of earlier writers of `path` that were killed mid-write are removed first.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  await removeStaleTempFiles(path);
  const tmp = tempPathFor(path);
  const handle = await open(tmp, 'wx', 0o644);
  try {
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  // Persist the rename itself (best effort: not every platform can fsync a directory).
  try {
    const dir = await open(dirname(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    /* ignore */
  }
}

/**
 * Reads every tensor back to the host and writes a safetensors file atomically:
 * a failure at any point (a tensor that cannot be read, a full disk, a crash)
 * leaves any previous file at `path` untouched and no temp file behind.
 */
export async function saveSafetensors(path: string, tensors: Map<string, Tensor> | Record<string, Tensor>, metadata?: SafetensorsMetadata): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(await readTensorEntries(`saveSafetensors ${path}`, tensors), metadata));
}

/** Reads and validates a safetensors file; errors name the path. */
export async function loadSafetensors(path: string, options: Omit<DecodeOptions, 'name'> = {}): Promise<DecodedSafetensors> {
  const bytes = await readFile(path);
  return decodeSafetensors(bytes, { ...options, name: path });
}
