/**
 * The shape of the model a fit fills in: the channel reduction and its embedder, the per-cell
 * accumulator (for the regions' cells only when there are regions), and the header up to what
 * the calibration adds. A new fit lays it out once the first batch tells the backbone's shapes;
 * an update takes it from the model it extends.
 */
import type { FeatureMap } from '../types';
import {
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  type ModelHeader,
  type PadimModel,
  type Reduction,
} from '../model/model';
import { DEFAULTS, type FitOptions } from '../options';
import { makeRoiRecord, Roi } from '../roi';
import { Embedder, randomChannels, semiOrthogonalMatrix } from './embedding';
import type { FitSession } from './fit-session';
import { GaussianAccumulator, type PriorStatistics } from './gaussian';
import type { InputPlan, RoiMasks } from './input-plan';

/** The header before the calibration: what finish() adds is left out. */
export type LayoutHeader = Omit<ModelHeader, 'nTrain' | 'trainScores' | 'threshold' | 'createdAt'>;

export interface ModelLayout {
  embedder: Embedder;
  accumulator: GaussianAccumulator;
  header: LayoutHeader;
  /** the semi-orthogonal projection matrix; absent when channels are selected */
  projection?: Float32Array;
  /** present when only regions are fitted: embeddings are reduced to its cells */
  roi?: Roi;
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

/** A new fit's layout, from the stage shapes of its first image. */
export function layoutFromFirstBatch(fit: {
  session: FitSession;
  plan: InputPlan;
  roiMasks?: RoiMasks;
  /** the first image's three stages (their channels and grids) */
  stages: FeatureMap[];
}): ModelLayout {
  const { session, plan, roiMasks, stages } = fit;
  const opts = session.opts;
  const backbone = session.backbone;
  const stageChannels: [number, number, number] = [
    stages[0].channels,
    stages[1].channels,
    stages[2].channels,
  ];
  const totalChannels = stageChannels[0] + stageChannels[1] + stageChannels[2];
  const { reduction, projection } = chooseReduction(totalChannels, opts);
  const embedder = new Embedder({ totalChannels, reduction, projection }, session.linalg);
  const grid = { height: stages[0].height, width: stages[0].width };
  const roiRecord = roiMasks && makeRoiRecord(roiMasks.masks, roiMasks.source, grid);
  const cells = roiRecord ? roiRecord.cells.length : grid.height * grid.width;
  const accumulator = new GaussianAccumulator({ cells, dims: embedder.dims }, session.linalg);
  const header: LayoutHeader = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    backbone: {
      id: backbone.id,
      path: backbone.path,
      sha256: backbone.sha256,
      layers: backbone.layers,
      stageChannels,
    },
    input: {
      size: plan.size,
      normalisation: plan.normalisation,
      ...(plan.autoSize ? { auto: plan.autoSize } : {}),
    },
    embedding: { totalChannels, dims: embedder.dims, reduction },
    grid,
    eps: opts.eps ?? DEFAULTS.eps,
    ...(plan.aligner ? { alignment: plan.aligner.record } : {}),
    ...(roiRecord ? { roi: roiRecord } : {}),
  };
  return {
    embedder,
    accumulator,
    header,
    projection,
    ...(roiRecord ? { roi: new Roi(roiRecord) } : {}),
  };
}

/** The statistics an update merges with; refused for a model saved without its co-moments. */
export function priorStatistics(model: PadimModel): PriorStatistics {
  const g = model.gaussian;
  if (!g.comoment) {
    throw new Error(
      'this model was saved without its update statistics (compact); fit it again to add images',
    );
  }
  return { count: model.header.nTrain, mean: g.mean, comoment: g.comoment, chunkCells: g.chunkCells };
}

/** An update's layout: the model's embedding and regions, its statistics as the accumulator's prior. */
export function layoutOfModel(update: {
  model: PadimModel;
  prior: PriorStatistics;
  session: FitSession;
}): ModelLayout {
  const { model, prior, session } = update;
  const g = model.gaussian;
  const h = model.header;
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
  return {
    embedder: new Embedder(
      {
        totalChannels: h.embedding.totalChannels,
        reduction: h.embedding.reduction,
        projection: model.projection,
      },
      session.linalg,
    ),
    accumulator: new GaussianAccumulator({ cells: g.cells, dims: g.dims }, session.linalg, prior),
    // a compact model's version is set again with its storage (withCompactStorage)
    header: { ...rest, formatVersion: MODEL_FORMAT_VERSION },
    projection: model.projection,
    ...(h.roi ? { roi: new Roi(h.roi) } : {}),
  };
}

/** Embeddings of the full grid reduced to the fitted cells (all of them without regions). */
export function fittedCells(layout: ModelLayout, embeddings: Float32Array[]): Float32Array[] {
  const roi = layout.roi;
  const d = layout.embedder.dims;
  return roi ? embeddings.map((e) => roi.gather(e, d)) : embeddings;
}
