/**
 * Options shared by fitting and scoring, with the defaults a user gets when they say nothing.
 */
import type { AlignMode } from './alignment/reference';
import { AUTO_BACKBONE } from './backbone/presets';
import type { InverseMethod } from './linalg/batched-linalg';
import type { PrecisionStorage } from './model/precision-storage';
import type { InversePrecision } from './padim/gaussian';
import type { RoiSpec } from './roi/spec';
import { DEFAULT_AUTO_SHORT, type SizeChoice } from './input';
import type { Normalisation, ProviderName } from './types';
import { IMAGENET_NORMALISATION } from './types';

export interface BackboneChoice {
  /** 'auto' (default: the best installed pretrained backbone, else 'builtin:filterbank'), a registry or preset name, or a path to an .onnx file */
  backbone?: string;
  /** the three tensors used as stages 1..3; a preset's or the built-in's by default */
  layers?: [string, string, string];
  /** where preset ONNX files are looked up */
  modelsDir?: string;
}

export interface RuntimeOptions {
  provider?: ProviderName;
  /** fail instead of falling back to CPU when the provider cannot start */
  strict?: boolean;
  /** onnxruntime intra-op threads; default: onnxruntime's choice (all cores) */
  threads?: number;
  /** images refused above this many pixels, before decoding */
  maxPixels?: number;
  /** one-line messages for the user (warnings, fallbacks) */
  log?: (message: string) => void;
  /**
   * Checks a backbone path read from a model file's header before it is opened (the allow-list in
   * Node-RED): returns the path to open, or throws to refuse it. Default: any regular file.
   */
  checkStoredPath?: (path: string) => string;
}

export interface Progress {
  phase: 'embed' | 'invert' | 'calibrate';
  done: number;
  total: number;
  /** embed phase: milliseconds spent so far decoding and in the backbone */
  decodeMs?: number;
  backboneMs?: number;
}

export interface FitOptions extends BackboneChoice, RuntimeOptions {
  /** d: channels kept per cell; default 100, or all when the backbone has fewer */
  dims?: number;
  reduction?: 'random' | 'semi-orthogonal';
  /**
   * input size: 'auto' (default; the training images' aspect, short side 256, see input-size.ts)
   * or an explicit protocol (resize WxH squashes every image to it)
   */
  size?: SizeChoice;
  normalisation?: Normalisation;
  seed?: number;
  eps?: number;
  /** images per backbone run and per covariance update */
  batchSize?: number;
  /** keep the co-moments so the model can be updated later (larger file) */
  updatable?: boolean;
  /**
   * shrinkage of the covariances when there are few training images for d
   * (covariance-shrinkage.ts): 'auto' (default) shrinks when N - 1 < d/4, 'off' never
   */
  shrinkage?: 'auto' | 'off';
  /** arithmetic of the covariance inversion (see gaussian.ts); default 'auto' */
  inversePrecision?: InversePrecision;
  /** algorithm of the covariance inversion: 'lu' (default) or 'cholesky' (see gaussian.ts) */
  inverseMethod?: InverseMethod;
  /**
   * what the model keeps for scoring (precision-storage/): 'float32' inverse covariances, or a
   * triangular factor in 'float16' or 'int8' (1/2 and 1/4 of the memory); an update keeps the
   * model's own unless given
   */
  precisionStorage?: PrecisionStorage;
  /**
   * how many of the training images (the last ones) get a leave-one-out score after the fit,
   * from a second backbone pass (calibration.ts); default all; 0: only the last batch's
   * images, held out together, with no second pass (cheaper, fewer scores)
   */
  heldOutImages?: number;
  /**
   * the false-alarm budget (0..1): the suggested threshold is the one the held-out scores'
   * tail (threshold/) expects to flag this share of good parts; default 0.01
   */
  falseAlarmRate?: number;
  /** register every image to a reference before the backbone (alignment/); default 'off' */
  align?: AlignMode;
  /**
   * regions of interest (roi/): a region file (mask image or JSON) or regions already read, in
   * the reference image's pixels; only their cells are fitted and scored. Default: the whole image
   */
  roi?: string | RoiSpec;
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
}

export const DEFAULTS = {
  backbone: AUTO_BACKBONE,
  dims: 100,
  size: { kind: 'auto', short: DEFAULT_AUTO_SHORT } as SizeChoice,
  normalisation: IMAGENET_NORMALISATION,
  seed: 0,
  eps: 0.01,
  batchSize: 16,
  /** off: measured on bottle (BENCHMARKS.md, "Alignment"), where the parts are centred */
  align: 'off' as const,
  /** training images scored after the fit to describe the score distribution */
  calibrationImages: 32,
  /** the false-alarm budget (see BENCHMARKS.md, "False-alarm budget", for the measurement) */
  falseAlarmRate: 0.01,
} as const;
