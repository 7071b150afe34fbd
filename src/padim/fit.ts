/**
 * Fitting a PaDiM model on good images, and updating a fitted model with more of them.
 *
 * Images stream through in batches (training-pass.ts): decode, backbone, embed, add to the
 * per-cell sums. Then the backbone is released, the covariances inverted (gaussian.ts), the
 * training images scored held out of the model (calibration-scores.ts) and the threshold
 * placed from those scores (threshold/).
 */
import {
  backboneOptions,
  openBackbone,
  openStoredBackbone,
  storedBackboneSpec,
  type Backbone,
} from '../backbone/backbone';
import { BatchedLinalg } from '../linalg/batched-linalg';
import type { CompactStorage } from '../model/precision-storage';
import { COMPACT_FORMAT_VERSION, type PadimModel } from '../model/model';
import { DEFAULTS, type FitOptions } from '../options';
import { checkFalseAlarmRate, describeScores, placeThreshold, refuseDegenerate } from '../threshold';
import type { ImageInput } from '../types';
import { calibrate, heldOutCount } from './calibration-scores';
import { needsShrinkage, shrinkageWarning } from './covariance-shrinkage';
import { warn, type FitSession } from './fit-session';
import { planFitInput, planUpdateInput, type InputPlan } from './input-plan';
import { layoutFromFirstBatch, layoutOfModel, priorStatistics, type ModelLayout } from './model-layout';
import { accumulateImages, type CalibrationSample } from './training-pass';

export { FitCancelledError } from './fit-session';

/** The compact storage asked for, or on an update without the option the prior model's. */
function compactStorageOf(opts: FitOptions, prior?: PadimModel): CompactStorage | undefined {
  const storage = opts.precisionStorage ?? prior?.header.precisionStorage ?? 'float32';
  return storage === 'float32' ? undefined : storage;
}

/**
 * The fitted model as stored: with a compact factor, the float32 inverses (needed up to here
 * by the calibration) are dropped, so memory and file hold only the factor.
 */
function withCompactStorage(model: PadimModel): PadimModel {
  const factor = model.gaussian.factor;
  if (!factor) return model;
  return {
    ...model,
    header: { ...model.header, formatVersion: COMPACT_FORMAT_VERSION, precisionStorage: factor.storage },
    gaussian: { ...model.gaussian, precision: [] },
  };
}

/** The false-alarm budget of the options, checked. */
function budgetOf(opts: FitOptions): number {
  return checkFalseAlarmRate(opts.falseAlarmRate ?? DEFAULTS.falseAlarmRate);
}

/** Inverts the accumulated covariances, calibrates, and places the threshold. */
async function finish(fitted: {
  session: FitSession;
  plan: InputPlan;
  layout: ModelLayout;
  sample: CalibrationSample;
  /** the model an update extends */
  prior?: PadimModel;
}): Promise<PadimModel> {
  const { session, layout, prior } = fitted;
  const opts = session.opts;
  const accumulator = layout.accumulator;
  const images = accumulator.imageCount + (prior?.header.nTrain ?? 0);
  const shrink = opts.shrinkage !== 'off' && needsShrinkage({ images, dims: accumulator.dims });
  const gaussian = await accumulator.finalise({
    shrink,
    eps: opts.eps ?? prior?.header.eps ?? DEFAULTS.eps,
    keepComoment: opts.updatable ?? true,
    inversePrecision: opts.inversePrecision,
    inverseMethod: opts.inverseMethod,
    factor: compactStorageOf(opts, prior),
    onProgress: (done, total) => opts.onProgress?.({ phase: 'invert', done, total }),
  });
  const { count, shrinkage, ...arrays } = gaussian;
  const meanShrinkage = shrinkage ? shrinkage.reduce((a, b) => a + b, 0) / shrinkage.length : undefined;
  if (meanShrinkage !== undefined)
    warn(session, shrinkageWarning({ images: count, dims: arrays.dims }, meanShrinkage));
  const model: PadimModel = {
    header: {
      ...layout.header,
      nTrain: count,
      // placeholders until the calibration: placed below
      trainScores: describeScores([]),
      threshold: 0,
      createdAt: prior?.header.createdAt ?? new Date().toISOString(),
      ...(prior ? { updatedAt: new Date().toISOString() } : {}),
      ...(meanShrinkage !== undefined ? { shrinkage: { method: 'oas', meanIntensity: meanShrinkage } } : {}),
      ...(session.warnings.length > 0 ? { fitWarnings: [...session.warnings] } : {}),
    },
    gaussian: arrays,
    projection: layout.projection,
  };
  const calibration = await calibrate({
    ...fitted,
    model,
    keptFraction: shrinkage?.map((rho) => 1 - rho),
  });
  const placed = placeThreshold(calibration, budgetOf(opts));
  model.header.trainScores = placed.trainScores;
  model.header.calibration = placed.calibration;
  model.header.threshold = placed.threshold;
  refuseDegenerate(placed, model.header.nTrain);
  return withCompactStorage(model);
}

