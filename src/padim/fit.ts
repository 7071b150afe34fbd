/**
 * Fitting a PaDiM model on good images, and updating a fitted model with more of them.
 *
 * Images stream through in batches: decode, backbone, embed, add to the per-cell sums.
 * Nothing per image is kept except the last batch's embeddings, which are scored once
 * the model is inverted to describe the distribution of training-image scores and to
 * suggest a threshold.
 */
import { Aligner, chooseReference, type AlignedImage } from '../alignment/aligner';
import type { AlignmentRecord } from '../alignment/reference';
import { makeAnomalyMap } from './anomaly-map';
import { openBackbone, storedBackboneSpec, type Backbone } from '../backbone/backbone';
import { BatchedLinalg } from '../linalg/batched-linalg';
import { heldOutDistances, leaveOneOutInPlace } from './calibration';
import type { CompactStorage } from '../model/precision-storage';
import { needsShrinkage, shrinkageWarning } from './covariance-shrinkage';
import { Embedder, randomChannels, semiOrthogonalMatrix } from './embedding';
import { batches } from '../math/batches';
import { embedBatch, extractFeatures } from './extractor';
import { GaussianAccumulator, type PriorStatistics } from './gaussian';
import { resolveFitSize, type AutoSizeRecord } from '../input/input-size';
import { makeRoiRecord, rasterise, readRoiFile, Roi, type InputMasks } from '../roi';
import { cellDistances } from './scorer';
import {
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  COMPACT_FORMAT_VERSION,
  type Calibration,
  type ModelHeader,
  type PadimModel,
  type Reduction,
  type ScoreDistribution,
} from '../model/model';
import { DEFAULTS, type FitOptions } from '../options';
import { prepareImage } from '../image';
import { fitTail, thresholdForFalseAlarmRate } from '../threshold';
import type { ImageInput, PreparedImage, SizeProtocol } from '../types';

export class FitCancelledError extends Error {
  constructor() {
    super('fit cancelled');
    this.name = 'FitCancelledError';
  }
}

/** Summary statistics of image scores (empty input gives zeros). */
export function describeScores(scores: number[]): ScoreDistribution {
  const s = [...scores].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return { count: 0, min: 0, max: 0, mean: 0, std: 0, p50: 0, p90: 0, p95: 0, p99: 0 };
  const mean = s.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, n - 1));
  // linear interpolation between order statistics
  const q = (p: number) => {
    const pos = p * (n - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(n - 1, lo + 1);
    return s[lo] + (s[hi] - s[lo]) * (pos - lo);
  };
  return {
    count: n,
    min: s[0],
    max: s[n - 1],
    mean,
    std,
    p50: q(0.5),
    p90: q(0.9),
    p95: q(0.95),
    p99: q(0.99),
  };
}

/**
 * The suggested threshold: 5% above every held-out training image's score and at least
 * three standard deviations above their mean, so that good parts like those seen in
 * training stay below it. A starting point: the F1-optimal threshold on labelled images
 * (padim eval) is the better choice when defects are at hand.
 */
export function suggestThreshold(d: ScoreDistribution): number {
  return Math.max(d.max * 1.05, d.mean + 3 * d.std);
}

/**
 * A suggested threshold below this (Mahalanobis units; real sets give 2 to 50) means the held-out
 * training images scored as copies of the rest: identical or near-identical frames, such as a
 * frozen camera sends. A model from them has no spread to compare with, so every later image is
 * an outlier or the threshold is 0; the fit is refused instead of replacing a working model.
 */
export const MIN_SUGGESTED_THRESHOLD = 1e-3;

/** The training images do not vary: fitting on them would give a model that cannot decide. */
export class DegenerateTrainingError extends Error {
  override name = 'DegenerateTrainingError';
}

