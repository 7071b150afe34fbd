/**
 * The heatmap node's preview throttle: at most one preview per interval, and the latest wins.
 *
 * A line camera can send ten heatmaps a second; the editor needs a few, and the one it shows
 * should be the newest. An item offered when the last publish is old enough goes out at once;
 * one offered sooner waits for the end of the interval, and an item offered while another waits
 * replaces it (the one replaced is never published).
 */

export interface PreviewThrottleOptions<T> {
  /** the least time between two publishes, in milliseconds */
  intervalMs: number;
  /** sends one item out; reports its own failures */
  publish(item: T): void;
  /** the clock, in milliseconds (Date.now unless a test gives another) */
  now?: () => number;
}

export class PreviewThrottle<T> {
  private readonly now: () => number;
  /** when publish was last called (0: never) */
  private lastPublished = 0;
  /** the item waiting for the end of the interval */
  private pending: T | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: PreviewThrottleOptions<T>) {
    this.now = opts.now ?? Date.now;
  }

  /** Publishes `item` now if the interval since the last publish is over, else once it is. */
  offer(item: T): void {
    if (this.closed) return;
    const wait = this.opts.intervalMs - (this.now() - this.lastPublished);
    if (wait <= 0 && !this.timer) {
      this.publish(item);
      return;
    }
    this.pending = item;
    this.timer ??= setTimeout(() => this.publishPending(), Math.max(0, wait));
  }

  /** Drops the waiting item; nothing is published after this. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }

  private publishPending(): void {
    this.timer = undefined;
    const latest = this.pending;
    this.pending = undefined;
    if (latest !== undefined && !this.closed) this.publish(latest);
  }

  private publish(item: T): void {
    this.lastPublished = this.now();
    this.opts.publish(item);
  }
}
