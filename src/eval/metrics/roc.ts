/**
 * Receiver operating characteristic: exact area under the curve and the curve itself.
 *
 * The area equals the probability that a random positive scores above a random negative,
 * with a tie counting 1/2 (the Mann-Whitney U statistic divided by P * N). It is computed
 * from tie groups, so it is the trapezoidal area over the ROC points at distinct thresholds.
 */
import { type BinaryLabel, checkSameLength, countClasses, forEachScoreGroup } from './ranking';

/**
 * Incremental ROC area. Feed tie groups from the highest score to the lowest, then read
 * `result()`. Used directly by the pixel accumulator, which walks its own sorted storage.
 */
export class RocAreaSweep {
  private positivesAbove = 0;
  private negativesAbove = 0;
  /**
   * Twice the number of (positive, negative) pairs ranked correctly, ties counting 1, so the
   * running sum stays an integer: exact in a double while P * N < 2^52 (about 67M x 67M).
   */
  private twiceCorrectPairs = 0;

  /** Adds one tie group; must come after every group with a higher score. */
  group(positives: number, negatives: number): void {
    // Each negative in this group is beaten by every positive above it and ties with the
    // positives in the group: the trapezoid under the ROC step this group makes.
    this.twiceCorrectPairs += negatives * (2 * this.positivesAbove + positives);
    this.positivesAbove += positives;
    this.negativesAbove += negatives;
  }

  /** The area under the ROC curve, in [0, 1]. Throws if either class never appeared. */
  result(): number {
    requireBothClasses(this.positivesAbove, this.negativesAbove);
    return this.twiceCorrectPairs / (2 * this.positivesAbove * this.negativesAbove);
  }
}

/** Throws the error every AUROC gives when the figure is undefined. */
export function requireBothClasses(positives: number, negatives: number): void {
  if (positives === 0) throw new Error('AUROC is undefined: there are no positive (anomalous) samples');
  if (negatives === 0) throw new Error('AUROC is undefined: there are no negative (good) samples');
}

/**
 * Exact area under the ROC curve.
 * @param scores higher = more anomalous; NaN is rejected.
 * @param labels true/1 = anomalous, false/0 = good; same length as `scores`.
 * @returns AUROC in [0, 1]; 0.5 for scores that carry no information.
 */
export function auroc(scores: ArrayLike<number>, labels: ArrayLike<BinaryLabel>): number {
  checkSameLength(scores, labels);
  // Check the classes first so a single-class input fails before the sort.
  const { positives, negatives } = countClasses(labels);
  requireBothClasses(positives, negatives);
  const sweep = new RocAreaSweep();
  forEachScoreGroup(scores, labels, (_score, p, n) => sweep.group(p, n));
  return sweep.result();
}

/** ROC points, one per distinct threshold plus the origin; arrays have equal length. */
export interface RocCurve {
  /** Decreasing. The first is +Infinity (nothing predicted positive). */
  thresholds: number[];
  /** False positive rate at each threshold: negatives with score >= threshold / N. */
  fpr: number[];
  /** True positive rate at each threshold: positives with score >= threshold / P. */
  tpr: number[];
}

/**
 * The ROC curve over distinct thresholds, from (0, 0) to (1, 1). Joining the points with
 * straight lines gives exactly the area `auroc` returns.
 */
export function rocCurve(scores: ArrayLike<number>, labels: ArrayLike<BinaryLabel>): RocCurve {
  checkSameLength(scores, labels);
  const { positives, negatives } = countClasses(labels);
  requireBothClasses(positives, negatives);
  const curve: RocCurve = { thresholds: [Infinity], fpr: [0], tpr: [0] };
  let tp = 0;
  let fp = 0;
  forEachScoreGroup(scores, labels, (score, p, n) => {
    tp += p;
    fp += n;
    curve.thresholds.push(score);
    curve.fpr.push(fp / negatives);
    curve.tpr.push(tp / positives);
  });
  return curve;
}
