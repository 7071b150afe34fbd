/**
 * Finding image files: a folder (sorted, optionally recursive) or an explicit list.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp', '.gif'];

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

/** Natural order, so 2.png comes before 10.png, as a person numbering files expects. */
const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/** Image files of a folder, sorted; symlinks followed. */
export function listImageFiles(dir: string, opts: { recursive?: boolean } = {}): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    const entries = fs
      .readdirSync(d, { withFileTypes: true })
      .sort((a, b) => collator.compare(a.name, b.name));
    for (const e of entries) {
      const full = path.join(d, e.name);
      const stat = e.isSymbolicLink() ? fs.statSync(full, { throwIfNoEntry: false }) : undefined;
      const isDir = e.isDirectory() || stat?.isDirectory();
      const isFile = e.isFile() || stat?.isFile();
      if (isDir && opts.recursive) visit(full);
      else if (isFile && isImageFile(e.name)) out.push(full);
    }
  };
  visit(dir);
  return out;
}

/**
 * Expands command-line arguments (folders and files) into image files. A folder
 * contributes its images; a file is taken as it is (so a user can pass any name).
 */
export function resolveImageArgs(args: string[], opts: { recursive?: boolean } = {}): string[] {
  const out: string[] = [];
  for (const a of args) {
    const stat = fs.statSync(a, { throwIfNoEntry: false });
    if (!stat) throw new Error(`no such file or folder: ${a}`);
    if (stat.isDirectory()) {
      const files = listImageFiles(a, opts);
      if (files.length === 0) throw new Error(`no image files (${IMAGE_EXTENSIONS.join(' ')}) in ${a}`);
      out.push(...files);
    } else {
      out.push(a);
    }
  }
  return out;
}
