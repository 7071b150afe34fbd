/**
 * False-alarm rate <-> threshold on the held-out training scores (model.header.calibration):
 * what share of new good parts a threshold flags NG, and the threshold for a target share.
 *
 * The survival function S(t) = P(good score > t) is the empirical one down to the tail
 * start u, S(s_j) = (N - 1 - j) / N at the j-th ascending score (linear between scores, so
 * it can be inverted), and the exponential tail (tail.ts) above u:
 * S(t) = (k / N) exp(-(t - u) / beta). Rates of at least k/N (10% of N, at least 10 images)
 * are read from the scores themselves; smaller ones, where only a few scores or none lie
 * above the threshold, from the fitted tail.
 */
import type { Calibration } from '../model/model';
import { chiSquareQuantile, wilsonInterval } from './interval';
import { fitTail, type TailFit } from './tail';

/** The stored tail when it is a sound one (a model file is hostile input), else refitted. */
function tailOf(cal: Calibration): TailFit | undefined {
  const t = cal.tail;
  const n = cal.scores.length;
  const sound =
    t !== undefined &&
    t.kind === 'exponential' &&
    Number.isFinite(t.start) &&
    Number.isFinite(t.scale) &&
    t.scale > 0 &&
    Number.isInteger(t.exceedances) &&
    t.exceedances >= 1 &&
    t.exceedances < n;
  return sound ? t : fitTail(cal.scores);
}

/** Ascending finite scores, at least one; anything else is a damaged or foreign header. */
function checkScores(cal: Calibration): void {
  const s: unknown = cal?.scores;
  if (!Array.isArray(s) || s.length === 0) throw new Error('the model holds no calibration scores');
  for (let i = 0; i < s.length; i++) {
    if (typeof s[i] !== 'number' || !Number.isFinite(s[i]) || (i > 0 && s[i] < s[i - 1]))
      throw new Error("the model's calibration scores are not ascending finite numbers");
  }
}

/** Expected false-alarm rate (0..1) of `threshold` for good parts like the held-out ones. */
export function expectedFalseAlarmRate(cal: Calibration, threshold: number): number {
  checkScores(cal);
  const s = cal.scores;
  const n = s.length;
  const tail = tailOf(cal);
  if (tail && threshold >= tail.start)
    return (tail.exceedances / n) * Math.exp(-(threshold - tail.start) / tail.scale);
  if (threshold < s[0]) return 1;
  if (threshold >= s[n - 1]) return 0;
  // s[j] <= threshold < s[j + 1]
  let j = 0;
  while (s[j + 1] <= threshold) j++;
  const frac = s[j + 1] > s[j] ? (threshold - s[j]) / (s[j + 1] - s[j]) : 0;
  return (n - 1 - j - frac) / n;
}

/** The threshold whose expected false-alarm rate is `rate` (0 < rate < 1). */
export function thresholdForFalseAlarmRate(cal: Calibration, rate: number): number {
  if (!(rate > 0 && rate < 1)) throw new RangeError(`false-alarm rate must be in (0, 1), got ${rate}`);
  checkScores(cal);
  const s = cal.scores;
  const n = s.length;
  const tail = tailOf(cal);
  if (tail && rate < tail.exceedances / n)
    return tail.start + tail.scale * Math.log(tail.exceedances / (n * rate));
  const pos = n - 1 - rate * n;
  if (pos <= 0) return s[0];
  const j = Math.floor(pos);
  return j >= n - 1 ? s[n - 1] : s[j] + (s[j + 1] - s[j]) * (pos - j);
}

/**
 * 95% confidence interval of the false-alarm rate `threshold` achieves: Wilson's interval
 * on the share of held-out scores above it in the empirical range; in the tail, the bounds
 * of k/N and of the exponential scale (chi-square) combined the way that widens the interval.
 */
export function falseAlarmInterval(cal: Calibration, threshold: number): { low: number; high: number } {
  checkScores(cal);
  const n = cal.scores.length;
  const tail = tailOf(cal);
  if (!tail || threshold < tail.start) return wilsonInterval(expectedFalseAlarmRate(cal, threshold) * n, n);
  const k = tail.exceedances;
  const share = wilsonInterval(k, n);
  const scaleLow = (2 * k * tail.scale) / chiSquareQuantile(0.975, 2 * k);
  const scaleHigh = (2 * k * tail.scale) / chiSquareQuantile(0.025, 2 * k);
  const excess = threshold - tail.start;
  return { low: share.low * Math.exp(-excess / scaleLow), high: share.high * Math.exp(-excess / scaleHigh) };
}

/**
 * Held-out images a rate can rest on: the budget is read from the scores themselves when at
 * least 10 lie above its threshold (N >= 10 / rate), otherwise from the fitted tail alone.
 */
export function imagesForRate(rate: number): number {
  return Math.ceil(10 / rate);
}

/** A warning when the held-out scores are few for `rate`, or undefined when enough. */
export function fewImagesWarning(cal: Calibration, rate: number): string | undefined {
  const n = cal.scores.length;
  if (cal.method === 'in-sample')
    return `the threshold rests on ${n} in-sample scores (too few training images to hold any out): its false-alarm rate reads low`;
  const need = imagesForRate(rate);
  if (n >= need) return undefined;
  return (
    `the false-alarm rate ${formatRate(rate)} rests on ${n} held-out images, extrapolated by the fitted tail ` +
    `(${need} would put 10 scores above the threshold): add good images for a firmer figure`
  );
}

/** A rate as a percentage for messages: 0.01 -> "1%", 0.001 -> "0.1%". */
export function formatRate(rate: number): string {
  return `${Number((rate * 100).toPrecision(3))}%`;
}

/** What a stored threshold means in false alarms, for `padim info`, `padim fit` and the fit node. */
export interface ThresholdStatement {
  /** expected false-alarm rate of the threshold, 0..1, and its 95% interval */
  rate: number;
  interval: { low: number; high: number };
  /** held-out (or in-sample) images the figure rests on */
  images: number;
  method: Calibration['method'];
  budget?: number;
  warning?: string;
}

export function describeThreshold(cal: Calibration, threshold: number): ThresholdStatement {
  const rate = expectedFalseAlarmRate(cal, threshold);
  const warning = fewImagesWarning(cal, cal.budget ?? Math.max(rate, 1e-6));
  return {
    rate,
    interval: falseAlarmInterval(cal, threshold),
    images: cal.scores.length,
    method: cal.method,
    ...(cal.budget !== undefined ? { budget: cal.budget } : {}),
    ...(warning ? { warning } : {}),
  };
}

/** One line: "expected false alarms 1% (95%: 0.4%-2.1%) on 209 held-out images (budget 1%)". */
export function thresholdLine(t: ThresholdStatement): string {
  const budget = t.budget !== undefined ? ` (budget ${formatRate(t.budget)})` : '';
  return (
    `expected false alarms ${formatRate(t.rate)} (95%: ${formatRate(t.interval.low)}-${formatRate(t.interval.high)}) ` +
    `on ${t.images} ${t.method} images${budget}`
  );
}
