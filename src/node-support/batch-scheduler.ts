/**
 * The score node's scheduler: items wait in a bounded queue and are handed out in batches, one
 * batch at a time, until the queue is empty; closing stops it and waits (a bounded time) for the
 * batch being run.
 *
 * When to flush: at once. A batch starts as soon as nothing else runs, with whatever has arrived
 * by then (at most `batchSize` items), so a lone image is never held back to fill a batch and
 * a burst is taken in full batches while the one before it runs. What a full queue does is the
 * queue's policy (bounded-queue.ts).
 */
import { BoundedQueue, type PushResult, type QueuePolicy } from './bounded-queue';
import { settleWithin } from './settle-within';

export interface BatchSchedulerOptions<T> {
  /** how many items wait at most (a whole number, at least 1) */
  capacity: number;
  /** what happens to an item that arrives when `capacity` items wait */
  policy: QueuePolicy;
  /** the most items in one batch (a whole number, at least 1) */
  batchSize: number;
  /**
   * Runs one batch (1 to batchSize items, in arrival order). Reports its items' failures itself;
   * a throw is handed to `onError` and the next batch runs.
   */
  run(batch: T[]): Promise<void>;
  /** after each batch, to show the queue's state */
  afterBatch?(): void;
  /** what `run` threw */
  onError?(err: unknown): void;
}

/** The queue's counts, for a status line or a metrics answer. */
export interface QueueState {
  queued: number;
  capacity: number;
  full: boolean;
  policy: QueuePolicy;
  /** items given up by drop-oldest or drop-newest */
  dropped: number;
  /** items refused by the reject policy */
  rejected: number;
}

export class BatchScheduler<T> {
  private readonly queue: BoundedQueue<T>;
  private readonly batchSize: number;
  /** the loop running batches, while one runs */
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly opts: BatchSchedulerOptions<T>) {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) {
      throw new RangeError(`batch size must be a whole number of at least 1, got ${opts.batchSize}`);
    }
    this.queue = new BoundedQueue<T>(opts.capacity, opts.policy);
    this.batchSize = opts.batchSize;
  }

  get state(): QueueState {
    const q = this.queue;
    return {
      queued: q.length,
      capacity: q.capacity,
      full: q.full,
      policy: q.policy,
      dropped: q.dropped,
      rejected: q.rejected,
    };
  }

  /**
   * Queues an item (the queue's policy decides when it is full; the caller answers an evicted or
   * refused item) and starts a batch when none runs. After close, nothing is queued.
   */
  push(item: T): PushResult<T> {
    if (this.closed) return { queued: false, item };
    const pushed = this.queue.push(item);
    this.pump();
    return pushed;
  }

  /**
   * Stops: no batch starts after this, and the waiting items go to `giveUp` at once, oldest
   * first. Resolves true once the batch being run has finished, or false after `waitMs` when it
   * has not (a stuck backend must not hold the caller).
   */
  close(waitMs: number, giveUp: (item: T) => void): Promise<boolean> {
    this.closed = true;
    for (const item of this.queue.clear()) giveUp(item);
    return settleWithin(this.running ?? Promise.resolve(), waitMs);
  }

  private pump(): void {
    if (this.running || this.closed) return;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      // an item may have arrived between the loop's last check and now
      if (this.queue.length > 0) this.pump();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      try {
        await this.opts.run(this.queue.take(this.batchSize));
      } catch (err) {
        this.opts.onError?.(err);
      }
      this.opts.afterBatch?.();
    }
  }
}
