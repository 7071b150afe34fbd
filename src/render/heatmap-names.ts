/**
 * Where `padim score --heatmaps DIR` writes each image's heatmap: one distinct file per image.
 *
 * Named by the file stem alone, a/x.png, b/x.png and a/x.jpg would overwrite each other. So the
 * folders below the images' common folder are kept (a/x.png, b/x.png), and where two images would
 * still share a name the original extension stays in it (x.png.png beside x.jpg.png). In the
 * common case, one folder of differently named images, the heatmap of x.png is x.png in DIR.
 */
import * as path from 'node:path';

/** The deepest folder containing every one of `files` (absolute). */
function commonFolder(files: string[]): string {
  const dirs = files.map((f) => path.dirname(path.resolve(f)).split(path.sep));
  const first = dirs[0];
  let n = first.length;
  for (const d of dirs) {
    let k = 0;
    while (k < n && k < d.length && d[k] === first[k]) k++;
    n = k;
  }
  return first.slice(0, n).join(path.sep) || path.sep;
}

/** Counts of each name in `names`. */
function counts(names: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const n of names) m.set(n, (m.get(n) ?? 0) + 1);
  return m;
}

/**
 * Heatmap paths relative to the heatmap folder, one per file and all different (the same file
 * given twice gets a -2 name the second time).
 */
export function heatmapNames(files: string[]): string[] {
  if (files.length === 0) return [];
  const root = commonFolder(files);
  const rel = files.map((f) => path.relative(root, path.resolve(f)));
  const short = rel.map((r) => {
    const p = path.parse(r);
    return path.join(p.dir, `${p.name}.png`);
  });
  const shortCounts = counts(short);
  const taken = new Set<string>();
  return rel.map((r, i) => {
    const base = shortCounts.get(short[i])! > 1 ? `${r}.png` : short[i];
    let name = base;
    for (let k = 2; taken.has(name); k++) name = base.replace(/\.png$/, `-${k}.png`);
    taken.add(name);
    return name;
  });
}
