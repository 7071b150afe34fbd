/**
 * Value noise: smooth, band-limited randomness for fibres, grain and mottling, with lattice values
 * hashed from a salt (so a shader's noise depends only on its salt and position).
 */
import { hashUnit } from './randomness';

/** Quintic fade so noise has continuous slope across lattice cells (no grid artefacts). */
function fade(t: number): number {
  return t * t * t * (t * (t * 6 - 15) + 10);
}

/** 2D value noise in [0, 1), lattice spacing 1, lattice values hashed from `salt`. */
export function valueNoise(x: number, y: number, salt: number): number {
  const ix = Math.floor(x);
  const iy = Math.floor(y);
  const u = fade(x - ix);
  const v = fade(y - iy);
  const a = hashUnit(ix, iy, salt);
  const b = hashUnit(ix + 1, iy, salt);
  const c = hashUnit(ix, iy + 1, salt);
  const d = hashUnit(ix + 1, iy + 1, salt);
  const top = a + (b - a) * u;
  const bottom = c + (d - c) * u;
  return top + (bottom - top) * v;
}

/** Fractal sum of value noise octaves, roughly in [0, 1): large shapes plus finer detail. */
export function fbm(x: number, y: number, salt: number, octaves: number): number {
  let sum = 0;
  let amplitude = 0.5;
  let norm = 0;
  let f = 1;
  for (let o = 0; o < octaves; o++) {
    sum += amplitude * valueNoise(x * f, y * f, salt + o * 1013);
    norm += amplitude;
    amplitude *= 0.5;
    f *= 2.03; // not exactly 2, so octave lattices do not line up
  }
  return sum / norm;
}
