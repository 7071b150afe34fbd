/**
 * Crash-safe file replacement. The data goes to a temporary file next to the target, is
 * flushed to disk, and is then renamed over the target; finally the directory is flushed so
 * the rename itself survives a power cut. A reader (or a restart after a crash) sees either
 * the old file or the complete new one, never a half-written file.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';

/**
 * A fresh temporary name beside `path`. Same directory, because rename is only atomic within
 * one file system; pid + random so concurrent writers (threads, processes) never collide.
 */
export function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
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
 */
export async function writeAtomically(path: string, write: (fh: FileHandle) => Promise<void>): Promise<void> {
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
