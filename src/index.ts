/**
 * The public API of the core: everything PaDiM computes, with no Node-RED in it.
 */
export { fitModel, updateModel, FitCancelledError, describeScores, suggestThreshold } from './fit';
export { Scorer, type ScoreResult, type ScorerOptions } from './scorer';
export { loadModel, saveModel, readModelHeader, ModelFileError } from './model-file';
export type { PadimModel, ModelHeader, GaussianArrays, ScoreDistribution, Calibration } from './model';
export { openBackbone, type Backbone } from './backbone';
export { PRESETS } from './presets';
export { prepareImage, parseSize, ImageInputError } from './preprocess';
export { makeAnomalyMap, mapToOriginal, upsampleBilinear, gaussianBlur } from './anomaly-map';
export { renderHeatmap, overlay, loadRgb, encodeRgb, type HeatmapOptions } from './heatmap';
export { readCategory, type CategoryDataset } from './dataset';
export { evaluate, type EvaluationReport } from './evaluate';
export * as metrics from './metrics';
export { writeSyntheticDataset, generateTexture, addDefect, TEXTURE_KINDS, DEFECT_KINDS } from './synthetic';
export type { FitOptions, Progress, RuntimeOptions } from './options';
export * from './types';