function refuseDegenerate(header: ModelHeader): void {
  if (header.threshold >= MIN_SUGGESTED_THRESHOLD) return;
  const s = header.trainScores;
  throw new DegenerateTrainingError(
    `the ${header.nTrain} training images do not vary (held-out scores ${s.min.toPrecision(3)} to ${s.max.toPrecision(3)}, ` +
      `suggested threshold ${header.threshold.toPrecision(3)}): identical or near-identical frames, as from a frozen ` +
      `camera? No model was written; fit on good parts as they really vary`,
  );
}

/** the size until chooseSize (fit) or the model header (update) sets it */
const PLACEHOLDER_SIZE: SizeProtocol = { kind: 'resize', width: 256, height: 256 };

interface FitState {
  backbone: Backbone;
  linalg: BatchedLinalg;
  embedder?: Embedder;
  accumulator?: GaussianAccumulator;
  header?: Omit<ModelHeader, 'nTrain' | 'trainScores' | 'threshold' | 'createdAt'>;
  projection?: Float32Array;
  /** embeddings of the last batch, kept for calibration */
  lastEmbeddings: Float32Array[];
  lastSizes: { width: number; height: number }[];
  /** the input size of every image (an `auto` choice resolved) */
  size: SizeProtocol;
  autoSize?: AutoSizeRecord;
  /** what the fit warned about; logged as they happen and kept in the header */
  warnings: string[];
  /** the images of this fit (or update), for the leave-one-out pass */
  images: ImageInput[];
  /** opens the backbone again (the fit releases it before the inversion) */
  reopen: () => Promise<Backbone>;
  /** present when training images are aligned to a reference */
  aligner?: Aligner;
  /** training images left unaligned (match too weak or motion too large) */
  unaligned: number;
  /** the regions at the input size, until the grid is known (then `roi`) */
  roiMasks?: { masks: InputMasks; source: { width: number; height: number } };
  /** present when only regions are fitted: embeddings are reduced to its cells */
  roi?: Roi;
}

/**
 * Reads the regions and brings them to the input size through the reference image's geometry
 * (the alignment reference, or the first training image): the cells follow once the grid is known.
 */
async function chooseRoi(state: FitState, images: ImageInput[], opts: FitOptions): Promise<void> {
  if (opts.roi === undefined) return;
  const spec = typeof opts.roi === 'string' ? await readRoiFile(opts.roi, opts.maxPixels) : opts.roi;
  const reference = await prepareImage(images[state.aligner?.record.referenceIndex ?? 0], {
    size: state.size,
    normalisation: opts.normalisation ?? DEFAULTS.normalisation,
    maxPixels: opts.maxPixels,
  });
  const masks = rasterise(spec, reference.geometry, reference.width, reference.height);
  state.roiMasks = { masks, source: { width: spec.width, height: spec.height } };
}

/** Embeddings of the full grid reduced to the fitted cells (all of them without regions). */
function fittedCells(state: FitState, embeddings: Float32Array[]): Float32Array[] {
  const roi = state.roi;
  const d = (state.embedder as Embedder).dims;
  return roi ? embeddings.map((e) => roi.gather(e, d)) : embeddings;
}

/** The image score of fitted-cell distances: on the full grid, the map zeroed outside the regions. */
function imageScore(
  state: FitState,
  h: ModelHeader,
  cells: Float32Array,
  size: { width: number; height: number },
): number {
  const roi = state.roi;
  const grid = roi ? roi.scatter(cells, h.grid.height * h.grid.width) : cells;
  const { map, score } = makeAnomalyMap({ data: grid, height: h.grid.height, width: h.grid.width }, size);
  return roi ? roi.applyToMap(map) : score;
}

/** Training images looked at when choosing the alignment reference. */
const REFERENCE_CANDIDATES = 16;

/**
 * Picks the alignment reference among the first training images (the one closest to their
 * mean thumbnail) and sets up the aligner every training image then goes through.
 */
