/**
 * Normalisation: interleaved RGB samples -> planar CHW float32, `(v / vmax - mean[c]) / std[c]`,
 * and the check of a normalisation's mean and std.
 */
import type { Normalisation } from '../types';

/** Interleaved RGB (pixels x 3) -> planar CHW float32, `(v / vmax - mean) / std` folded into v * a + b. */
export function normaliseInterleavedRgb(
  rgb: Uint8Array | Uint16Array,
  pixels: number,
  vmax: number,
  norm: Normalisation,
): Float32Array {
  const out = new Float32Array(3 * pixels);
  for (let c = 0; c < 3; c++) {
    const a = 1 / (vmax * norm.std[c]);
    const b = -norm.mean[c] / norm.std[c];
    const plane = c * pixels;
    for (let i = 0, j = c; i < pixels; i++, j += 3) {
      out[plane + i] = rgb[j] * a + b;
    }
  }
  return out;
}

/** Checks a normalisation (three finite means, three finite positive stds) and returns it; throws RangeError. */
export function validateNormalisation(norm: Normalisation): Normalisation {
  const ok =
    norm !== undefined &&
    Array.isArray(norm.mean) &&
    Array.isArray(norm.std) &&
    norm.mean.length === 3 &&
    norm.std.length === 3 &&
    norm.mean.every((m) => Number.isFinite(m)) &&
    norm.std.every((s) => Number.isFinite(s) && s > 0);
  if (!ok) {
    throw new RangeError('normalisation needs mean[3] (finite) and std[3] (finite, > 0)');
  }
  return norm;
}
