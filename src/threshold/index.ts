/**
 * Thresholds from a false-alarm budget: the held-out scores' tail, the rate a threshold gives, and
 * the threshold a fit suggests.
 */
export {
  describeThreshold,
  thresholdLine,
  type ThresholdStatement,
  expectedFalseAlarmRate,
  falseAlarmInterval,
  fewImagesWarning,
  formatRate,
  imagesForRate,
  thresholdForFalseAlarmRate,
} from './false-alarm';
export {
  checkFalseAlarmRate,
  DegenerateTrainingError,
  describeScores,
  placeThreshold,
  refuseDegenerate,
  suggestThreshold,
  type PlacedThreshold,
} from './suggested-threshold';
export { fitTail, tailExceedances, type TailFit } from './tail';
export { chiSquareQuantile, normalQuantile, wilsonInterval } from './interval';
