/**
 * What the threshold node's edit dialog draws: the model's held-out good scores and the latest
 * live scores binned on one axis, and the false-alarm rate to expect at a threshold.
 *
 * The rate is the one the fit's --false-alarm-rate uses (src/threshold: the empirical share
 * down to the tail start, the fitted exponential tail above it), so the dialog, `padim info`
 * and the fit agree on what a threshold means; its 95% interval and the number of held-out
 * scores at or above the threshold come with it, so a rate read from 12 images is not taken
 * for a precise one.
 */
import type { Calibration } from '../model/model';
import { expectedFalseAlarmRate, falseAlarmInterval } from '../threshold';

export interface FalseAlarmEstimate {
  /** expected fraction of good parts decided NG, 0..1 (src/threshold's tail model) */
  rate: number;
  /** its 95% confidence interval, 0..1 */
  interval: { low: number; high: number };
  /** held-out scores at or above the threshold */
  above: number;
  /** held-out scores the rate rests on */
  count: number;
  method: Calibration['method'];
}

/**
 * The false-alarm rate at `threshold` (same units as the scores), or null when the stored
 * scores cannot carry one (none, or not ascending finite numbers: a damaged model file).
 */
export function falseAlarmEstimate(calibration: Calibration, threshold: number): FalseAlarmEstimate | null {
  const { scores } = calibration;
  let rate: number;
  let interval: { low: number; high: number };
  try {
    rate = expectedFalseAlarmRate(calibration, threshold);
    interval = falseAlarmInterval(calibration, threshold);
  } catch {
    return null;
  }
  // scores are ascending: the first index at or above the threshold, by bisection
  let lo = 0;
  let hi = scores.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (scores[mid] < threshold) lo = mid + 1;
    else hi = mid;
  }
  return { rate, interval, above: scores.length - lo, count: scores.length, method: calibration.method };
}

/** Counts per bin over [min, max): bin k covers min + k * width .. min + (k + 1) * width. */
export interface Histogram {
  min: number;
  max: number;
  /** width of one bin, score units */
  width: number;
  counts: number[];
}

/** The axis both histograms share: every finite value inside, with a margin. */
export function histogramRange(values: readonly number[], extra: readonly number[] = []): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (const v of [...values, ...extra]) {
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min === Infinity) return [0, 1];
  const pad = (max - min) * 0.05 || Math.abs(max) * 0.05 || 1;
  return [Math.max(0, min - pad), max + pad];
}

/** Bins the finite values of `values` on [min, max) in `bins` bins; values outside are clamped in. */
export function binScores(values: readonly number[], min: number, max: number, bins: number): Histogram {
  if (!(bins >= 1 && Number.isInteger(bins)))
    throw new RangeError(`bins must be a whole number >= 1, got ${bins}`);
  if (!(max > min)) throw new RangeError(`the histogram range must have max > min, got ${min}..${max}`);
  const width = (max - min) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    counts[Math.min(bins - 1, Math.max(0, Math.floor((v - min) / width)))]++;
  }
  return { min, max, width, counts };
}

/** Which number the threshold is on: the image score, or score / the model's threshold. */
export type HistogramScale = 'score' | 'normalized';

export interface HistogramViewInput {
  scale: HistogramScale;
  /** the model's held-out scores (absent: a model saved before they were stored, or none yet) */
  calibration?: Calibration;
  /** the model's suggested threshold, score units (what 'normalized' divides by) */
  modelThreshold?: number;
  /** latest live values, already on `scale` */
  live: readonly number[];
  /** the threshold on `scale`; absent or not finite: no line and no rate */
  threshold?: number;
  bins?: number;
}

/** What the edit dialog draws: both histograms on one axis, the threshold, the rate there. */
export interface HistogramView {
  scale: HistogramScale;
  min: number;
  max: number;
  /** the model's held-out good scores on `scale`, null when the model has none */
  calibration: (Histogram & { method: Calibration['method']; count: number }) | null;
  live: Histogram & { count: number };
  threshold: number | null;
  falseAlarm: FalseAlarmEstimate | null;
}

/** Bins the calibration and live values on a shared axis and reads the rate at the threshold. */
export function histogramView(input: HistogramViewInput): HistogramView {
  const bins = input.bins ?? 40;
  const divisor = input.scale === 'normalized' ? input.modelThreshold : 1;
  const usable = input.calibration && divisor !== undefined && divisor > 0 ? input.calibration : undefined;
  const held = usable ? usable.scores.map((s) => s / divisor!) : [];
  const threshold = Number.isFinite(input.threshold) ? input.threshold! : null;
  // defect parts can score many times the good ones: live values far beyond the held-out ones
  // would squeeze the good scores into one bin, so they are clamped into the last bin instead
  const reach = held.length ? 3 * held[held.length - 1] : Infinity;
  const [min, max] = histogramRange(
    [...held, ...input.live.filter((v) => v <= reach)],
    threshold === null ? [] : [threshold],
  );
  return {
    scale: input.scale,
    min,
    max,
    calibration: usable
      ? { ...binScores(held, min, max, bins), method: usable.method, count: held.length }
      : null,
    live: { ...binScores(input.live, min, max, bins), count: input.live.filter(Number.isFinite).length },
    threshold,
    falseAlarm: usable && threshold !== null ? falseAlarmEstimate(usable, threshold * divisor!) : null,
  };
}
