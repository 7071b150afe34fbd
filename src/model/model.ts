/**
 * The fitted PaDiM model in memory: what the model file stores and what scoring needs.
 */
import type { AlignmentRecord } from '../alignment/reference';
import type { CompactStorage, PrecisionFactor } from './precision-storage';
import type { AutoSizeRecord } from '../input/input-size';
import type { RoiRecord } from '../roi/record';
import type { TailFit } from '../threshold/tail';
import type { Normalisation, SizeProtocol } from '../types';

export const MODEL_FORMAT = 'padim-model';
export const MODEL_FORMAT_VERSION = 1;
/**
 * The format version of compact models (header precisionStorage, precision-storage/): their
 * sections differ, so a reader that knows only version 1 refuses them by version, clearly.
 * Float32 models stay version 1, readable by every release.
 */
export const COMPACT_FORMAT_VERSION = 2;

/** The format version a header with this precision storage is written with (and must carry). */
export function formatVersionFor(precisionStorage: CompactStorage | undefined): number {
  return precisionStorage === undefined ? MODEL_FORMAT_VERSION : COMPACT_FORMAT_VERSION;
}

/** How the D concatenated backbone channels are reduced to d. */
export type Reduction =
  /** keep d channels chosen at random (seeded) once; `indices` lists them, ascending */
  | { kind: 'random'; seed: number; indices: number[] }
  /** multiply by a D x d semi-orthogonal matrix (Kim et al. 2021), stored as `projection` */
  | { kind: 'semi-orthogonal'; seed: number }
  /** keep all D channels (d = D) */
  | { kind: 'all' };

/** Summary of the image scores of training images under the fitted model. */
export interface ScoreDistribution {
  count: number;
  min: number;
  max: number;
  mean: number;
  std: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
}

/**
 * The image scores a threshold is suggested from, kept in the model so a threshold can be
 * placed (and its false-alarm rate read) later without refitting.
 */
export interface Calibration {
  /**
   * `held-out`: each image scored by the model fitted without it (see calibration.ts), so the
   * scores behave like those of new good parts; `in-sample`: too few training images to hold
   * any out, scored by the model fitted on them (these read low).
   */
  method: 'held-out' | 'in-sample';
  /** image scores (same units as a result's score), ascending */
  scores: number[];
  /**
   * `leave-one-out`: each of the scored images held out of the model on its own (all N, or
   * the last `heldOutImages`; calibration.ts leaveOneOutInPlace); `block`: the last K held
   * out together (heldOutDistances). Absent in models saved before it was stored (block).
   */
  heldOut?: 'leave-one-out' | 'block';
  /** the upper tail of `scores` (threshold/tail.ts); refitted from `scores` when absent */
  tail?: TailFit;
  /** the false-alarm rate (0..1) the stored threshold was set for; absent: the max*1.05 rule */
  budget?: number;
}

/** The JSON header of a model file: everything except the large arrays. */
export interface ModelHeader {
  format: typeof MODEL_FORMAT;
  formatVersion: number;
  backbone: {
    /** 'builtin:filterbank', a preset name, or the ONNX file's base name */
    id: string;
    /** where the ONNX file was when the model was fitted (absent for built-in backbones) */
    path?: string;
    /** SHA-256 (hex) of the ONNX bytes the backbone was built from */
    sha256: string;
    /** names of the three tensors used as stages 1..3 */
    layers: [string, string, string];
    /** channels of each stage, in order */
    stageChannels: [number, number, number];
  };
  input: {
    /** the size every image is brought to (an `auto` choice is stored resolved, as resize WxH) */
    size: SizeProtocol;
    normalisation: Normalisation;
    /** present when the size was chosen by `auto`: scoring warns about images of another aspect */
    auto?: AutoSizeRecord;
  };
  embedding: {
    /** D: channels after concatenating the three stages */
    totalChannels: number;
    /** d: channels kept per cell */
    dims: number;
    reduction: Reduction;
  };
  /** the stage-1 grid all stages are brought to; cells = height * width */
  grid: { height: number; width: number };
  /** regularisation added to every covariance diagonal */
  eps: number;
  /**
   * Present when scoring uses a compact factor of the precision instead of the float32 inverse
   * covariances (precision-storage/): its storage. Absent (all older models): float32.
   */
  precisionStorage?: CompactStorage;
  /**
   * Present when the covariances were shrunk because there were few training images for d
   * (see covariance-shrinkage.ts): the mean shrinkage intensity over cells, 0..1.
   */
  shrinkage?: { method: 'oas'; meanIntensity: number };
  /**
   * Present when images are aligned to a reference before the backbone (alignment/): the
   * reference thumbnail and the limits. Optional, so models without it load unchanged.
   */
  alignment?: AlignmentRecord;
  /**
   * Present when only regions of the image are inspected (roi/): the regions' masks and the grid
   * cells the Gaussians exist for (then the arrays hold those cells only, in that order).
   */
  roi?: RoiRecord;
  /** what the fit warned about (size decisions, few images), for nodes and the CLI to show */
  fitWarnings?: string[];
  /** number of training images the statistics were computed from */
  nTrain: number;
  trainScores: ScoreDistribution;
  /** the scores trainScores summarises; absent in models saved before it was stored */
  calibration?: Calibration;
  /** suggested decision threshold on the image score */
  threshold: number;
  createdAt: string;
  updatedAt?: string;
}

/**
 * Large per-cell arrays. Matrices are chunked by cells so that no single buffer gets huge
 * (a WideResNet-sized model holds ~5 GB of inverse covariances) and so scoring can stream
 * one chunk at a time through onnxruntime.
 */
export interface GaussianArrays {
  cells: number;
  dims: number;
  /** cells per chunk; the last chunk may hold fewer */
  chunkCells: number;
  /** per-cell mean, [cells, dims] float64 */
  mean: Float64Array;
  /**
   * inverse covariance (Sigma + eps I)^-1 per cell, full symmetric, chunk k is [n_k, dims, dims];
   * empty when the model keeps a compact factor instead
   */
  precision: Float32Array[];
  /** the compact factor of the precision that scoring uses instead (precision-storage/) */
  factor?: PrecisionFactor;
  /**
   * Co-moment sum over training images of (x - mean)(x - mean)^T per cell, packed upper
   * triangle (row i holds columns i..d-1), chunk k is [n_k, dims*(dims+1)/2]. Kept so a
   * model can be updated with more images without refitting. Absent in compact models.
   */
  comoment?: Float32Array[];
}

export interface PadimModel {
  header: ModelHeader;
  gaussian: GaussianArrays;
  /** semi-orthogonal projection, [D, d] float32 row-major; only for that reduction */
  projection?: Float32Array;
}

/** Cells with a Gaussian: the whole grid, or the region-of-interest's cells. */
export function gaussianCells(h: Pick<ModelHeader, 'grid' | 'roi'>): number {
  return h.roi ? h.roi.cells.length : h.grid.height * h.grid.width;
}

/** Cells held by chunk k. */
export function chunkLength(g: Pick<GaussianArrays, 'cells' | 'chunkCells'>, k: number): number {
  return Math.min(g.chunkCells, g.cells - k * g.chunkCells);
}

/**
 * Cells per chunk so that one full-matrix chunk stays near 32 MB of float32: large enough
 * for onnxruntime to work efficiently, small enough that a chunk's float64 intermediates
 * while fitting do not add much to the peak memory.
 */
export function defaultChunkCells(cells: number, dims: number): number {
  return Math.max(1, Math.min(cells, Math.floor((8 * 1024 * 1024) / (dims * dims))));
}
