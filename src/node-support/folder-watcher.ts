/**
 * The image source's watch mode: a folder a camera drops files into, each new file delivered
 * once, when it is fully written.
 *
 * What is watched: the files `list()` returns (the folder's images, filtered as the node is set);
 * those there at the start are not new. When: on each change event of the folder and on a full
 * rescan every `rescanMs` (network file systems, SMB or NFS, send no events). Debouncing: scans
 * never overlap; events during a scan ask for one more pass after it, however many there were. A
 * new file counts as written once its size is above zero and the same over `settleMs`; a file
 * that disappears first is not delivered. Each path is delivered at most once.
 */
import * as fs from 'node:fs';

/** What the watcher needs of a change-event source (fs.watch's result). */
export interface ChangeEvents {
  close(): void;
}

export interface FolderWatcherOptions {
  /** the folder */
  dir: string;
  /** also the folders below `dir` (for change events; `list` decides what a scan sees) */
  recursive: boolean;
  /** the files to watch for, as full paths; a throw is a failed scan (see onListError) */
  list(): string[];
  /** hands one new, fully written file on; scans wait for it */
  deliver(file: string): Promise<void>;
  /** how long a new file's size must stay the same before it counts as written (ms) */
  settleMs: number;
  /** how often the whole folder is listed again, events or not (ms) */
  rescanMs: number;
  /** a scan whose listing failed (the watcher goes on and tries again at the next one) */
  onListError(err: unknown): void;
  /** an error of the change events (the rescans go on) */
  onWatchError(err: Error): void;
  /** after each scan: how many files are known (there at the start or delivered) */
  onScanned(known: number): void;
  /** the change-event source (fs.watch unless a test gives another) */
  watch?: (
    dir: string,
    recursive: boolean,
    onChange: () => void,
    onError: (err: Error) => void,
  ) => ChangeEvents;
}

function watchFolder(
  dir: string,
  recursive: boolean,
  onChange: () => void,
  onError: (err: Error) => void,
): ChangeEvents {
  const watcher = fs.watch(dir, { recursive }, onChange);
  watcher.on('error', onError);
  return watcher;
}

export class FolderWatcher {
  /** paths there at the start or already taken up: never delivered (again) */
  private readonly known: Set<string>;
  private readonly events: ChangeEvents;
  private readonly rescan: NodeJS.Timeout;
  private scanning = false;
  /** a change came during a scan: one more pass after it */
  private again = false;
  private closed = false;

  /** Lists the folder (a throw here is the caller's: nothing is watched) and starts watching. */
  constructor(private readonly opts: FolderWatcherOptions) {
    this.known = new Set(opts.list());
    const watch = opts.watch ?? watchFolder;
    this.events = watch(opts.dir, opts.recursive, () => void this.scan(), opts.onWatchError);
    this.rescan = setInterval(() => void this.scan(), opts.rescanMs);
  }

  /** How many files are known: there at the start, or taken up since. */
  get knownCount(): number {
    return this.known.size;
  }

  /** Stops watching; a file still settling is not delivered. */
  close(): void {
    this.closed = true;
    clearInterval(this.rescan);
    this.events.close();
  }

  /** One scan (or, while one runs, a request for one more pass after it). */
  async scan(): Promise<void> {
    if (this.scanning) {
      this.again = true;
      return;
    }
    this.scanning = true;
    try {
      do {
        this.again = false;
        await this.takeUpNewFiles();
      } while (this.again && !this.closed);
      if (!this.closed) this.opts.onScanned(this.known.size);
    } finally {
      this.scanning = false;
    }
  }

  private async takeUpNewFiles(): Promise<void> {
    let files: string[] = [];
    try {
      files = this.opts.list();
    } catch (err) {
      this.opts.onListError(err);
    }
    for (const file of files) {
      if (this.known.has(file) || this.closed) continue;
      this.known.add(file);
      if (await this.settled(file)) await this.opts.deliver(file);
    }
  }

  /** True once the file's size is above zero and unchanged over settleMs; false if it went away. */
  private async settled(file: string): Promise<boolean> {
    let size = -1;
    for (;;) {
      const stat = await fs.promises.stat(file).catch(() => undefined);
      if (!stat) return false;
      if (stat.size > 0 && stat.size === size) return true;
      size = stat.size;
      await new Promise<void>((resolve) => setTimeout(resolve, this.opts.settleMs));
      if (this.closed) return false;
    }
  }
}