async function chooseAlignment(state: FitState, images: ImageInput[], opts: FitOptions): Promise<void> {
  const mode = opts.align ?? DEFAULTS.align;
  if (mode === 'off') return;
  const protocol = {
    size: state.size,
    normalisation: opts.normalisation ?? DEFAULTS.normalisation,
    maxPixels: opts.maxPixels,
  };
  const candidates = await Promise.all(
    images.slice(0, REFERENCE_CANDIDATES).map((img) => prepareImage(img, protocol)),
  );
  const index = chooseReference(candidates);
  state.aligner = new Aligner(Aligner.record(candidates[index], mode, index));
}

/** Aligns one training image, counting those that stay unaligned. */
function alignTraining(state: FitState): ((p: PreparedImage) => AlignedImage) | undefined {
  const aligner = state.aligner;
  if (!aligner) return undefined;
  return (p) => {
    const a = aligner.align(p);
    if (!a.outcome.applied) state.unaligned += 1;
    return a;
  };
}

function warn(state: FitState, opts: FitOptions, message: string): void {
  state.warnings.push(message);
  opts.log?.(`warning: ${message}`);
}

/** Decides the input size: explicit sizes as given, `auto` from the training images. */
async function chooseSize(state: FitState, images: ImageInput[], opts: FitOptions): Promise<void> {
  const choice = opts.size ?? DEFAULTS.size;
  if (choice.kind !== 'auto') {
    state.size = choice;
    return;
  }
  const resolved = await resolveFitSize(choice, images, state.backbone, opts.maxPixels);
  state.size = resolved.size;
  state.autoSize = resolved.record;
  for (const w of resolved.warnings) warn(state, opts, w);
}

function chooseReduction(
  totalChannels: number,
  opts: FitOptions,
): { reduction: Reduction; projection?: Float32Array } {
  const dims = opts.dims ?? Math.min(DEFAULTS.dims, totalChannels);
  const seed = opts.seed ?? DEFAULTS.seed;
  if (!Number.isInteger(dims) || dims < 1)
    throw new RangeError(`dims must be a positive integer, got ${opts.dims}`);
  if (dims > totalChannels) {
    throw new RangeError(
      `dims ${dims} exceeds the ${totalChannels} channels the backbone's three stages give`,
    );
  }
  if (opts.reduction === 'semi-orthogonal') {
    return {
      reduction: { kind: 'semi-orthogonal', seed },
      projection: semiOrthogonalMatrix({ totalChannels, dims }, seed),
    };
  }
  if (dims === totalChannels) return { reduction: { kind: 'all' } };
  return { reduction: { kind: 'random', seed, indices: randomChannels({ totalChannels, dims }, seed) } };
}

/** Sets up the embedding and accumulator once the first batch tells the backbone's shapes. */
function initialise(
  state: FitState,
  stages: { channels: number; height: number; width: number }[],
  opts: FitOptions,
) {
  const stageChannels = stages.map((s) => s.channels) as [number, number, number];
  const totalChannels = stageChannels[0] + stageChannels[1] + stageChannels[2];
  const { reduction, projection } = chooseReduction(totalChannels, opts);
  state.projection = projection;
  state.embedder = new Embedder({ totalChannels, reduction, projection }, state.linalg);
  const grid = { height: stages[0].height, width: stages[0].width };
  const roi = state.roiMasks && makeRoiRecord(state.roiMasks.masks, state.roiMasks.source, grid);
  if (roi) state.roi = new Roi(roi);
  const cells = roi ? roi.cells.length : grid.height * grid.width;
  state.accumulator = new GaussianAccumulator({ cells, dims: state.embedder.dims }, state.linalg);
  state.header = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    backbone: {
      id: state.backbone.id,
      path: state.backbone.path,
      sha256: state.backbone.sha256,
      layers: state.backbone.layers,
      stageChannels,
    },
    input: {
      size: state.size,
      normalisation: opts.normalisation ?? DEFAULTS.normalisation,
      ...(state.autoSize ? { auto: state.autoSize } : {}),
    },
    embedding: { totalChannels, dims: state.embedder.dims, reduction },
    grid,
    eps: opts.eps ?? DEFAULTS.eps,
    ...(state.aligner ? { alignment: state.aligner.record } : {}),
    ...(roi ? { roi } : {}),
  };
}

