/**
 * One run of the image source over a folder's files: each file in turn, `intervalMs` apart (0:
 * as fast as the flow takes them, yielding between files so other nodes run), optionally again
 * from the start, until the last file or stop().
 */

export interface FolderRunOptions {
  /** the files, in the order they are sent */
  files: readonly string[];
  /** the pause after each file, in milliseconds (0: none, only a yield) */
  intervalMs: number;
  /** start again at the first file after the last */
  loop: boolean;
  /** sends one file; false when it could not be sent (it reports that itself) */
  send(file: string, index: number): Promise<boolean>;
  /** after each file: how far the pass is (index + 1 of files.length) */
  onProgress(done: number, count: number): void;
  /** after a full pass: how many of the files were sent */
  onPass(sent: number, count: number): void;
}

export class FolderRun {
  private stopped = false;
  /** the pause in progress: stop() ends it at once */
  private pause: { timer: NodeJS.Timeout; resolve: () => void } | undefined;

  constructor(private readonly opts: FolderRunOptions) {}

  get running(): boolean {
    return !this.stopped;
  }

  /** Sends the files; resolves when the run is over (the last pass, or stopped). */
  async start(): Promise<void> {
    const { files, loop } = this.opts;
    do {
      let sent = 0;
      for (let i = 0; i < files.length; i++) {
        if (this.stopped) return;
        if (await this.opts.send(files[i], i)) sent++;
        this.opts.onProgress(i + 1, files.length);
        await this.between();
      }
      if (!this.stopped) this.opts.onPass(sent, files.length);
    } while (loop && !this.stopped);
    this.stopped = true;
  }

  /** No file is sent after this. */
  stop(): void {
    this.stopped = true;
    if (this.pause) {
      clearTimeout(this.pause.timer);
      this.pause.resolve();
      this.pause = undefined;
    }
  }

  private between(): Promise<void> {
    if (this.opts.intervalMs <= 0) return new Promise((resolve) => setImmediate(resolve));
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pause = undefined;
        resolve();
      }, this.opts.intervalMs);
      this.pause = { timer, resolve };
    });
  }
}
