/**
 * A first-in first-out queue with a fixed capacity and a rule for what happens when it is full.
 *
 * Cameras do not wait for inference: when images arrive faster than they can be scored, an
 * unbounded queue grows until the process runs out of memory. With a bound, the choice is which
 * image to give up: the oldest waiting one (keep up with the line, the usual choice), the newly
 * arrived one (finish what was started), or refuse the new one loudly so the flow can react.
 */
import { SupportError } from './errors';

export type QueuePolicy = 'drop-oldest' | 'drop-newest' | 'reject';
export const QUEUE_POLICIES: readonly QueuePolicy[] = ['drop-oldest', 'drop-newest', 'reject'];

/** What happened to a pushed item. */
export type PushResult<T> =
  /** queued; with drop-oldest on a full queue, `evicted` is the oldest item, now out of the queue */
  | { queued: true; evicted?: T }
  /** not queued (queue full, drop-newest or reject): the caller still owns `item` */
  | { queued: false; item: T };

export class BoundedQueue<T> {
  private items: T[] = [];
  /** items given up by drop-oldest or drop-newest */
  dropped = 0;
  /** items refused by the reject policy */
  rejected = 0;

  constructor(
    readonly capacity: number,
    readonly policy: QueuePolicy,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new SupportError('queue.size', { value: String(capacity) });
    }
    if (!QUEUE_POLICIES.includes(policy)) {
      throw new SupportError('queue.policy', { policies: QUEUE_POLICIES.join(', '), value: String(policy) });
    }
  }

  get length(): number {
    return this.items.length;
  }

  get full(): boolean {
    return this.items.length >= this.capacity;
  }

  push(item: T): PushResult<T> {
    if (!this.full) {
      this.items.push(item);
      return { queued: true };
    }
    switch (this.policy) {
      case 'drop-oldest': {
        const evicted = this.items.shift() as T;
        this.items.push(item);
        this.dropped++;
        return { queued: true, evicted };
      }
      case 'drop-newest':
        this.dropped++;
        return { queued: false, item };
      case 'reject':
        this.rejected++;
        return { queued: false, item };
    }
  }

  /** Removes and returns up to `n` items from the front. */
  take(n: number): T[] {
    return this.items.splice(0, Math.max(0, n));
  }

  /** Empties the queue and returns what was in it. */
  clear(): T[] {
    return this.items.splice(0);
  }
}
