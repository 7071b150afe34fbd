/**
 * The latest live scores a node has seen, in a fixed-size ring: the threshold dialog shows where
 * today's parts score beside the model's held-out good ones, and memory stays bounded however
 * long the line runs.
 */

/** One live score: the image score, and the normalised score when the result had one. */
export interface LiveScore {
  score: number;
  normalizedScore: number | null;
}

export class ScoreRing {
  private readonly items: LiveScore[] = [];
  private next = 0;

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity >= 1))
      throw new RangeError(`the ring capacity must be a whole number >= 1, got ${capacity}`);
  }

  push(s: LiveScore): void {
    if (this.items.length < this.capacity) this.items.push(s);
    else this.items[this.next] = s;
    this.next = (this.next + 1) % this.capacity;
  }

  get length(): number {
    return this.items.length;
  }

  /** Oldest first. */
  toArray(): LiveScore[] {
    return this.items.length < this.capacity
      ? [...this.items]
      : [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
  }

  clear(): void {
    this.items.length = 0;
    this.next = 0;
  }
}
