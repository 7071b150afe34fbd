/**
 * Images of a folder for the image-source node: sorted listing with a glob filter, and the
 * labels and masks of the MVTec AD layout (test/<label>/x.png, ground_truth/<label>/x_mask.png).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listImageFiles, type ListOptions } from '../image/image-files';
import { SupportError } from './errors';

/**
 * A small glob: `*` (any characters but /), `**` (any, / included), `?` (one character),
 * `{a,b}` (alternatives). Case-insensitive, as file names from cameras rarely agree on case.
 */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  let inBraces = false;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // `**/` matches any number of folders, including none
        const slash = glob[i + 2] === '/';
        re += slash ? '(?:.*/)?' : '.*';
        i += slash ? 2 : 1;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '{') {
      inBraces = true;
      re += '(?:';
    } else if (c === '}' && inBraces) {
      inBraces = false;
      re += ')';
    } else if (c === ',' && inBraces) re += '|';
    else re += c.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  if (inBraces) throw new SupportError('folder.unclosedBrace', { glob });
  return new RegExp(`^${re}$`, 'i');
}

/**
 * Makes a filter for file paths below `root`. A pattern with a `/` is matched against the path
 * relative to the folder (`test/*\/*.png`); without one, against the file name (`*.png`).
 * An empty pattern lets every image through.
 */
export function fileFilter(root: string, pattern: string | undefined): (file: string) => boolean {
  const p = (pattern ?? '').trim();
  if (!p) return () => true;
  const re = globToRegExp(p);
  const onPath = p.includes('/');
  return (file) => {
    const rel = path.relative(root, file).split(path.sep).join('/');
    return re.test(onPath ? rel : path.basename(file));
  };
}

/** The folder's image files, sorted in natural order, filtered by the glob pattern. */
export function listFolderImages(dir: string, opts: ListOptions & { pattern?: string } = {}): string[] {
  const stat = fs.statSync(dir, { throwIfNoEntry: false });
  if (!stat) throw new SupportError('folder.missing', { path: dir });
  if (!stat.isDirectory()) throw new SupportError('folder.notFolder', { path: dir });
  const keep = fileFilter(dir, opts.pattern);
  return listImageFiles(dir, { recursive: opts.recursive, warn: opts.warn }).filter(keep);
}

/**
 * Label and mask of an image in the MVTec AD layout: `<root>/test/<label>/x.png` has the label
 * (`good` or the defect type) and, for defects, `<root>/ground_truth/<label>/x_mask.png`;
 * `<root>/train/good/x.png` is `good`. Images elsewhere get neither.
 */
export function mvtecLabel(file: string): { label?: string; mask?: string } {
  const dir = path.dirname(file);
  const split = path.basename(path.dirname(dir));
  if (split !== 'test' && split !== 'train') return {};
  const label = path.basename(dir);
  if (split === 'train' || label === 'good') return { label };
  const root = path.dirname(path.dirname(dir));
  const stem = path.parse(file).name;
  for (const ext of ['.png', '.bmp', '.tif', '.tiff', '.jpg']) {
    const mask = path.join(root, 'ground_truth', label, `${stem}_mask${ext}`);
    if (fs.existsSync(mask)) return { label, mask };
  }
  return { label };
}
