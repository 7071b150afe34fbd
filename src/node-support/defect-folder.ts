/**
 * Files an NG part an operator confirmed as a defect: the image is copied into the defect
 * folder under a name that starts with its inspection time (so the folder lists in line order
 * and two parts with the same file name never overwrite each other), with a JSON file beside it
 * holding the inspection result and the verdict, for whoever trains or audits later.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../files/atomic-write';
import { copyFileExclusive } from '../files/exclusive-copy';
import { isRegularFile } from '../files/regular-file';
import { SupportError } from './errors';

export interface FiledDefect {
  /** the copied image */
  image: string;
  /** the JSON file beside it */
  record: string;
}

/** "2026-12-02T13:40:05.123Z" -> "20261202T134005123Z", a name part every file system takes. */
function stamp(timestamp: string): string {
  const t = new Date(timestamp);
  const iso = Number.isNaN(t.getTime()) ? new Date().toISOString() : t.toISOString();
  return iso.replace(/[-:.]/g, '');
}

/**
 * Copies `image` into `folder` (created when missing) and writes `<name>.json` with `record`.
 * Never overwrites: a taken name gets -2, -3, ... Throws a readable error when `image` is not
 * a regular file (it may have been moved since it was inspected).
 */
export async function fileDefect(
  image: string,
  folder: string,
  timestamp: string,
  record: object,
): Promise<FiledDefect> {
  if (!isRegularFile(image)) throw new SupportError('defect.imageGone', { path: image });
  await fs.promises.mkdir(folder, { recursive: true });
  const ext = path.extname(image);
  const base = `${stamp(timestamp)}-${path.basename(image, ext)}`;
  for (let n = 1; n < 1000; n++) {
    const name = n === 1 ? base : `${base}-${n}`;
    const target = path.join(folder, name + ext);
    try {
      await copyFileExclusive(image, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw err;
    }
    const json = path.join(folder, `${name}.json`);
    await writeFileAtomic(json, JSON.stringify(record, null, 2) + '\n');
    return { image: target, record: json };
  }
  throw new SupportError('defect.folderFull', { folder, name: base });
}
