/**
 * The score node's output message: the result of one image in the fields padim-threshold,
 * padim-heatmap and padim-archive read (payload, anomalyMap, padim, image, filename).
 */
import type { Calibration } from '../model/model';
import type { ModelInfo } from '../model/model-info';
import type { ScoreResult } from '../padim/scorer';
import type { ImagePayload } from './image-input';

/** A message, as far as this module writes it. */
export type Message = Record<string, unknown>;

/** The image scored and when it arrived. */
export interface ScoredImage {
  image: ImagePayload;
  /** Date.now() when the image arrived at the node */
  arrived: number;
}

/** What the model says about its results. */
export interface ScoringModel {
  info: ModelInfo;
  /** the model's held-out scores, when it has them */
  calibration?: Calibration;
}

/**
 * Writes the result `r` of `scored` onto `msg` (the same object, which is sent on: other
 * properties of the flow's message stay) and returns it.
 */
export function putScoreResult(
  msg: Message,
  scored: ScoredImage,
  r: ScoreResult,
  model: ScoringModel,
): Message {
  const { info, calibration } = model;
  // the image stays with the message (a reference, not a copy) for padim-heatmap
  msg.image = scored.image.input;
  if (msg.filename === undefined && scored.image.filename) msg.filename = scored.image.filename;
  msg.payload = {
    score: r.score,
    normalizedScore: r.normalizedScore,
    threshold: r.threshold,
    // a model fitted with regions: each region's score, for padim-threshold's per-region limits
    ...(r.regions ? { regions: r.regions } : {}),
  };
  msg.anomalyMap = {
    data: r.map.data,
    width: r.map.width,
    height: r.map.height,
    geometry: r.geometry,
    // which region each map pixel is in (0 outside, k + 1: payload.regions[k]), for
    // padim-heatmap's outline and padim-threshold's defect area per region
    ...(r.regionLabels ? { regionLabels: r.regionLabels } : {}),
  };
  msg.padim = {
    modelId: info.id,
    modelPath: info.path,
    timings: r.timings,
    // the time waited in the queue: since arrival, less the scoring itself
    queueMs: Math.max(0, Date.now() - scored.arrived - r.timings.totalMs),
    ...(r.warnings ? { warnings: r.warnings } : {}),
    // the model's held-out scores (a reference), for padim-threshold's false-alarm rate
    ...(calibration ? { calibration } : {}),
    // a model fitted with --align: the estimated motion and its confidence (alignment/aligner.ts)
    ...(r.alignment ? { alignment: r.alignment } : {}),
  };
  return msg;
}
