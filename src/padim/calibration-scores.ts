/**
 * The calibration of a fit: image scores of training images held out of the model, so they
 * behave like scores of new good parts. Every image (or the last heldOutImages) is left out on
 * its own in a second backbone pass; with heldOutImages 0, the last images of the first pass are
 * left out together (calibration.ts holds the algebra of both); with too few images to hold any
 * out, the in-sample scores stand in.
 */
import { batches } from '../math/batches';
import type { Calibration, PadimModel } from '../model/model';
import { DEFAULTS } from '../options';
import type { Roi } from '../roi';
import { makeAnomalyMap } from './anomaly-map';
import { heldOutDistances, leaveOneOutInPlace } from './calibration';
import { cellDistances } from './distance';
import { embedBatch, extractFeatures } from './extractor';
import { throwIfCancelled, type FitSession } from './fit-session';
import { inputProtocol, type InputPlan } from './input-plan';
import { fittedCells, type ModelLayout } from './model-layout';
import type { CalibrationSample } from './training-pass';

/** What the calibration scores with: the fitted model and how its images were brought in. */
export interface CalibrationInputs {
  /** the fitted model, float32 inverses still present (compact storage drops them after) */
  model: PadimModel;
  session: FitSession;
  plan: InputPlan;
  layout: ModelLayout;
  /** the last images of the training pass */
  sample: CalibrationSample;
  /** per cell, 1 - the shrinkage intensity, when the covariances were shrunk */
  keptFraction?: Float64Array;
}

/** Checks the held-out count option: a whole number, at least 0 (Infinity: all). */
export function heldOutCount(heldOutImages: number | undefined, images: number): number {
  const want = heldOutImages ?? Infinity;
  if (!(want >= 0) || (Number.isFinite(want) && !Number.isInteger(want)))
    throw new RangeError(`heldOutImages must be a whole number of images, at least 0, got ${heldOutImages}`);
  return Math.min(want, images);
}

/** The image score of fitted-cell distances: on the full grid, the map zeroed outside the regions. */
function imageScore(
  model: PadimModel,
  roi: Roi | undefined,
  cells: Float32Array,
  size: { width: number; height: number },
): number {
  const h = model.header;
  const grid = roi ? roi.scatter(cells, h.grid.height * h.grid.width) : cells;
  const { map, score } = makeAnomalyMap(
    { data: grid, height: h.grid.height, width: h.grid.width },
    { height: size.height, width: size.width },
  );
  return roi ? roi.applyToMap(map) : score;
}

/**
 * Second pass: the last `count` images of this fit embedded again and scored under the model
 * fitted without each one (leaveOneOutInPlace), one batch at a time, so memory does not grow.
 */
async function leaveOneOutScores(inputs: CalibrationInputs, count: number): Promise<number[]> {
  const { model, session, plan, layout, keptFraction } = inputs;
  const opts = session.opts;
  const h = model.header;
  const protocol = inputProtocol(plan, opts.maxPixels);
  const mean = Float32Array.from(model.gaussian.mean);
  const backbone = await session.reopen();
  const scores: number[] = [];
  try {
    for (const batch of batches(session.images.slice(-count), opts.batchSize ?? DEFAULTS.batchSize)) {
      throwIfCancelled(session);
      // aligned as in the fit, so a held-out score is what the image scores once the model is used
      const aligner = plan.aligner;
      const extracted = await extractFeatures(
        backbone,
        batch,
        protocol,
        aligner && ((p) => aligner.align(p)),
      );
      const embeddings = fittedCells(layout, await embedBatch(layout.embedder, extracted));
      const grids = await cellDistances(model, session.linalg, embeddings, mean);
      grids.forEach((grid, j) => {
        leaveOneOutInPlace(grid, h.nTrain, keptFraction);
        scores.push(imageScore(model, layout.roi, grid, extracted.prepared[j]));
      });
      opts.onProgress?.({ phase: 'calibrate', done: scores.length, total: count });
    }
  } finally {
    await backbone.dispose();
  }
  return scores;
}

/** The calibration scores, ascending, and how they were held out. */
export async function calibrate(inputs: CalibrationInputs): Promise<Calibration> {
  const { model, session, layout, sample, keptFraction } = inputs;
  const opts = session.opts;
  const h = model.header;
  const looCount = heldOutCount(opts.heldOutImages, session.images.length);
  if (looCount >= 1) {
    opts.onProgress?.({ phase: 'calibrate', done: 0, total: looCount });
    const scores = await leaveOneOutScores(inputs, looCount);
    return { method: 'held-out', heldOut: 'leave-one-out', scores: scores.sort((a, b) => a - b) };
  }
  const held = Math.min(sample.embeddings.length, Math.floor(h.nTrain / 4));
  let grids: Float32Array[];
  let sizes = sample.sizes;
  if (held < 1) {
    opts.log?.(`only ${h.nTrain} training images: the suggested threshold comes from in-sample scores (low)`);
    const mean = Float32Array.from(model.gaussian.mean);
    grids = await cellDistances(model, session.linalg, sample.embeddings, mean);
  } else {
    opts.onProgress?.({ phase: 'calibrate', done: 0, total: held });
    sizes = sizes.slice(-held);
    grids = await heldOutDistances(
      model.gaussian,
      h.nTrain,
      sample.embeddings.slice(-held),
      session.linalg,
      keptFraction,
    );
  }
  const scores = grids.map((grid, j) => imageScore(model, layout.roi, grid, sizes[j]));
  opts.onProgress?.({ phase: 'calibrate', done: scores.length, total: scores.length });
  if (held < 1) return { method: 'in-sample', scores: scores.sort((a, b) => a - b) };
  return { method: 'held-out', heldOut: 'block', scores: scores.sort((a, b) => a - b) };
}