/**
 * Runs `work` with a fit session: the options checked first (a bad budget fails before the
 * images are embedded), the backbone opened by `open`, everything released at the end.
 */
async function withSession<T>(
  opts: FitOptions,
  images: ImageInput[],
  open: () => Promise<Backbone>,
  work: (session: FitSession) => Promise<T>,
): Promise<T> {
  budgetOf(opts);
  heldOutCount(opts.heldOutImages, images.length);
  const backbone = await open();
  const linalg = new BatchedLinalg({ threads: opts.threads, provider: backbone.provider });
  try {
    return await work({ backbone, linalg, images, opts, reopen: open, warnings: [] });
  } finally {
    await linalg.dispose();
    await backbone.dispose();
  }
}

/** Fits a new model on good images (file paths, encoded bytes or raw pixels). */
export async function fitModel(images: ImageInput[], opts: FitOptions = {}): Promise<PadimModel> {
  if (images.length < 2) throw new Error(`need at least 2 training images, got ${images.length}`);
  const spec = opts.backbone ?? DEFAULTS.backbone;
  const open = () => openBackbone(spec, backboneOptions(opts));
  return withSession(opts, images, open, async (session) => {
    const { plan, roiMasks } = await planFitInput(session);
    const { layout, sample } = await accumulateImages({
      session,
      plan,
      layoutFor: (stages) => layoutFromFirstBatch({ session, plan, roiMasks, stages }),
    });
    // the backbone is done: release its session (and its memory) before the inversion peak
    await session.backbone.dispose();
    return finish({ session, plan, layout, sample });
  });
}

/**
 * Adds more good images to a fitted model without refitting: the stored mean and
 * co-moments are merged with the new images' sums, and the covariances inverted again.
 */
export async function updateModel(
  model: PadimModel,
  images: ImageInput[],
  opts: FitOptions = {},
): Promise<PadimModel> {
  const h = model.header;
  const prior = priorStatistics(model);
  if (images.length === 0) throw new Error('no images to add');
  const merged: FitOptions = {
    ...opts,
    layers: h.backbone.layers,
    size: h.input.size,
    normalisation: h.input.normalisation,
    eps: h.eps,
  };
  // the recorded path is checked once, before anything is opened; the second pass reopens it
  const backbonePath = storedBackboneSpec(h.backbone, opts.checkStoredPath);
  const open = () => openStoredBackbone(h.backbone, { ...merged, backbonePath });
  return withSession(merged, images, open, async (session) => {
    const plan = planUpdateInput(h);
    const layout = layoutOfModel({ model, prior, session });
    const pass = await accumulateImages({ session, plan, layoutFor: () => layout });
    await session.backbone.dispose();
    return finish({ session, plan, layout, sample: pass.sample, prior: model });
  });
}
