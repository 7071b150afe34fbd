/**
 * Preparing ground-truth masks: reducing stored grey levels to defect/good, and bringing a
 * mask to the anomaly map's size. Masks are row-major, one value per pixel.
 */
import { checkSize } from './components';

/**
 * Binarises a grey-level mask: 1 (defect) where value >= fullScale / 2, else 0 (good).
 * Halfway, not "nonzero", because masks saved through lossy or resampling tools pick up
 * faint edge values that were never meant as defect.
 * @param fullScale the value meaning "fully defective": 255 for 8-bit, 65535 for 16-bit, 1 for 0/1.
 */
export function binariseMask(values: Uint8Array | Uint16Array, fullScale: number): Uint8Array {
  if (!(fullScale > 0)) throw new RangeError(`full scale must be positive, got ${fullScale}`);
  const half = fullScale / 2;
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i] >= half ? 1 : 0;
  return out;
}

/**
 * Resizes a mask by nearest neighbour, which keeps it binary (interpolating would invent
 * fractional labels). Each output pixel takes the source pixel under its centre:
 * source x = floor((x + 0.5) * width / newWidth), likewise for y, so the two grids share
 * their outer edges and a downscale by 2 reads one pixel of each 2x2 block consistently.
 */
export function resizeMaskNearest(
  mask: Uint8Array,
  width: number,
  height: number,
  newWidth: number,
  newHeight: number,
): Uint8Array {
  checkSize(mask.length, width, height);
  checkSize(newWidth * newHeight, newWidth, newHeight);
  const sourceX = nearestSourceIndices(width, newWidth);
  const sourceY = nearestSourceIndices(height, newHeight);
  const out = new Uint8Array(newWidth * newHeight);
  for (let y = 0; y < newHeight; y++) {
    const row = sourceY[y] * width;
    const outRow = y * newWidth;
    for (let x = 0; x < newWidth; x++) out[outRow + x] = mask[row + sourceX[x]];
  }
  return out;
}

/** For each of `to` output positions, the source position whose cell holds its centre. */
function nearestSourceIndices(from: number, to: number): Int32Array {
  const indices = new Int32Array(to);
  for (let i = 0; i < to; i++) {
    // Integer arithmetic floor((2i + 1) * from / (2 * to)) avoids rounding at exact edges.
    indices[i] = Math.min(from - 1, Math.floor(((2 * i + 1) * from) / (2 * to)));
  }
  return indices;
}
