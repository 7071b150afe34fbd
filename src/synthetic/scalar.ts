/** The two scalar helpers the shaders and defect drawers share: linear mix and clamp. */

/** Linear interpolation from a (t = 0) to b (t = 1). */
export function mix(a: number, b: number, t: number): number {
  return a + (b - a) * t;
}

/** v limited to [lo, hi]. */
export function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
