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

export interface ListOptions {
  recursive?: boolean;
  /**
   * Told about each entry skipped because it cannot be followed (a link that loops, or that
   * points where this process may not look); default console.warn. One bad entry never stops
   * the listing: the folder's other images are still found.
   */
  warn?: (message: string) => void;
}

/** What a symbolic link points to; undefined (after a warning) when it cannot be followed. */
function followLink(full: string, warn: (message: string) => void): fs.Stats | undefined {
  try {
    return fs.statSync(full, { throwIfNoEntry: false });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ELOOP' ? 'the link loops' : ((err as Error).message ?? String(err));
    warn(`skipped ${full}: ${why}`);
    return undefined;
  }
}

/** Image files of a folder, sorted; symlinks followed (ones that cannot be are skipped with a warning). */
export function listImageFiles(dir: string, opts: ListOptions = {}): string[] {
  const out: string[] = [];
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  const visit = (d: string) => {
    const entries = fs
      .readdirSync(d, { withFileTypes: true })
      .sort((a, b) => collator.compare(a.name, b.name));
    for (const e of entries) {
      const full = path.join(d, e.name);
      const stat = e.isSymbolicLink() ? followLink(full, warn) : undefined;
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
export function resolveImageArgs(args: string[], opts: ListOptions = {}): string[] {
  const out: string[] = [];
  for (const a of args) {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(a, { throwIfNoEntry: false });
    } catch {
      // a link that loops (ELOOP) and the like: taken as a file, whose reading reports the problem
      out.push(a);
      continue;
    }
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
