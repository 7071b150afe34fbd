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
import { isInside } from '../files/path-inside';
import { SupportError, type PathKind, type SupportData } from './errors';

/** A path outside the allowed directories, or an allow-list setting that cannot be used. */
export class PathNotAllowedError<C extends PathCode = PathCode> extends SupportError<C> {
  override name = 'PathNotAllowedError';
  constructor(
    readonly path: string,
    code: C,
    data: SupportData<C>,
  ) {
    super(code, data);
  }
}

type PathCode = 'path.allowListSetting' | 'path.unusable' | 'path.outside';

/**
 * `p` made absolute by joining it to `base` as text, without normalising it: `..` must be applied
 * after the symbolic links before it are followed (as the kernel does when the file is opened),
 * not removed from the text first. `/data/images/x/../key` with a link `x -> /secret/sub` opens
 * `/secret/key`, while path.resolve would make it `/data/images/key`.
 */
export function joinUnnormalised(base: string, p: string): string {
  return path.isAbsolute(p) ? p : `${base}${path.sep}${p}`;
}

/**
 * The real location of `p` (absolute, not normalised: see joinUnnormalised): symbolic links and
 * `..` resolved in the order the kernel resolves them. When the path does not exist (yet), the
 * longest existing prefix of its components is resolved and the rest applied to it as text:
 * parts that do not exist cannot be links.
 */
export function realLocation(p: string): string {
  const parts = p.split(path.sep);
  for (let n = parts.length; n > 0; n--) {
    const prefix = parts.slice(0, n).join(path.sep) || path.sep;
    let real: string;
    try {
      real = fs.realpathSync.native(prefix);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // ENOENT: not there yet; ENOTDIR: a file used as a folder, no further than its parent
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      continue;
    }
    return path.resolve(real, ...parts.slice(n));
  }
  return path.resolve(p);
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
      throw new PathNotAllowedError('', 'path.allowListSetting', { value: JSON.stringify(allowed) });
    }
    this.roots = list.map((d: string) => realLocation(path.resolve(baseDir, d.trim())));
  }

  get restricted(): boolean {
    return this.roots !== undefined;
  }

  /**
   * `p` as an absolute path (relative ones from baseDir) after checking that its real location is
   * inside an allowed directory; with an allow-list, the real location itself, which is what the
   * caller must open. Throws PathNotAllowedError naming the path when it is not.
   * `what` names the path in the message ("model file", "image folder"; a PathKind, which the
   * nodes translate).
   */
  check(p: string, what: PathKind | (string & {}) = 'path'): string {
    if (typeof p !== 'string' || p.trim() === '' || p.includes('\0')) {
      throw new PathNotAllowedError(String(p), 'path.unusable', { what, path: JSON.stringify(p) });
    }
    if (!this.roots) return path.resolve(this.baseDir, p.trim());
    const absolute = joinUnnormalised(this.baseDir, p.trim());
    const real = realLocation(absolute);
    // the caller opens the resolved path, so what is opened is what was checked
    if (this.roots.some((root) => isInside(root, real))) return real;
    const shown = real === absolute ? absolute : `${absolute} (really ${real})`;
    throw new PathNotAllowedError(absolute, 'path.outside', {
      what,
      path: shown,
      allowed: this.roots.join(', '),
    });
  }
}
