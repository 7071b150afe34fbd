/** Detection metrics: image- and pixel-level scores for evaluating an anomaly detector. */
export { auroc, rocCurve, RocAreaSweep, type RocCurve } from './roc';
export { bestF1Threshold, F1Sweep, type F1Result } from './f1';
export { labelComponents, type ComponentLabels } from './components';
export { binariseMask, resizeMaskNearest } from './mask';
export { PixelMetricsAccumulator, type PixelMetricsOptions } from './pixel-accumulator';
export { ProAreaSweep } from './pro';
export { type BinaryLabel } from './ranking';
export { caughtAtFalseAlarmRate, operatingPoint, type OperatingPoint } from './operating-point';
