/**
 * Reading a file whose path came from outside (a message, a command line, a model header):
 * only a regular file, and only up to a size, checked before the first byte is read.
 *
 * A device such as /dev/zero never ends, so reading it grows memory without bound; a FIFO blocks
 * the reader (a libuv thread) until something writes to it, and four of them stall every file
 * read in the process. So the file is opened non-blocking (opening a FIFO then returns at once),
 * its type and size are taken from the open handle (no window between check and read), and only
 * then is it read.
 */
import * as fs from 'node:fs';

/** O_NONBLOCK: opening a FIFO does not wait for a writer; regular files are unaffected. */
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);

/** A path that is not a regular file, or a file larger than the caller accepts. */
export class FileKindError extends Error {
  override name = 'FileKindError';
  constructor(
    readonly code: 'NOT_REGULAR' | 'TOO_LARGE',
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** What a stat says the path is, in words for an error message. */
function kindOf(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO (named pipe)';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device file';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

function checkStat(path: string, stat: fs.Stats, maxBytes: number, what: string): number {
  if (!stat.isFile())
    throw new FileKindError('NOT_REGULAR', path, `${what} ${path} is ${kindOf(stat)}, not a regular file`);
  if (stat.size > maxBytes)
    throw new FileKindError(
      'TOO_LARGE',
      path,
      `${what} ${path} is ${stat.size} bytes, more than the ${maxBytes} accepted`,
    );
  return stat.size;
}

/** Reads a regular file of at most `maxBytes`; `what` names it in errors ("image file"). */
export async function readRegularFile(path: string, maxBytes: number, what: string): Promise<Buffer> {
  const fh = await fs.promises.open(path, OPEN_FLAGS);
  try {
    const size = checkStat(path, await fh.stat(), maxBytes, what);
    const bytes = Buffer.alloc(size);
    let done = 0;
    // a file that shrank while being read gives what is there; one that grew, its first `size` bytes
    while (done < size) {
      const { bytesRead } = await fh.read(bytes, done, size - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done === size ? bytes : bytes.subarray(0, done);
  } finally {
    await fh.close();
  }
}

/** The synchronous form, for code that already reads synchronously (backbone files at load). */
export function readRegularFileSync(path: string, maxBytes: number, what: string): Buffer {
  const fd = fs.openSync(path, OPEN_FLAGS);
  try {
    const size = checkStat(path, fs.fstatSync(fd), maxBytes, what);
    const bytes = Buffer.alloc(size);
    let done = 0;
    while (done < size) {
      const n = fs.readSync(fd, bytes, done, size - done, done);
      if (n === 0) break;
      done += n;
    }
    return done === size ? bytes : bytes.subarray(0, done);
  } finally {
    fs.closeSync(fd);
  }
}

/** True when `path` is a regular file (links followed); false for anything else or nothing there. */
export function isRegularFile(path: string): boolean {
  try {
    return fs.statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
  } catch {
    return false;
  }
}