async function accumulateImages(state: FitState, images: ImageInput[], opts: FitOptions): Promise<void> {
  const protocol = {
    size: state.size,
    normalisation: opts.normalisation ?? DEFAULTS.normalisation,
    maxPixels: opts.maxPixels,
  };
  let done = 0;
  let decodeMs = 0;
  let backboneMs = 0;
  for (const batch of batches(images, opts.batchSize ?? DEFAULTS.batchSize)) {
    if (opts.signal?.aborted) throw new FitCancelledError();
    const extracted = await extractFeatures(state.backbone, batch, protocol, alignTraining(state));
    decodeMs += extracted.decodeMs;
    backboneMs += extracted.backboneMs;
    if (!state.accumulator) initialise(state, extracted.features[0], opts);
    const embeddings = fittedCells(state, await embedBatch(state.embedder as Embedder, extracted));
    await (state.accumulator as GaussianAccumulator).add(embeddings);
    // keep the most recent images (across batches) for calibration
    state.lastEmbeddings = [...state.lastEmbeddings, ...embeddings].slice(-DEFAULTS.calibrationImages);
    const sizes = extracted.prepared.map(({ width, height }) => ({ width, height }));
    state.lastSizes = [...state.lastSizes, ...sizes].slice(-DEFAULTS.calibrationImages);
    done += batch.length;
    opts.onProgress?.({ phase: 'embed', done, total: images.length, decodeMs, backboneMs });
  }
  if (state.unaligned > 0) {
    warn(
      state,
      opts,
      `${state.unaligned} of ${images.length} training images could not be aligned and were used unaligned`,
    );
    state.unaligned = 0;
  }
}

/** Checks the held-out count option: a whole number, at least 0 (Infinity: all). */
function heldOutCount(opts: FitOptions, images: number): number {
  const want = opts.heldOutImages ?? Infinity;
  if (!(want >= 0) || (Number.isFinite(want) && !Number.isInteger(want)))
    throw new RangeError(
      `heldOutImages must be a whole number of images, at least 0, got ${opts.heldOutImages}`,
    );
  return Math.min(want, images);
}

/**
 * Second pass: the last `count` images of this fit embedded again and scored under the model
 * fitted without each one (leaveOneOutInPlace), one batch at a time, so memory does not grow.
 */
async function leaveOneOutScores(
  model: PadimModel,
  state: FitState,
  opts: FitOptions,
  count: number,
  keptFraction?: Float64Array,
): Promise<number[]> {
  const h = model.header;
  const protocol = { size: state.size, normalisation: h.input.normalisation, maxPixels: opts.maxPixels };
  const mean = Float32Array.from(model.gaussian.mean);
  const backbone = await state.reopen();
  const scores: number[] = [];
  try {
    for (const batch of batches(state.images.slice(-count), opts.batchSize ?? DEFAULTS.batchSize)) {
      if (opts.signal?.aborted) throw new FitCancelledError();
      // aligned as in the fit, so a held-out score is what the image scores once the model is used
      const aligner = state.aligner;
      const extracted = await extractFeatures(
        backbone,
        batch,
        protocol,
        aligner && ((p) => aligner.align(p)),
      );
      const embeddings = fittedCells(state, await embedBatch(state.embedder as Embedder, extracted));
      const grids = await cellDistances(model, state.linalg, embeddings, mean);
      grids.forEach((grid, j) => {
        leaveOneOutInPlace(grid, h.nTrain, keptFraction);
        scores.push(imageScore(state, h, grid, extracted.prepared[j]));
      });
      opts.onProgress?.({ phase: 'calibrate', done: scores.length, total: count });
    }
  } finally {
    await backbone.dispose();
  }
  return scores;
}

