/**
 * Randomness for the synthetic generators: seeds folded to 32 bits and derived per stream, an
 * integer hash for noise lattices, and the draws the shaders and defects take from a seeded PRNG
 * (src/math/random.ts). Everything is a pure function of its inputs (no Math.random, no clock).
 */
import type { Rng } from '../math/random';

/** Folds any finite number into 32 bits, so large or negative seeds still differ. */
export function seedToUint32(seed: number): number {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
  const t = Math.trunc(seed);
  return (t >>> 0) ^ Math.imul(Math.trunc(t / 4294967296) >>> 0, 0x9e3779b1);
}

/** Integer hash of up to three ints (a murmur3-style finaliser); used for lattice noise and seeds. */
export function hash3(a: number, b: number, c: number): number {
  let h = Math.imul(a | 0, 0x27d4eb2d) ^ Math.imul(b | 0, 0x165667b1) ^ Math.imul(c | 0, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Hash to [0, 1). */
export function hashUnit(a: number, b: number, c: number): number {
  return hash3(a, b, c) / 4294967296;
}

/** Derives an independent seed for one stream (split, index) of a base seed. */
export function deriveSeed(base: number, stream: number, index: number): number {
  return hash3(seedToUint32(base), stream + 0x51ed27, index + 0x1234567);
}

/** A uniform draw in [lo, hi). */
export function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng();
}

/** Cheap approximately-normal draw (Irwin-Hall with 4 terms, unit variance). */
export function normalish(rng: Rng): number {
  return (rng() + rng() + rng() + rng() - 2) * 1.7320508;
}
