/**
 * The canvas a defect is drawn on: a float working copy of the image plus the facts every drawer
 * needs, the helpers that read and blend its pixels, and `finalise`, which keeps only pixels that
 * changed by at least MASK_CHANGE_THRESHOLD, so the mask is exactly the set of changed pixels and
 * everything outside it is byte-identical.
 */
import type { Rng } from '../math/random';
import type { RawImage } from '../types';
import { checkSize } from './image-size';
import { clamp } from './scalar';

/** A pixel whose largest channel change is below this counts as unchanged (and is restored). */
const MASK_CHANGE_THRESHOLD = 12;

/** The image being edited: float working copy plus the facts every defect needs. */
export interface Canvas {
  src: RawImage & { data: Uint8Array };
  work: Float32Array;
  width: number;
  height: number;
  /** colour channels to edit: 3 for RGB(A), 1 for grey(+alpha); alpha is never touched */
  colour: 1 | 3;
  stride: number;
}

/** A canvas over `image` (checked: 8-bit data whose length matches its size). */
export function makeCanvas(image: RawImage): Canvas {
  if (!(image.data instanceof Uint8Array)) {
    throw new TypeError('addDefect needs 8-bit image data (Uint8Array)');
  }
  checkSize(image.width, image.height);
  if (image.data.length !== image.width * image.height * image.channels) {
    throw new RangeError('image data length does not match width x height x channels');
  }
  return {
    src: image as RawImage & { data: Uint8Array },
    work: Float32Array.from(image.data),
    width: image.width,
    height: image.height,
    colour: image.channels >= 3 ? 3 : 1,
    stride: image.channels,
  };
}

/** Mean luma in a box: decides whether a defect should be dark or bright to be seen. */
export function meanLuma(c: Canvas, x0: number, y0: number, x1: number, y1: number): number {
  const xa = clamp(Math.floor(x0), 0, c.width - 1);
  const xb = clamp(Math.ceil(x1), 0, c.width - 1);
  const ya = clamp(Math.floor(y0), 0, c.height - 1);
  const yb = clamp(Math.ceil(y1), 0, c.height - 1);
  let sum = 0;
  let n = 0;
  for (let y = ya; y <= yb; y++) {
    for (let x = xa; x <= xb; x++) {
      const p = (y * c.width + x) * c.stride;
      const d = c.src.data;
      sum += c.colour === 3 ? 0.299 * d[p] + 0.587 * d[p + 1] + 0.114 * d[p + 2] : d[p];
      n++;
    }
  }
  return n ? sum / n : 128;
}

/** Dark on bright surfaces, bright on dark ones, either way on mid tones. */
export function pickDark(rng: Rng, luma: number): boolean {
  if (luma > 165) return true;
  if (luma < 90) return false;
  return rng() < 0.6;
}

/** Blends the pixel at (x, y) towards `f(value, channel)` by `alpha` in [0, 1]. */
export function blendPixel(
  c: Canvas,
  x: number,
  y: number,
  alpha: number,
  f: (v: number, ch: number) => number,
): void {
  if (alpha <= 0) return;
  const p = (y * c.width + x) * c.stride;
  for (let ch = 0; ch < c.colour; ch++) {
    const v = c.src.data[p + ch];
    c.work[p + ch] = v + (f(v, ch) - v) * alpha;
  }
}

/** The canvas's shorter side, pixels: defect sizes scale with it. */
export function shortSide(c: Canvas): number {
  return Math.min(c.width, c.height);
}

/**
 * Rounds the working copy into a new image, keeping the original byte wherever the change
 * is below the threshold; returns the image, the mask and how many pixels changed.
 */
export function finalise(c: Canvas): { image: RawImage; mask: Uint8Array; count: number } {
  const src = c.src.data;
  const out = new Uint8Array(src);
  const mask = new Uint8Array(c.width * c.height);
  let count = 0;
  for (let i = 0; i < mask.length; i++) {
    const p = i * c.stride;
    let change = 0;
    for (let ch = 0; ch < c.colour; ch++) {
      change = Math.max(change, Math.abs(clamp(Math.round(c.work[p + ch]), 0, 255) - src[p + ch]));
    }
    if (change < MASK_CHANGE_THRESHOLD) continue;
    for (let ch = 0; ch < c.colour; ch++) out[p + ch] = clamp(Math.round(c.work[p + ch]), 0, 255);
    mask[i] = 1;
    count++;
  }
  return { image: { data: out, width: c.width, height: c.height, channels: c.src.channels }, mask, count };
}
