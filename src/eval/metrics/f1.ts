/**
 * The decision threshold with the best F1 score, searched exactly over every distinct score.
 * Predicting "anomalous when score >= threshold", only thresholds equal to an observed score
 * change the confusion matrix, so trying each of them is exhaustive.
 */
import { type BinaryLabel, checkSameLength, countClasses, forEachScoreGroup } from './ranking';

/** The best operating point found. All fields are in [0, 1] except `threshold`. */
export interface F1Result {
  /** Predict anomalous when score >= threshold. One of the observed scores. */
  threshold: number;
  /** 2 * precision * recall / (precision + recall); 0 when nothing positive is found. */
  f1: number;
  /** TP / (TP + FP) at the threshold. */
  precision: number;
  /** TP / P at the threshold. */
  recall: number;
}

/**
 * Incremental F1 search. Feed tie groups from the highest score to the lowest, then read
 * `result()`. Among thresholds with equal F1 the highest (first seen) is kept, the one
 * that raises fewest alarms.
 */
export class F1Sweep {
  private truePositives = 0;
  private falsePositives = 0;
  private best: F1Result | undefined;

  /** @param totalPositives P, the number of positives in the whole data (> 0). */
  constructor(private readonly totalPositives: number) {
    if (!(totalPositives > 0)) {
      throw new Error('F1 is undefined: there are no positive (anomalous) samples');
    }
  }

  /** Adds one tie group (every item scoring exactly `score`). */
  group(score: number, positives: number, negatives: number): void {
    this.truePositives += positives;
    this.falsePositives += negatives;
    const tp = this.truePositives;
    // F1 = 2TP / (2TP + FP + FN), and TP + FN = P. Equal ratios of integers divide to the
    // same double, so exact ties between thresholds compare equal.
    const f1 = (2 * tp) / (tp + this.falsePositives + this.totalPositives);
    if (this.best === undefined || f1 > this.best.f1) {
      this.best = {
        threshold: score,
        f1,
        precision: tp / (tp + this.falsePositives),
        recall: tp / this.totalPositives,
      };
    }
  }

  /** The best point seen. Throws if no group was added. */
  result(): F1Result {
    if (this.best === undefined) throw new Error('F1 search saw no scores');
    return { ...this.best };
  }
}

/**
 * The F1-optimal threshold over labelled scores.
 * @param scores higher = more anomalous; NaN is rejected.
 * @param labels true/1 = anomalous, false/0 = good; at least one positive is required.
 */
export function bestF1Threshold(scores: ArrayLike<number>, labels: ArrayLike<BinaryLabel>): F1Result {
  checkSameLength(scores, labels);
  const sweep = new F1Sweep(countClasses(labels).positives);
  forEachScoreGroup(scores, labels, (score, p, n) => sweep.group(score, p, n));
  return sweep.result();
}
