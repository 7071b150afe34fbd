/**
 * Which files the nodes may read and write: an allow-list of directories.
 *
 * File paths reach the nodes from the editor (folders, model files) and from messages
 * (msg.payload, msg.folder, msg.filename, msg.image), and messages can come from outside the
 * plant network's trust boundary (MQTT, HTTP). A path is allowed when, after `..` and symbolic
 * links are resolved, it lies inside one of the allowed directories. Resolving first matters:
 * `/data/images/../../etc/passwd` and a link `/data/images/x -> /etc` both name files outside
 * `/data/images`, although their text starts with it.
 *
 * For a path that does not exist yet (a model about to be written), the nearest existing
 * ancestor is resolved and the rest is appended, so a link in the existing part still counts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A path outside the allowed directories, or an allow-list setting that cannot be used. */
export class PathNotAllowedError extends Error {
  override name = 'PathNotAllowedError';
  readonly code = 'PATH_NOT_ALLOWED';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The real location of `p` (absolute): symbolic links and `..` resolved. Parts that do not
 * exist yet are appended to the real path of the nearest existing ancestor.
 */
export function realLocation(p: string): string {
  const absolute = path.resolve(p);
  const missing: string[] = [];
  let existing = absolute;
  for (;;) {
    try {
      return path.join(fs.realpathSync.native(existing), ...missing.reverse());
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // ENOENT: not there yet; ENOTDIR: a file used as a folder, no further than its parent
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      const parent = path.dirname(existing);
      if (parent === existing) return absolute;
      missing.push(path.basename(existing));
      existing = parent;
    }
  }
}

/** True when `child` is `dir` or lies below it (both absolute, resolved). */
export function isInside(dir: string, child: string): boolean {
  const rel = path.relative(dir, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

export class PathPolicy {
  /** the allowed directories, resolved; undefined: every path is allowed */
  readonly roots: readonly string[] | undefined;

  /**
   * @param allowed the setting's value: directories (absolute, or relative to `baseDir`), or
   *   undefined for no restriction. Anything else is a configuration error, thrown here.
   * @param baseDir where relative paths are taken from (Node-RED's user directory)
   */
  constructor(
    allowed: unknown,
    readonly baseDir: string,
  ) {
    if (allowed === undefined || allowed === null) {
      this.roots = undefined;
      return;
    }
    const list = typeof allowed === 'string' ? [allowed] : allowed;
    if (!Array.isArray(list) || list.some((d) => typeof d !== 'string' || d.trim() === '')) {
      throw new PathNotAllowedError(
        '',
        `padimAllowedPaths must be a list of directories (text), e.g. ['/data/images'], got ${JSON.stringify(allowed)}`,
      );
    }
    this.roots = list.map((d: string) => realLocation(path.resolve(baseDir, d.trim())));
  }

  get restricted(): boolean {
    return this.roots !== undefined;
  }

  /**
   * `p` as an absolute path (relative ones from baseDir), after checking that its real location
   * is inside an allowed directory. Throws PathNotAllowedError naming the path when it is not.
   * `what` names the path in the message ("model file", "image folder").
   */
  check(p: string, what = 'path'): string {
    if (typeof p !== 'string' || p.trim() === '' || p.includes('\0')) {
      throw new PathNotAllowedError(String(p), `the ${what} is not a usable path: ${JSON.stringify(p)}`);
    }
    const absolute = path.resolve(this.baseDir, p.trim());
    if (!this.roots) return absolute;
    const real = realLocation(absolute);
    if (this.roots.some((root) => isInside(root, real))) return absolute;
    const shown = real === absolute ? absolute : `${absolute} (really ${real})`;
    throw new PathNotAllowedError(
      absolute,
      `the ${what} ${shown} is outside the directories allowed by padimAllowedPaths in Node-RED's settings (${this.roots.join(', ')})`,
    );
  }
}