/**
 * Image scores of training images held out of the model, so they behave like scores of new
 * good parts: every image (or the last heldOutImages) left out on its own, or, with
 * heldOutImages 0, the last batch's images left out together (calibration.ts).
 */
async function calibrate(
  model: PadimModel,
  state: FitState,
  opts: FitOptions,
  keptFraction?: Float64Array,
): Promise<Calibration> {
  const h = model.header;
  const looCount = heldOutCount(opts, state.images.length);
  if (looCount >= 1) {
    opts.onProgress?.({ phase: 'calibrate', done: 0, total: looCount });
    const scores = await leaveOneOutScores(model, state, opts, looCount, keptFraction);
    return { method: 'held-out', heldOut: 'leave-one-out', scores: scores.sort((a, b) => a - b) };
  }
  const held = Math.min(state.lastEmbeddings.length, Math.floor(h.nTrain / 4));
  let grids: Float32Array[];
  let sizes = state.lastSizes;
  if (held < 1) {
    opts.log?.(`only ${h.nTrain} training images: the suggested threshold comes from in-sample scores (low)`);
    const mean = Float32Array.from(model.gaussian.mean);
    grids = await cellDistances(model, state.linalg, state.lastEmbeddings, mean);
  } else {
    opts.onProgress?.({ phase: 'calibrate', done: 0, total: held });
    sizes = sizes.slice(-held);
    grids = await heldOutDistances(
      model.gaussian,
      h.nTrain,
      state.lastEmbeddings.slice(-held),
      state.linalg,
      keptFraction,
    );
  }
  const scores = grids.map((grid, j) => imageScore(state, h, grid, sizes[j]));
  opts.onProgress?.({ phase: 'calibrate', done: scores.length, total: scores.length });
  if (held < 1) return { method: 'in-sample', scores: scores.sort((a, b) => a - b) };
  return { method: 'held-out', heldOut: 'block', scores: scores.sort((a, b) => a - b) };
}

/** Checks the false-alarm budget option. */
function budgetOf(opts: FitOptions): number {
  const rate = opts.falseAlarmRate ?? DEFAULTS.falseAlarmRate;
  if (!(rate > 0 && rate < 1))
    throw new RangeError(`falseAlarmRate must be between 0 and 1 (exclusive), got ${rate}`);
  return rate;
}

/**
 * The tail fit and the budget's threshold for held-out scores; in-sample scores (too few
 * images to hold any out) read low, so there the old rule (suggestThreshold) stays.
 */
function placeThreshold(model: PadimModel, calibration: Calibration, rate: number): void {
  const h = model.header;
  h.trainScores = describeScores(calibration.scores);
  const tail = fitTail(calibration.scores);
  if (calibration.method === 'in-sample' || !tail) {
    h.calibration = calibration;
    h.threshold = suggestThreshold(h.trainScores);
    return;
  }
  h.calibration = { ...calibration, tail, budget: rate };
  h.threshold = thresholdForFalseAlarmRate(h.calibration, rate);
}

async function finish(state: FitState, opts: FitOptions, prior?: PadimModel): Promise<PadimModel> {
  const accumulator = state.accumulator as GaussianAccumulator;
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
    warn(state, opts, shrinkageWarning({ images: count, dims: arrays.dims }, meanShrinkage));
  const header = state.header as NonNullable<FitState['header']>;
  const model: PadimModel = {
    header: {
      ...header,
      nTrain: count,
      trainScores: describeScores([]),
      threshold: 0,
      createdAt: prior?.header.createdAt ?? new Date().toISOString(),
      ...(prior ? { updatedAt: new Date().toISOString() } : {}),
      ...(meanShrinkage !== undefined ? { shrinkage: { method: 'oas', meanIntensity: meanShrinkage } } : {}),
      ...(state.warnings.length > 0 ? { fitWarnings: [...state.warnings] } : {}),
    },
    gaussian: arrays,
    projection: state.projection,
  };
  const calibration = await calibrate(
    model,
    state,
    opts,
    shrinkage?.map((rho) => 1 - rho),
  );
  placeThreshold(model, calibration, budgetOf(opts));
  refuseDegenerate(model.header);
  return withCompactStorage(model);
}

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

