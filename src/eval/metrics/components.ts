/**
 * Connected-component labelling of a binary mask with 8-connectivity: pixels touching at an
 * edge or a corner belong to one component. This is the region definition used for the
 * per-region overlap (PRO) metric, where a diagonal chain of defect pixels is one defect.
 */

/** Labels for a width x height mask, row-major. */
export interface ComponentLabels {
  /** 0 = background, 1..count = the component each foreground pixel belongs to. */
  labels: Int32Array;
  /** Number of components; labels are numbered in raster order of each one's first pixel. */
  count: number;
}

/**
 * Labels the 8-connected components of `mask` (nonzero = foreground). A flood fill with an
 * explicit stack, not recursion: one large defect can span millions of pixels, far deeper
 * than the call stack allows.
 */
export function labelComponents(mask: ArrayLike<number>, width: number, height: number): ComponentLabels {
  checkSize(mask.length, width, height);
  const labels = new Int32Array(width * height);
  // Each pixel is labelled when pushed, so it is pushed at most once: this size always suffices.
  let stack: Int32Array | undefined;
  let count = 0;
  for (let start = 0; start < labels.length; start++) {
    if (mask[start] === 0 || labels[start] !== 0) continue;
    stack ??= new Int32Array(width * height);
    count++;
    labels[start] = count;
    let top = 0;
    stack[top++] = start;
    while (top > 0) {
      const p = stack[--top];
      const x = p % width;
      const y = (p - x) / width;
      const x0 = x > 0 ? x - 1 : x;
      const x1 = x < width - 1 ? x + 1 : x;
      const y0 = y > 0 ? y - 1 : y;
      const y1 = y < height - 1 ? y + 1 : y;
      for (let ny = y0; ny <= y1; ny++) {
        for (let nx = x0; nx <= x1; nx++) {
          const q = ny * width + nx;
          if (mask[q] !== 0 && labels[q] === 0) {
            labels[q] = count;
            stack[top++] = q;
          }
        }
      }
    }
  }
  return { labels, count };
}

/** Throws unless `length` pixels make a width x height image with positive integer sides. */
export function checkSize(length: number, width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`image size ${width}x${height} is not two positive integers`);
  }
  if (length !== width * height) {
    throw new RangeError(`${length} values do not make a ${width}x${height} image`);
  }
}
