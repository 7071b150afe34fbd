/** The two scalar helpers the shaders and defect drawers share: linear mix and clamp. */

export function mix(a: number, b: number, t: number): number {
  return a + (b - a) * t;
}

export function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
