/**
 * The decompression-bomb guard: the pixel limit every image is checked against (from its header,
 * before any pixel is decoded) and the file-size bound that follows from it.
 */
import { ImageInputError } from './errors';

/** Default decompression-bomb limit: 100 megapixels (e.g. 10000 x 10000). */
export const DEFAULT_MAX_PIXELS = 100e6;

/**
 * Largest encoded image file read for a pixel limit: 8 bytes a pixel (16-bit RGBA, uncompressed)
 * plus 16 MiB of metadata. Anything larger cannot be an image within the limit, and the file's
 * size is checked before it is read.
 */
export function maxImageFileBytes(maxPixels: number): number {
  return Math.ceil(maxPixels) * 8 + 16 * 1024 * 1024;
}

/** Checks a caller's pixel limit and returns it; throws RangeError. */
export function validateMaxPixels(maxPixels: number): number {
  if (typeof maxPixels !== 'number' || !(maxPixels >= 1) || !Number.isFinite(maxPixels)) {
    throw new RangeError(`maxPixels must be a finite number >= 1, got ${String(maxPixels)}`);
  }
  return maxPixels;
}

/** Refuses an image of `width` x `height` pixels above the limit with a TOO_LARGE {@link ImageInputError}. */
export function checkPixelLimit(width: number, height: number, maxPixels: number): void {
  if (width * height > maxPixels) {
    throw new ImageInputError('TOO_LARGE', `image too large: ${width}x${height} exceeds ${maxPixels} pixels`);
  }
}
