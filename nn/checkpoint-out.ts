/**
 * Where a checkpoint will be written, checked before the work that produces it, so a
 * bad path fails at once instead of after an epoch of training:
 *
 *   await checkCheckpointOut('runs/lenet5.safetensors');                       // folder must exist
 *   await checkCheckpointOut(out, { input: 'in.safetensors', force: false });  // refuses out = input
 *
 * Refused: a path that is a folder, a folder that does not exist (it is not created: a
 * typo should not leave folders behind), a folder where no file can be created (read-only,
 * no permission), and — unless `force` — the input file itself (the same path, or another
 * name for the same file). The folder is proved writable the way the save writes: a temp
 * file is created next to the target and removed.
 */
import { open, stat, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { tempPathFor } from './safetensors-file.js';

/** A refused output path; `exitCode` 2 marks it as bad input for the command line. */
export class CheckpointOutError extends Error {
  readonly exitCode = 2;
  constructor(readonly option: string, readonly path: string, detail: string) {
    super(`${option} ${path}: ${detail}`);
    this.name = 'CheckpointOutError';
  }
}

export interface CheckpointOutOptions {
  /** The file the command reads; writing over it is refused unless `force`. */
  input?: string;
  /** Allow `path` to be the input file. */
  force?: boolean;
  /** How the path is named in messages (default '--out'). */
  option?: string;
  /** How the input is named in messages (default '--model'). */
  inputOption?: string;
}

export async function checkCheckpointOut(path: string, options: CheckpointOutOptions = {}): Promise<void> {
  const option = options.option ?? '--out';
  const fail = (detail: string): never => {
    throw new CheckpointOutError(option, path, detail);
  };
  if (path.trim() === '') fail('is empty');
  const target = await stat(path).catch(() => null);
  if (target?.isDirectory()) fail('is a folder: give the checkpoint file to write in it, e.g. a name ending in .safetensors');
  const dir = dirname(resolve(path));
  const folder = await stat(dir).catch(() => null);
  if (!folder) fail(`the folder ${dir} does not exist (it is not created: create it first)`);
  if (!folder!.isDirectory()) fail(`${dir} is not a folder`);
  if (options.input !== undefined) {
    const input = await stat(options.input).catch(() => null);
    const same = resolve(path) === resolve(options.input) || (target && input && target.dev === input.dev && target.ino === input.ino);
    if (same && !options.force) {
      fail(`is the input checkpoint (${options.inputOption ?? '--model'}): saving would overwrite it; choose another file, or pass --force to overwrite it`);
    }
  }
  const probe = tempPathFor(path);
  try {
    const handle = await open(probe, 'wx', 0o644);
    await handle.close();
  } catch (e) {
    fail(`no file can be written in ${dir} (${(e as Error).message})`);
  }
  await unlink(probe).catch(() => undefined);
}
