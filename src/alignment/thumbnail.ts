/**
 * The small grey image alignment works on: the mean of the network input's three normalised
 * channels, averaged down (box filter) so its longer side is at most THUMBNAIL_SIDE pixels,
 * and its placement on a power-of-two canvas for the FFT.
 */
import { nextPowerOfTwo } from './fft';
import type { GreyImage } from './phase-correlation';

/** Longer side of a thumbnail: 128 pixels keep a 128x128 FFT well under a millisecond. */
export const THUMBNAIL_SIDE = 128;

export interface Thumbnail extends GreyImage {
  /** thumbnail pixels per input pixel (<= 1) */
  scale: number;
}

/** Grey thumbnail of a CHW (3 planes) float image of width x height. */
export function thumbnailOf(chw: Float32Array, width: number, height: number): Thumbnail {
  const scale = Math.min(1, THUMBNAIL_SIDE / Math.max(width, height));
  const tw = Math.max(1, Math.round(width * scale));
  const th = Math.max(1, Math.round(height * scale));
  const plane = width * height;
  const data = new Float64Array(tw * th);
  for (let ty = 0; ty < th; ty++) {
    const y0 = Math.floor((ty * height) / th);
    const y1 = Math.max(y0 + 1, Math.floor(((ty + 1) * height) / th));
    for (let tx = 0; tx < tw; tx++) {
      const x0 = Math.floor((tx * width) / tw);
      const x1 = Math.max(x0 + 1, Math.floor(((tx + 1) * width) / tw));
      let sum = 0;
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const i = y * width + x;
          sum += chw[i] + chw[plane + i] + chw[2 * plane + i];
        }
      }
      data[ty * tw + tx] = sum / (3 * (y1 - y0) * (x1 - x0));
    }
  }
  return { data, width: tw, height: th, scale: tw / width };
}

/** The thumbnail at the top left of a power-of-two canvas, the rest filled with its mean. */
export function onCanvas(img: GreyImage): GreyImage {
  const w = nextPowerOfTwo(img.width);
  const h = nextPowerOfTwo(img.height);
  if (w === img.width && h === img.height) return img;
  let mean = 0;
  for (const v of img.data) mean += v;
  mean /= img.data.length;
  const data = new Float64Array(w * h).fill(mean);
  for (let y = 0; y < img.height; y++) data.set(img.data.subarray(y * img.width, (y + 1) * img.width), y * w);
  return { data, width: w, height: h };
}

/** Quantises a thumbnail to bytes (min..max -> 0..255): phase correlation ignores gain and offset. */
export function quantise(img: GreyImage): Uint8Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of img.data) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const range = hi - lo > 1e-12 ? hi - lo : 1;
  return Uint8Array.from(img.data, (v) => Math.round(((v - lo) / range) * 255));
}
