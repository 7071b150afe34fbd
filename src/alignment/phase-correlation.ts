/**
 * Phase correlation (Kuglin & Hines 1975): the translation between two images is the peak of
 * the inverse FFT of their normalised cross-power spectrum. Only the phase is kept, so a change
 * of brightness or contrast does not move the peak, and the peak is sharp (close to a delta)
 * when the images really are shifted copies: its height against the next-highest peak is a
 * usable confidence.
 */
import { fft2d, fftReal, type ComplexImage } from './fft';

/** A real image, row-major height x width (powers of two where an FFT is taken). */
export interface GreyImage {
  data: Float64Array;
  width: number;
  height: number;
}

export interface PeakShift {
  /** shift of `moved` against `fixed`, in pixels: moved(x, y) ~ fixed(x - dx, y - dy) */
  dx: number;
  dy: number;
  /**
   * peak height over the highest value outside the peak's 7x7 neighbourhood: about 1 for images
   * that do not correspond, large (tens) for shifted copies
   */
  confidence: number;
}

/** Neighbourhood radius excluded around the peak when looking for the second peak. */
const PEAK_RADIUS = 3;

/** Removes the mean and multiplies by a 2-D Hann window, so the image edges do not dominate the spectrum. */
export function windowed(img: GreyImage): GreyImage {
  const { width: w, height: h } = img;
  let mean = 0;
  for (const v of img.data) mean += v;
  mean /= img.data.length;
  const wx = hann(w);
  const wy = hann(h);
  const data = new Float64Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) data[y * w + x] = (img.data[y * w + x] - mean) * wx[x] * wy[y];
  return { data, width: w, height: h };
}

function hann(n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = n === 1 ? 1 : 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
  return out;
}

/** Normalised cross-power spectrum moved * conj(fixed) / |.|, inverse-transformed: a real surface. */
export function correlationSurface(fixed: ComplexImage, moved: ComplexImage, lowPass = 0): Float64Array {
  const n = fixed.re.length;
  const { width: w, height: h } = fixed;
  const weight = lowPass > 0 ? spectralWeight(w, h, lowPass) : undefined;
  const out: ComplexImage = {
    re: new Float64Array(n),
    im: new Float64Array(n),
    width: fixed.width,
    height: fixed.height,
  };
  for (let i = 0; i < n; i++) {
    const r = moved.re[i] * fixed.re[i] + moved.im[i] * fixed.im[i];
    const m = moved.im[i] * fixed.re[i] - moved.re[i] * fixed.im[i];
    const mag = Math.hypot(r, m);
    // a spectral hole (both zero) carries no phase: leave it out rather than divide by zero
    if (mag > 1e-12) {
      const k = weight ? weight[i] : 1;
      out.re[i] = (k * r) / mag;
      out.im[i] = (k * m) / mag;
    }
  }
  fft2d(out, true);
  return out.re;
}

/**
 * Gaussian weights over frequency (sigma in cycles per pixel, Nyquist 0.5). Plain phase
 * correlation weighs every frequency alike, so sensor noise and the fine texture that differs
 * from part to part drown the shared outline; weighting the whitened spectrum toward the low and
 * middle frequencies keeps the peak where the part's shape puts it (the peak widens to about
 * 1 / (2 pi sigma) pixels, which the sub-pixel fit uses).
 */
function spectralWeight(w: number, h: number, sigma: number): Float64Array {
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    const v = (y < h / 2 ? y : y - h) / h;
    for (let x = 0; x < w; x++) {
      const u = (x < w / 2 ? x : x - w) / w;
      out[y * w + x] = Math.exp(-(u * u + v * v) / (2 * sigma * sigma));
    }
  }
  return out;
}

/** Sub-pixel offset of a peak from three samples (parabola through them), in (-0.5, 0.5). */
function parabolicOffset(left: number, centre: number, right: number): number {
  const denom = left - 2 * centre + right;
  if (!(Math.abs(denom) > 1e-12)) return 0;
  return Math.max(-0.5, Math.min(0.5, (0.5 * (left - right)) / denom));
}

/** The peak of a correlation surface (wrapped: index > n/2 is a negative shift), with its confidence. */
export function findPeak(surface: Float64Array, width: number, height: number): PeakShift {
  let best = 0;
  for (let i = 1; i < surface.length; i++) if (surface[i] > surface[best]) best = i;
  const px = best % width;
  const py = (best - px) / width;
  const at = (x: number, y: number) => surface[((y + height) % height) * width + ((x + width) % width)];
  let second = 0;
  for (let y = 0; y < height; y++) {
    const ddy = Math.min(Math.abs(y - py), height - Math.abs(y - py));
    for (let x = 0; x < width; x++) {
      const ddx = Math.min(Math.abs(x - px), width - Math.abs(x - px));
      if (ddx <= PEAK_RADIUS && ddy <= PEAK_RADIUS) continue;
      second = Math.max(second, surface[y * width + x]);
    }
  }
  const peak = surface[best];
  const fx = width > 2 ? parabolicOffset(at(px - 1, py), peak, at(px + 1, py)) : 0;
  const fy = height > 2 ? parabolicOffset(at(px, py - 1), peak, at(px, py + 1)) : 0;
  const wrap = (p: number, n: number) => (p > n / 2 ? p - n : p);
  return {
    dx: wrap(px, width) + fx,
    dy: wrap(py, height) + fy,
    confidence: second > 0 ? peak / second : peak > 0 ? Infinity : 0,
  };
}

/** Low-pass of the translation estimate, cycles per pixel (see spectralWeight). */
export const TRANSLATION_LOW_PASS = 0.1;

/** Translation of `moved` against `fixed` (same power-of-two size), windowed first. */
export function phaseCorrelate(
  fixed: GreyImage,
  moved: GreyImage,
  lowPass = TRANSLATION_LOW_PASS,
): PeakShift {
  if (fixed.width !== moved.width || fixed.height !== moved.height)
    throw new RangeError('phase correlation needs two images of one size');
  const a = windowed(fixed);
  const b = windowed(moved);
  const surface = correlationSurface(
    fftReal(a.data, a.width, a.height),
    fftReal(b.data, b.width, b.height),
    lowPass,
  );
  return findPeak(surface, fixed.width, fixed.height);
}
