/**
 * The package's own folder, found from whichever file asks: the compiled file under dist/src/... or
 * the TypeScript source under src/... (ts-node, tests). Files that ship beside the code (registry/,
 * schemas/, scripts/) are found from here, so no module counts `../` against its own depth.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const PACKAGE_NAME = '@padim-inspect/node-red-padim';

function findRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      try {
        if ((JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME)
          return dir;
      } catch {
        // an unreadable package.json further down is not ours; keep looking up
      }
    }
    if (path.dirname(dir) === dir)
      throw new Error(`cannot find the ${PACKAGE_NAME} package folder above ${start}`);
  }
}

/** Absolute path of the package folder (the one holding package.json, registry/, schemas/). */
export const PACKAGE_ROOT = findRoot(__dirname);