async function withBackbone<T>(
  spec: string,
  opts: FitOptions,
  images: ImageInput[],
  work: (state: FitState) => Promise<T>,
): Promise<T> {
  budgetOf(opts); // a bad budget fails before the images are embedded
  heldOutCount(opts, images.length);
  const open = () =>
    openBackbone(spec, {
      layers: opts.layers,
      provider: opts.provider,
      strict: opts.strict,
      threads: opts.threads,
      log: opts.log,
      modelsDir: opts.modelsDir,
    });
  const backbone = await open();
  const linalg = new BatchedLinalg({ threads: opts.threads, provider: backbone.provider });
  try {
    return await work({
      backbone,
      linalg,
      lastEmbeddings: [],
      lastSizes: [],
      size: PLACEHOLDER_SIZE,
      warnings: [],
      images,
      reopen: open,
      unaligned: 0,
    });
  } finally {
    await linalg.dispose();
    await backbone.dispose();
  }
}

/** Fits a new model on good images (file paths, encoded bytes or raw pixels). */
export async function fitModel(images: ImageInput[], opts: FitOptions = {}): Promise<PadimModel> {
  if (images.length < 2) throw new Error(`need at least 2 training images, got ${images.length}`);
  return withBackbone(opts.backbone ?? DEFAULTS.backbone, opts, images, async (state) => {
    await chooseSize(state, images, opts);
    await chooseAlignment(state, images, opts);
    await chooseRoi(state, images, opts);
    await accumulateImages(state, images, opts);
    // the backbone is done: release its session (and its memory) before the inversion peak
    await state.backbone.dispose();
    return finish(state, opts);
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
  const g = model.gaussian;
  const h = model.header;
  if (!g.comoment) {
    throw new Error(
      'this model was saved without its update statistics (compact); fit it again to add images',
    );
  }
  if (images.length === 0) throw new Error('no images to add');
  const prior: PriorStatistics = {
    count: h.nTrain,
    mean: g.mean,
    comoment: g.comoment,
    chunkCells: g.chunkCells,
  };
  const merged: FitOptions = {
    ...opts,
    layers: h.backbone.layers,
    size: h.input.size,
    normalisation: h.input.normalisation,
    eps: h.eps,
  };
  return withBackbone(storedBackboneSpec(h.backbone, opts.checkStoredPath), merged, images, async (state) => {
    if (state.backbone.sha256 !== h.backbone.sha256) {
      throw new Error(
        `the backbone ${state.backbone.id} is not the one this model was fitted with (${h.backbone.id})`,
      );
    }
    state.embedder = new Embedder(
      {
        totalChannels: h.embedding.totalChannels,
        reduction: h.embedding.reduction,
        projection: model.projection,
      },
      state.linalg,
    );
    state.projection = model.projection;
    state.accumulator = new GaussianAccumulator({ cells: g.cells, dims: g.dims }, state.linalg, prior);
    const {
      nTrain: _n,
      trainScores: _s,
      calibration: _cal,
      threshold: _t,
      createdAt: _c,
      updatedAt: _u,
      shrinkage: _k,
      fitWarnings: _w,
      // set again from the storage the update produces
      precisionStorage: _ps,
      ...rest
    } = h;
    // a compact model's version is set again with its storage (withCompactStorage)
    state.header = { ...rest, formatVersion: MODEL_FORMAT_VERSION };
    state.size = h.input.size;
    if (h.alignment) state.aligner = new Aligner(h.alignment as AlignmentRecord);
    if (h.roi) state.roi = new Roi(h.roi);
    await accumulateImages(state, images, merged);
    await state.backbone.dispose();
    return finish(state, merged, model);
  });
}
