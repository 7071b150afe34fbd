/**
 * Fitting a PaDiM model on good images, and updating a fitted model with more of them.
 *
 * Images stream through in batches: decode, backbone, embed, add to the per-cell sums.
 * Nothing per image is kept except the last batch's embeddings, which are scored once
 * the model is inverted to describe the distribution of training-image scores and to
 * suggest a threshold.
 */
import { Aligner, chooseReference, type AlignedImage } from './alignment/aligner';
import type { AlignmentRecord } from './alignment/reference';
import { makeAnomalyMap } from './anomaly-map';
import { openBackbone, type Backbone } from './backbone';
import { BatchedLinalg } from './batched-linalg';
import { heldOutDistances } from './calibration';
import { needsShrinkage, shrinkageWarning } from './covariance-shrinkage';
import { Embedder, randomChannels, semiOrthogonalMatrix } from './embedding';
import { batches, embedBatch, extractFeatures } from './extractor';
import { GaussianAccumulator, type PriorStatistics } from './gaussian';
import { resolveFitSize, type AutoSizeRecord } from './input-size';
import { cellDistances } from './scorer';
import {
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  type ModelHeader,
  type PadimModel,
  type Reduction,
  type ScoreDistribution,
} from './model';
import { DEFAULTS, type FitOptions } from './options';
import { prepareImage } from './preprocess';
import type { ImageInput, PreparedImage, SizeProtocol } from './types';

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
  /** present when training images are aligned to a reference */
  aligner?: Aligner;
  /** training images left unaligned (match too weak or motion too large) */
  unaligned: number;
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
      projection: semiOrthogonalMatrix(totalChannels, dims, seed),
    };
  }
  if (dims === totalChannels) return { reduction: { kind: 'all' } };
  return { reduction: { kind: 'random', seed, indices: randomChannels(totalChannels, dims, seed) } };
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
  state.embedder = new Embedder(totalChannels, reduction, state.linalg, projection);
  const grid = { height: stages[0].height, width: stages[0].width };
  state.accumulator = new GaussianAccumulator(grid.height * grid.width, state.embedder.dims, state.linalg);
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
    const embeddings = await embedBatch(state.embedder as Embedder, extracted);
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

/**
 * Image scores of the most recent training images, each held out of the model (see
 * calibration.ts), so they behave like scores of new good parts.
 */
async function calibrate(
  model: PadimModel,
  state: FitState,
  opts: FitOptions,
  keptFraction?: Float64Array,
): Promise<number[]> {
  const h = model.header;
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
  const scores = grids.map(
    (grid, j) => makeAnomalyMap(grid, h.grid.height, h.grid.width, sizes[j].height, sizes[j].width).score,
  );
  opts.onProgress?.({ phase: 'calibrate', done: scores.length, total: scores.length });
  return scores;
}

async function finish(state: FitState, opts: FitOptions, prior?: PadimModel): Promise<PadimModel> {
  const accumulator = state.accumulator as GaussianAccumulator;
  const images = accumulator.imageCount + (prior?.header.nTrain ?? 0);
  const shrink = opts.shrinkage !== 'off' && needsShrinkage(images, accumulator.dims);
  const gaussian = await accumulator.finalise({
    shrink,
    eps: opts.eps ?? prior?.header.eps ?? DEFAULTS.eps,
    keepComoment: opts.updatable ?? true,
    inversePrecision: opts.inversePrecision,
    onProgress: (done, total) => opts.onProgress?.({ phase: 'invert', done, total }),
  });
  const { count, shrinkage, ...arrays } = gaussian;
  const meanShrinkage = shrinkage ? shrinkage.reduce((a, b) => a + b, 0) / shrinkage.length : undefined;
  if (meanShrinkage !== undefined) warn(state, opts, shrinkageWarning(count, arrays.dims, meanShrinkage));
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
  const scores = await calibrate(
    model,
    state,
    opts,
    shrinkage?.map((rho) => 1 - rho),
  );
  model.header.trainScores = describeScores(scores);
  model.header.threshold = suggestThreshold(model.header.trainScores);
  return model;
}

async function withBackbone<T>(
  spec: string,
  opts: FitOptions,
  work: (state: FitState) => Promise<T>,
): Promise<T> {
  const backbone = await openBackbone(spec, {
    layers: opts.layers,
    provider: opts.provider,
    strict: opts.strict,
    threads: opts.threads,
    log: opts.log,
    modelsDir: opts.modelsDir,
  });
  const linalg = new BatchedLinalg({ threads: opts.threads, provider: backbone.provider });
  try {
    return await work({
      backbone,
      linalg,
      lastEmbeddings: [],
      lastSizes: [],
      size: PLACEHOLDER_SIZE,
      warnings: [],
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
  return withBackbone(opts.backbone ?? DEFAULTS.backbone, opts, async (state) => {
    await chooseSize(state, images, opts);
    await chooseAlignment(state, images, opts);
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
  return withBackbone(h.backbone.path ?? h.backbone.id, merged, async (state) => {
    if (state.backbone.sha256 !== h.backbone.sha256) {
      throw new Error(
        `the backbone ${state.backbone.id} is not the one this model was fitted with (${h.backbone.id})`,
      );
    }
    state.embedder = new Embedder(
      h.embedding.totalChannels,
      h.embedding.reduction,
      state.linalg,
      model.projection,
    );
    state.projection = model.projection;
    state.accumulator = new GaussianAccumulator(g.cells, g.dims, state.linalg, prior);
    const {
      nTrain: _n,
      trainScores: _s,
      threshold: _t,
      createdAt: _c,
      updatedAt: _u,
      shrinkage: _k,
      fitWarnings: _w,
      ...rest
    } = h;
    state.header = rest;
    state.size = h.input.size;
    if (h.alignment) state.aligner = new Aligner(h.alignment as AlignmentRecord);
    await accumulateImages(state, images, merged);
    await state.backbone.dispose();
    return finish(state, merged, model);
  });
}
