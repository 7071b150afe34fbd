/**
 * Radix-2 complex FFT over float64 arrays, in place, and its 2-D form (rows, then columns).
 * Sizes must be powers of two: alignment works on small thumbnails padded to such sizes, where
 * a plain iterative Cooley-Tukey transform is fast enough (128x128: well under a millisecond
 * per transform) and needs no native code.
 */

/** True for 1, 2, 4, 8, ... */
export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;
}

/** The smallest power of two >= n (n >= 1). */
export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * In-place FFT of (re, im), length n = re.length (a power of two). `inverse` computes the
 * unnormalised inverse transform; divide by n afterwards for the true inverse.
 */
export function fft1d(re: Float64Array, im: Float64Array, inverse = false): void {
  const n = re.length;
  if (!isPowerOfTwo(n) || im.length !== n)
    throw new RangeError(`FFT length must be a power of two, got ${n}`);
  // bit-reversal permutation
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      let t = re[i];
      re[i] = re[j];
      re[j] = t;
      t = im[i];
      im[i] = im[j];
      im[j] = t;
    }
  }
  const sign = inverse ? 1 : -1;
  for (let len = 2; len <= n; len <<= 1) {
    const angle = (sign * 2 * Math.PI) / len;
    const wr = Math.cos(angle);
    const wi = Math.sin(angle);
    const half = len >> 1;
    for (let start = 0; start < n; start += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < half; k++) {
        const a = start + k;
        const b = a + half;
        const xr = re[b] * cr - im[b] * ci;
        const xi = re[b] * ci + im[b] * cr;
        re[b] = re[a] - xr;
        im[b] = im[a] - xi;
        re[a] += xr;
        im[a] += xi;
        const nr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = nr;
      }
    }
  }
}

/** A complex image, row-major height x width, both powers of two. */
export interface ComplexImage {
  re: Float64Array;
  im: Float64Array;
  width: number;
  height: number;
}

/** In-place 2-D FFT (unnormalised inverse when `inverse`: divide by width*height). */
export function fft2d(img: ComplexImage, inverse = false): void {
  const { width: w, height: h } = img;
  const rowRe = new Float64Array(w);
  const rowIm = new Float64Array(w);
  for (let y = 0; y < h; y++) {
    rowRe.set(img.re.subarray(y * w, (y + 1) * w));
    rowIm.set(img.im.subarray(y * w, (y + 1) * w));
    fft1d(rowRe, rowIm, inverse);
    img.re.set(rowRe, y * w);
    img.im.set(rowIm, y * w);
  }
  const colRe = new Float64Array(h);
  const colIm = new Float64Array(h);
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      colRe[y] = img.re[y * w + x];
      colIm[y] = img.im[y * w + x];
    }
    fft1d(colRe, colIm, inverse);
    for (let y = 0; y < h; y++) {
      img.re[y * w + x] = colRe[y];
      img.im[y * w + x] = colIm[y];
    }
  }
}

/** Forward 2-D FFT of a real image (row-major, width x height powers of two). */
export function fftReal(data: Float64Array, width: number, height: number): ComplexImage {
  const img: ComplexImage = { re: Float64Array.from(data), im: new Float64Array(data.length), width, height };
  fft2d(img);
  return img;
}
