/** The image sizes the generators accept: integer sides of 1 to 16384 pixels. */

/** Throws a RangeError naming the side that is not an integer in 1..16384. */
export function checkSize(width: number, height: number): void {
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 16384) {
      throw new RangeError(`${name} must be an integer in 1..16384, got ${v}`);
    }
  }
}
