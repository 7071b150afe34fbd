/** Thresholds from a false-alarm budget: the held-out scores' tail and the rate a threshold gives. */
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
export { fitTail, tailExceedances, type TailFit } from './tail';
export { chiSquareQuantile, normalQuantile, wilsonInterval } from './interval';
