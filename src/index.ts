/**
 * The public API of the core: everything PaDiM computes, with no Node-RED in it.
 */
export { fitModel, updateModel, FitCancelledError } from './padim/fit';
export { describeScores, suggestThreshold } from './threshold';
export { Scorer, type ScoreResult, type ScorerOptions } from './padim/scorer';
export { loadModel, saveModel, readModelHeader, ModelFileError } from './model/model-file';
export type { PadimModel, ModelHeader, GaussianArrays, ScoreDistribution, Calibration } from './model/model';
export { openBackbone, type Backbone } from './backbone/backbone';
export { PRESETS } from './backbone/presets';
export { prepareImage, ImageInputError } from './image';
export { parseSize } from './input';
export { makeAnomalyMap, mapToOriginal, upsampleBilinear, gaussianBlur } from './padim/anomaly-map';
export { renderHeatmap, overlay, loadRgb, encodeRgb, type HeatmapOptions } from './render/heatmap';
export { readCategory, type CategoryDataset } from './eval/dataset';
export { evaluate, type EvaluationReport } from './eval/evaluate';
export * as metrics from './eval/metrics';
export type { FitOptions, Progress, RuntimeOptions } from './options';
export * from './types';
