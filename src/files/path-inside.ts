/** Whether a path lies inside a folder, by path text alone (the caller resolves links first). */
import * as path from 'node:path';

/** True when `child` is `dir` or lies below it (both absolute, resolved). */
export function isInside(dir: string, child: string): boolean {
  const rel = path.relative(dir, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
