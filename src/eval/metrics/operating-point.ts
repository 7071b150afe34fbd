/**
 * Operating points: what a line gets at one threshold (a part is NG when its score is above
 * the threshold, as the threshold node decides), read from labelled test images.
 */
import { type BinaryLabel, checkSameLength, countClasses } from './ranking';

export interface OperatingPoint {
  threshold: number;
  /** good images above the threshold / good images */
  falseAlarmRate: number;
  /** defective images above the threshold / defective images */
  caught: number;
  falseAlarms: number;
  defectsCaught: number;
}

/** False alarms and defects caught at `threshold`. */
export function operatingPoint(
  scores: ArrayLike<number>,
  labels: ArrayLike<BinaryLabel>,
  threshold: number,
): OperatingPoint {
  checkSameLength(scores, labels);
  const { positives, negatives } = countClasses(labels);
  let falseAlarms = 0;
  let defectsCaught = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!(scores[i] > threshold)) continue;
    if (labels[i]) defectsCaught++;
    else falseAlarms++;
  }
  return {
    threshold,
    falseAlarmRate: negatives ? falseAlarms / negatives : 0,
    caught: positives ? defectsCaught / positives : 0,
    falseAlarms,
    defectsCaught,
  };
}

/**
 * The lowest threshold at which at most `rate` of the good images are false alarms, and what
 * it catches: the (floor(rate G) + 1)-th highest good score (G good images). With few good
 * images a small rate allows none: the threshold is then the highest good score.
 */
export function caughtAtFalseAlarmRate(
  scores: ArrayLike<number>,
  labels: ArrayLike<BinaryLabel>,
  rate: number,
): OperatingPoint {
  checkSameLength(scores, labels);
  const good: number[] = [];
  for (let i = 0; i < scores.length; i++) if (!labels[i]) good.push(scores[i]);
  if (good.length === 0) throw new Error('no good images to count false alarms on');
  good.sort((a, b) => b - a);
  const allowed = Math.floor(rate * good.length + 1e-9);
  return operatingPoint(scores, labels, good[Math.min(allowed, good.length - 1)]);
}
