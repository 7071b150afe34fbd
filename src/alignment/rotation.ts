/**
 * Rotation between two images from their magnitude spectra (Reddy & Chatterji 1996, "An
 * FFT-based technique for translation, rotation, and scale-invariant image registration").
 *
 * Why this method: the magnitude of the Fourier transform does not change when an image is
 * shifted, and turns with the image. Resampled on a log-polar grid, a turn becomes a shift along
 * the angle axis, which phase correlation finds in one step; the translation is then found by
 * ordinary phase correlation after undoing the turn. It needs only FFTs of a small thumbnail
 * (no features, no iterations, no training), so it is fast and deterministic, and it gives a
 * peak-ratio confidence like the translation. Scale (the radius axis) is not used: parts on a
 * line do not change size.
 *
 * The magnitude spectrum is symmetric, so angles are found modulo 180 degrees, in [-90, 90).
 */
import { fftReal } from './fft';
import { correlationSurface, findPeak, windowed, type GreyImage } from './phase-correlation';

/** Samples along the angle axis over 180 degrees: 0.35 degrees a sample before sub-pixel refinement. */
const ANGLE_SAMPLES = 512;
/** Samples along the log-radius axis. */
const RADIUS_SAMPLES = 64;
/** Smallest radius sampled, in spectrum pixels. */
const MIN_RADIUS = 3;

export interface RotationEstimate {
  /** degrees, counter-clockwise on screen, in [-90, 90) */
  angleDeg: number;
  /** peak ratio of the log-polar phase correlation (see PeakShift.confidence) */
  confidence: number;
}

/**
 * Magnitude spectrum with the zero frequency at the centre, times Reddy & Chatterji's
 * high-pass emphasis H = (1 - X)(2 - X), X = cos(pi u) cos(pi v): low frequencies (which
 * every image shares) are damped so the turn of the part's structure decides the peak.
 */
export function emphasisedMagnitude(img: GreyImage): Float64Array {
  const { width: w, height: h } = img;
  const spec = fftReal(windowed(img).data, w, h);
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    const fy = y < h / 2 ? y : y - h; // signed frequency index
    const v = fy / h;
    for (let x = 0; x < w; x++) {
      const fx = x < w / 2 ? x : x - w;
      const u = fx / w;
      const X = Math.cos(Math.PI * u) * Math.cos(Math.PI * v);
      const mag = Math.hypot(spec.re[y * w + x], spec.im[y * w + x]);
      // shifted: frequency (fx, fy) at (fx + w/2, fy + h/2)
      out[(fy + h / 2) * w + (fx + w / 2)] = mag * (1 - X) * (2 - X);
    }
  }
  return out;
}

/**
 * Log-polar resampling of a centred spectrum: row = angle 0..180 degrees, column = log radius.
 * The angle is measured so that a counter-clockwise turn of the image on screen (y down) moves
 * the samples toward larger row indices.
 */
export function logPolar(spec: Float64Array, width: number, height: number): GreyImage {
  const cx = width / 2;
  const cy = height / 2;
  const rMax = Math.min(width, height) / 2 - 1;
  // the lowest frequencies are mostly the window's own spectrum: start a few samples out
  const rMin = Math.min(MIN_RADIUS, rMax / 2);
  const logStep = Math.log(rMax / rMin) / (RADIUS_SAMPLES - 1);
  const data = new Float64Array(ANGLE_SAMPLES * RADIUS_SAMPLES);
  for (let a = 0; a < ANGLE_SAMPLES; a++) {
    const theta = (Math.PI * a) / ANGLE_SAMPLES;
    const cos = Math.cos(theta);
    const sin = Math.sin(theta);
    for (let r = 0; r < RADIUS_SAMPLES; r++) {
      const rad = rMin * Math.exp(logStep * r);
      data[a * RADIUS_SAMPLES + r] = bilinear(spec, width, height, cx + rad * cos, cy - rad * sin);
    }
  }
  return { data, width: RADIUS_SAMPLES, height: ANGLE_SAMPLES };
}

function bilinear(src: Float64Array, w: number, h: number, x: number, y: number): number {
  const x0 = Math.max(0, Math.min(w - 2, Math.floor(x)));
  const y0 = Math.max(0, Math.min(h - 2, Math.floor(y)));
  const fx = Math.max(0, Math.min(1, x - x0));
  const fy = Math.max(0, Math.min(1, y - y0));
  const top = src[y0 * w + x0] * (1 - fx) + src[y0 * w + x0 + 1] * fx;
  const bottom = src[(y0 + 1) * w + x0] * (1 - fx) + src[(y0 + 1) * w + x0 + 1] * fx;
  return top * (1 - fy) + bottom * fy;
}

/** The log-polar image of a reference, computed once and reused for every image. */
export function rotationSignature(img: GreyImage): GreyImage {
  return logPolar(emphasisedMagnitude(img), img.width, img.height);
}

/** The turn of `moved` against `fixed`, both given as rotation signatures. */
export function estimateRotation(fixed: GreyImage, moved: GreyImage): RotationEstimate {
  // no window along the angle axis: it is periodic (180 degrees), so the FFT's wrap is exact
  const fa = fftReal(centred(fixed.data), fixed.width, fixed.height);
  const fb = fftReal(centred(moved.data), moved.width, moved.height);
  const surface = correlationSurface(fa, fb);
  // rigid parts keep their size: only the column of zero radius shift is searched, which
  // makes the peak ratio a measure of the turn alone
  const column = new Float64Array(fixed.height);
  for (let a = 0; a < fixed.height; a++) column[a] = surface[a * fixed.width];
  const peak = findPeak(column, 1, fixed.height);
  let angleDeg = (peak.dy * 180) / ANGLE_SAMPLES;
  if (angleDeg >= 90) angleDeg -= 180;
  if (angleDeg < -90) angleDeg += 180;
  return { angleDeg, confidence: peak.confidence };
}

function centred(data: Float64Array): Float64Array {
  let mean = 0;
  for (const v of data) mean += v;
  mean /= data.length;
  return data.map((v) => v - mean);
}
