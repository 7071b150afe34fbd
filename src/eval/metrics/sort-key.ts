/**
 * Order-preserving mapping between float32 scores and uint32 sort keys.
 *
 * Tens of millions of pixel scores sort far faster as unsigned integers (radix sort) than
 * through a comparison callback. IEEE-754 floats are sign-magnitude, so their bit patterns
 * order correctly as unsigned integers once non-negative values have the sign bit set and
 * negative values have every bit flipped (which reverses their magnitude order).
 */

const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

const SIGN = 0x80000000;
const ALL_ONES = 0xffffffff;
/** Bit patterns above this, once the sign is cleared, are NaN. */
const INFINITY_BITS = 0x7f800000;

/** True when a float32 bit pattern (as read through a Uint32Array) is NaN. */
export function isNaNBits(bits: number): boolean {
  return (bits & 0x7fffffff) > INFINITY_BITS;
}

/**
 * The sort key of a float32 given as its bit pattern (0..2^32-1). Must not be NaN.
 * -0 gets the key of +0, so equal scores always have equal keys and form one tie group.
 */
export function keyFromBits(bits: number): number {
  if (bits < SIGN) return bits + SIGN;
  if (bits === SIGN) return SIGN; // -0
  return ALL_ONES - bits;
}

/** The sort key of a number, after rounding it to float32. Must not be NaN. */
export function keyFromFloat(value: number): number {
  scratchFloat[0] = value;
  return keyFromBits(scratchBits[0]);
}

/** The float32 value (as a number) that a key stands for. */
export function floatFromKey(key: number): number {
  scratchBits[0] = key >= SIGN ? key - SIGN : ALL_ONES - key;
  return scratchFloat[0];
}
