/**
 * Growable storage for (sort key, region id) pairs, one pair per evaluated pixel, with an
 * in-place-ish radix sort by key.
 *
 * Memory is the constraint at 10-70 million pixels: 8 bytes per pixel, held in fixed-size
 * typed-array chunks so growing never copies the whole data set (and never needs one huge
 * contiguous allocation). Sorting ping-pongs between the chunks and one equally sized
 * scratch set, so the peak is 16 bytes per pixel, and the sorted result becomes the storage.
 */

/** Chunks hold 2^20 pairs (8 MiB) unless a test asks for smaller ones to cross boundaries. */
export const DEFAULT_CHUNK_BITS = 20;
/** The last chunk starts this small and doubles, so tiny evaluations stay tiny. */
const MIN_CHUNK_CAPACITY = 1024;
/** Positions are handled as uint32. */
const MAX_PAIRS = 0xffffffff;

/** The radix digits of a 32-bit key, least significant first: 11 + 11 + 10 bits. */
const DIGITS: ReadonlyArray<{ shift: number; bits: number }> = [
  { shift: 0, bits: 11 },
  { shift: 11, bits: 11 },
  { shift: 22, bits: 10 },
];

export class KeyRegionStore {
  private keyChunks: Uint32Array[] = [];
  private regionChunks: Int32Array[] = [];
  private size = 0;
  private sorted = true;
  private readonly chunkBits: number;
  private readonly chunkSize: number;

  /** @param chunkBits log2 of the chunk size in pairs (1..26). */
  constructor(chunkBits = DEFAULT_CHUNK_BITS) {
    if (!Number.isInteger(chunkBits) || chunkBits < 1 || chunkBits > 26) {
      throw new RangeError(`chunk bits must be an integer in 1..26, got ${chunkBits}`);
    }
    this.chunkBits = chunkBits;
    this.chunkSize = 2 ** chunkBits;
  }

  /** Number of pairs stored. */
  get length(): number {
    return this.size;
  }

  /** Appends pairs; `keys[i]` goes with `regions[i]`. Invalidates the sorted order. */
  append(keys: Uint32Array, regions: Int32Array): void {
    if (keys.length !== regions.length) throw new RangeError('keys and regions differ in length');
    if (this.size + keys.length > MAX_PAIRS) throw new RangeError('too many pixels for one accumulator');
    let done = 0;
    while (done < keys.length) {
      const chunk = Math.floor(this.size / this.chunkSize);
      const offset = this.size - chunk * this.chunkSize;
      const wanted = Math.min(keys.length - done, this.chunkSize - offset);
      this.ensureCapacity(chunk, offset + wanted);
      this.keyChunks[chunk].set(keys.subarray(done, done + wanted), offset);
      this.regionChunks[chunk].set(regions.subarray(done, done + wanted), offset);
      done += wanted;
      this.size += wanted;
    }
    if (keys.length > 0) this.sorted = false;
  }

  /** Sorts all pairs by ascending key (stable, so equal keys keep insertion order). */
  sort(): void {
    if (this.sorted) return;
    const counts = this.histograms();
    let scratch: { keys: Uint32Array[]; regions: Int32Array[] } | undefined;
    DIGITS.forEach((digit, d) => {
      const histogram = counts.subarray(d << 11, (d << 11) + (1 << digit.bits));
      // A digit shared by every key (common in the high bits of similar scores) would only
      // copy the data unchanged.
      if (histogram.some((c) => c === this.size)) return;
      scratch ??= this.allocateLike();
      this.scatter(digit.shift, digit.bits, histogram, scratch);
      // The scratch now holds the data; the old storage becomes the next pass's scratch.
      [this.keyChunks, scratch.keys] = [scratch.keys, this.keyChunks];
      [this.regionChunks, scratch.regions] = [scratch.regions, this.regionChunks];
    });
    this.sorted = true;
  }

  /** Number of chunks holding data. */
  get chunkCount(): number {
    return Math.ceil(this.size / this.chunkSize);
  }

  /**
   * Read-only views of chunk `c`: pairs c * chunkSize onwards, in storage order (ascending key
   * after `sort`). Invalid after the next `append` or `sort`.
   */
  chunk(c: number): { keys: Uint32Array; regions: Int32Array } {
    const length = Math.min(this.chunkSize, this.size - c * this.chunkSize);
    return { keys: this.keyChunks[c].subarray(0, length), regions: this.regionChunks[c].subarray(0, length) };
  }

  /** Makes chunk `c` exist and hold at least `needed` pairs (needed <= chunkSize). */
  private ensureCapacity(c: number, needed: number): void {
    if (c === this.keyChunks.length) {
      this.keyChunks.push(new Uint32Array(0));
      this.regionChunks.push(new Int32Array(0));
    }
    const current = this.keyChunks[c].length;
    if (current >= needed) return;
    let capacity = Math.max(current, MIN_CHUNK_CAPACITY);
    while (capacity < needed) capacity *= 2;
    capacity = Math.min(capacity, this.chunkSize);
    const keys = new Uint32Array(capacity);
    keys.set(this.keyChunks[c]);
    const regions = new Int32Array(capacity);
    regions.set(this.regionChunks[c]);
    this.keyChunks[c] = keys;
    this.regionChunks[c] = regions;
  }

  /** Counts of every digit value for all three digits, in one read of the keys. */
  private histograms(): Uint32Array {
    const counts = new Uint32Array(3 << 11);
    for (let c = 0; c < this.chunkCount; c++) {
      const { keys } = this.chunk(c);
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i];
        counts[k & 0x7ff]++;
        counts[0x800 + ((k >>> 11) & 0x7ff)]++;
        counts[0x1000 + (k >>> 22)]++;
      }
    }
    return counts;
  }

  /** Scratch chunks that can hold every current position. */
  private allocateLike(): { keys: Uint32Array[]; regions: Int32Array[] } {
    const keys: Uint32Array[] = [];
    const regions: Int32Array[] = [];
    for (let c = 0; c < this.chunkCount; c++) {
      const length = Math.min(this.chunkSize, this.size - c * this.chunkSize);
      keys.push(new Uint32Array(length));
      regions.push(new Int32Array(length));
    }
    return { keys, regions };
  }

  /** One stable counting-sort pass on the digit at `shift` into `target`. */
  private scatter(
    shift: number,
    bits: number,
    histogram: Uint32Array,
    target: { keys: Uint32Array[]; regions: Int32Array[] },
  ): void {
    const next = new Uint32Array(histogram.length); // where the next key with each digit goes
    let sum = 0;
    for (let b = 0; b < histogram.length; b++) {
      next[b] = sum;
      sum += histogram[b];
    }
    const digitMask = (1 << bits) - 1;
    const chunkBits = this.chunkBits;
    const withinMask = this.chunkSize - 1;
    const targetKeys = target.keys;
    const targetRegions = target.regions;
    for (let c = 0; c < this.chunkCount; c++) {
      const { keys, regions } = this.chunk(c);
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i];
        const p = next[(k >>> shift) & digitMask]++;
        const tc = p >>> chunkBits;
        const ti = p & withinMask;
        targetKeys[tc][ti] = k;
        targetRegions[tc][ti] = regions[i];
      }
    }
  }
}
