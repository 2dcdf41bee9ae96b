/** Temp files that a writer killed between writing and renaming left next to a safetensors file are removed by the next save to that path, never another live process's. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../index.js';
import { removeStaleTempFiles, saveSafetensors } from '../nn/safetensors-file.js';

let dir: string;
beforeAll(async () => {
  await wg.init({ backend: 'cpu' });
  dir = mkdtempSync(join(tmpdir(), 'wgprune-temp-'));
});
afterAll(() => {
  wg.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

const fresh = (name: string) => {
  const d = join(dir, name);
  mkdirSync(d);
  return d;
};

describe('temp files of a killed writer', () => {
  /** The id of a process that has exited. */
  function deadPid(): number {
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    return Number(child.stdout);
  }

  it('the next save to the same path removes them; a live process\'s temp file and other files\' stay', async () => {
    const d = fresh('tmp');
    const path = join(d, 'best.safetensors');
    const dead = deadPid();
    const stale = `.best.safetensors.${dead}.0123456789ab.tmp`;
    const live = `.best.safetensors.${process.ppid}.0123456789ab.tmp`; // the test runner: alive
    const mine = `.best.safetensors.${process.pid}.aaaaaaaaaaaa.tmp`; // this process: perhaps a write in progress
    const otherFile = `.other.safetensors.${dead}.0123456789ab.tmp`;
    const notOurs = `.best.safetensors.${dead}.tmp`;
    for (const f of [stale, live, mine, otherFile, notOurs]) writeFileSync(join(d, f), 'partial');
    await saveSafetensors(path, { x: wg.tensor([1, 2]) });
    expect(readdirSync(d).sort()).toEqual([live, mine, otherFile, notOurs, 'best.safetensors'].sort());
    expect(await removeStaleTempFiles(path)).toEqual([]);
  });

  it('removeStaleTempFiles on a missing folder removes nothing and does not throw', async () => {
    expect(await removeStaleTempFiles(join(dir, 'no-such-folder', 'x.safetensors'))).toEqual([]);
  });
});
