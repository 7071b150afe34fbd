/**
 * Crash-safe file replacement. The data goes to a temporary file next to the target, is
 * flushed to disk, and is then renamed over the target; finally the directory is flushed so
 * the rename itself survives a power cut. A reader (or a restart after a crash) sees either
 * the old file or the complete new one, never a half-written file.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/**
 * A fresh temporary name beside `path`. Same directory, because rename is only atomic within
 * one file system; pid + random so concurrent writers (threads, processes) never collide.
 */
export function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** A temporary file of a writer that died is removed by a later write after this long. */
export const STALE_TEMP_MS = 60 * 60 * 1000;

/** True when process `pid` exists on this machine (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temporary files that writers of `path` killed mid-write left behind (a power cut, kill
 * -9 during a fit): they can be as large as the model. Only files whose process is gone and that
 * are older than STALE_TEMP_MS, so a writer on another machine sharing the folder is left alone.
 * Returns the names removed.
 */
export async function removeStaleTemporaries(path: string, now = Date.now()): Promise<string[]> {
  const prefix = `${basename(path)}.tmp-`;
  const removed: string[] = [];
  const names = await fsp.readdir(dirname(path)).catch(() => [] as string[]);
  for (const name of names) {
    const m = name.startsWith(prefix) ? /^(\d+)-[0-9a-f]{12}$/.exec(name.slice(prefix.length)) : null;
    if (!m || processAlive(Number(m[1]))) continue;
    const file = join(dirname(path), name);
    const stat = await fsp.stat(file).catch(() => undefined);
    if (!stat?.isFile() || now - stat.mtimeMs < STALE_TEMP_MS) continue;
    await fsp.rm(file, { force: true }).then(
      () => removed.push(name),
      () => undefined,
    );
  }
  return removed;
}

/** Error codes meaning "this platform cannot fsync a directory" (Windows, some network FS). */
const DIR_SYNC_UNSUPPORTED = new Set(['EISDIR', 'EPERM', 'EACCES', 'EINVAL', 'ENOTSUP', 'EBADF']);

/**
 * Flush a directory's entries so that a rename into it is durable. Where the platform cannot
 * do this, there is nothing better to do than to carry on.
 */
export async function fsyncDirectory(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await fsp.open(dir, 'r');
    await fh.sync();
  } catch (err) {
    if (!DIR_SYNC_UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/**
 * Replace `path` atomically with whatever `write` puts into the (new, empty) file handle.
 * On any failure the temporary file is removed, the error is rethrown, and `path` is untouched.
 * Temporary files of earlier writers that died are cleaned up first (removeStaleTemporaries).
 */
export async function writeAtomically(path: string, write: (fh: FileHandle) => Promise<void>): Promise<void> {
  await removeStaleTemporaries(path);
  const tmp = tempPathFor(path);
  let fh: FileHandle | undefined;
  let created = false;
  try {
    // 'wx': never reuse an existing file; if the name is somehow taken it is not ours to delete.
    fh = await fsp.open(tmp, 'wx');
    created = true;
    await write(fh);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await fsp.rename(tmp, path);
  } catch (err) {
    await fh?.close().catch(() => undefined);
    if (created) await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  await fsyncDirectory(dirname(path));
}

/** Atomically replace `path` with `data` (strings are written as UTF-8). For small files. */
export async function writeFileAtomic(path: string, data: Buffer | string): Promise<void> {
  await writeAtomically(path, (fh) => fh.writeFile(data));
}
