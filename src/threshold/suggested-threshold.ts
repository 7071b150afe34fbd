/**
 * The threshold a fit suggests from its calibration scores (the held-out training images'
 * image scores): the false-alarm budget's threshold on their tail (false-alarm.ts, tail.ts),
 * or, for in-sample scores or too few to fit a tail, the older max/mean rule; and the refusal of
 * a fit whose scores do not vary at all.
 */
import type { Calibration, ScoreDistribution } from '../model/model';
import { thresholdForFalseAlarmRate } from './false-alarm';
import { fitTail } from './tail';

/** Summary statistics of image scores (empty input gives zeros). */
export function describeScores(scores: number[]): ScoreDistribution {
  const s = [...scores].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return { count: 0, min: 0, max: 0, mean: 0, std: 0, p50: 0, p90: 0, p95: 0, p99: 0 };
  const mean = s.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, n - 1));
  // linear interpolation between order statistics
  const q = (p: number) => {
    const pos = p * (n - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(n - 1, lo + 1);
    return s[lo] + (s[hi] - s[lo]) * (pos - lo);
  };
  return {
    count: n,
    min: s[0],
    max: s[n - 1],
    mean,
    std,
    p50: q(0.5),
    p90: q(0.9),
    p95: q(0.95),
    p99: q(0.99),
  };
}

/**
 * The suggested threshold: 5% above every held-out training image's score and at least
 * three standard deviations above their mean, so that good parts like those seen in
 * training stay below it. A starting point: the F1-optimal threshold on labelled images
 * (padim eval) is the better choice when defects are at hand.
 */
export function suggestThreshold(d: ScoreDistribution): number {
  return Math.max(d.max * 1.05, d.mean + 3 * d.std);
}

/**
 * A suggested threshold below this (Mahalanobis units; real sets give 2 to 50) means the held-out
 * training images scored as copies of the rest: identical or near-identical frames, such as a
 * frozen camera sends. A model from them has no spread to compare with, so every later image is
 * an outlier or the threshold is 0; the fit is refused instead of replacing a working model.
 */
export const MIN_SUGGESTED_THRESHOLD = 1e-3;

/** The training images do not vary: fitting on them would give a model that cannot decide. */
export class DegenerateTrainingError extends Error {
  override name = 'DegenerateTrainingError';
}

/** Checks the false-alarm budget option: a rate strictly between 0 and 1. */
export function checkFalseAlarmRate(rate: number): number {
  if (!(rate > 0 && rate < 1))
    throw new RangeError(`falseAlarmRate must be between 0 and 1 (exclusive), got ${rate}`);
  return rate;
}

/** What a fit stores about its threshold (the header's fields of the same names). */
export interface PlacedThreshold {
  trainScores: ScoreDistribution;
  /** the calibration, with its tail and budget when the budget set the threshold */
  calibration: Calibration;
  threshold: number;
}

/**
 * The tail fit and the budget's threshold for held-out scores; in-sample scores (too few
 * images to hold any out) read low, so there the old rule (suggestThreshold) stays.
 */
export function placeThreshold(calibration: Calibration, rate: number): PlacedThreshold {
  const trainScores = describeScores(calibration.scores);
  const tail = fitTail(calibration.scores);
  if (calibration.method === 'in-sample' || !tail) {
    return { trainScores, calibration, threshold: suggestThreshold(trainScores) };
  }
  const budgeted: Calibration = { ...calibration, tail, budget: rate };
  return { trainScores, calibration: budgeted, threshold: thresholdForFalseAlarmRate(budgeted, rate) };
}

/** Refuses a placed threshold below MIN_SUGGESTED_THRESHOLD: the `images` training images do not vary. */
export function refuseDegenerate(placed: PlacedThreshold, images: number): void {
  if (placed.threshold >= MIN_SUGGESTED_THRESHOLD) return;
  const s = placed.trainScores;
  throw new DegenerateTrainingError(
    `the ${images} training images do not vary (held-out scores ${s.min.toPrecision(3)} to ${s.max.toPrecision(3)}, ` +
      `suggested threshold ${placed.threshold.toPrecision(3)}): identical or near-identical frames, as from a frozen ` +
      `camera? No model was written; fit on good parts as they really vary`,
  );
}
