/**
 * Copies a file to a name that must not exist yet, so that whoever lists the folder sees either
 * no file or the whole file, never a half-copied one. A plain `copyFile(..., COPYFILE_EXCL)`
 * creates the target first and fills it afterwards: a folder watcher (or a person training from
 * the defect folder) that reads it in between gets a truncated image.
 *
 * The bytes go to a temporary name beside the target first; a hard link then publishes them
 * under the target name, which fails with EEXIST instead of overwriting (rename would replace).
 */
import { promises as fsp } from 'node:fs';
import { constants } from 'node:fs';
import { tempPathFor } from './atomic-write';

/** Codes meaning "this file system has no hard links" (FAT, some network shares). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/**
 * Copies `source` to `target`. Rejects with code EEXIST (and leaves `target` untouched) when
 * `target` exists. On a file system without hard links it falls back to an exclusive copy,
 * which is still never an overwrite but may be seen half-written for a moment.
 */
export async function copyFileExclusive(source: string, target: string): Promise<void> {
  const temp = tempPathFor(target);
  try {
    await fsp.copyFile(source, temp, constants.COPYFILE_EXCL);
    try {
      await fsp.link(temp, target);
    } catch (err) {
      if (!NO_HARD_LINKS.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
      await fsp.copyFile(source, target, constants.COPYFILE_EXCL);
    }
  } finally {
    await fsp.rm(temp, { force: true });
  }
}
