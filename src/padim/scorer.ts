/**
 * Scoring with a fitted model: Mahalanobis distance of every cell's embedding to that
 * cell's Gaussian (distance.ts, or the device head in head/), then the anomaly map (bilinear
 * upsampling, Gaussian blur) and the image score (the map's maximum).
 *
 * Images are scored in batches: a batch shares one pass over the inverse covariances, which
 * are by far the largest data (cells x d x d floats).
 */
import { Aligner, mapToObserved, type AlignmentOutcome } from '../alignment/aligner';
import type { AlignMode } from '../alignment/reference';
import { makeAnomalyMap } from './anomaly-map';
import { openStoredBackbone, type Backbone } from '../backbone/backbone';
import { BatchedLinalg } from '../linalg/batched-linalg';
import { cellDistances } from './distance';
import { Embedder } from './embedding';
import { batches } from '../math/batches';
import { embedBatch, extractFeatures } from './extractor';
import { openDeviceHead, type DeviceHead, type HeadChoice } from '../head';
import { aspectMismatch } from '../input/input-size';
import type { PadimModel } from '../model/model';
import type { RuntimeOptions } from '../options';
import {
  makeRoiRecord,
  maskAsMap,
  rasterise,
  readRoiFile,
  Roi,
  type RegionScore,
  type RoiSpec,
} from '../roi';
import type { ImageInput, InputGeometry, PreparedImage, ScoreMap, StageTimings } from '../types';

export interface ScoreResult {
  /** image anomaly score: the maximum of the anomaly map (Mahalanobis units) */
  score: number;
  /** score / model threshold: above 1 means above the suggested threshold */
  normalizedScore: number;
  threshold: number;
  /** anomaly map at the model's input size, in the image's own frame (warped back when aligned) */
  map: ScoreMap;
  /** raw per-cell distances, grid.height x grid.width (in the reference's frame when aligned) */
  grid: ScoreMap;
  /** the image's estimated motion against the model's reference, when the model aligns */
  alignment?: AlignmentOutcome;
  /** where the input sits in the original image (see mapToOriginal) */
  geometry: InputGeometry;
  timings: StageTimings;
  /** with regions of interest: each region's maximum (the score is the largest of them) */
  regions?: RegionScore[];
  /** with regions of interest: their union (1 inside) at the input size, in the image's own frame */
  roiMask?: ScoreMap;
  /** with regions of interest: per map pixel 0 outside, k + 1 inside regions[k] (the image's own frame) */
  regionLabels?: Uint8Array;
  /** present when the image was not scored as the model expects (another aspect than the training images) */
  warnings?: string[];
}

export interface ScorerOptions extends RuntimeOptions {
  modelsDir?: string;
  /** a backbone path to use instead of the one recorded in the model */
  backbonePath?: string;
  /** images per batch in scoreMany */
  batchSize?: number;
  /**
   * alignment at scoring: default the model's; 'off' scores unaligned, 'translate' on a rigid
   * model skips the turn; asking for alignment from a model fitted without it is an error
   */
  align?: AlignMode;
  /**
   * distance head (head/index.ts): default 'auto', the device head on a GPU provider (inverse
   * covariances uploaded once), the streaming head on the CPU; env PADIM_HEAD when unset
   */
  head?: HeadChoice;
  /**
   * regions applied at scoring to a model fitted without them (a region file or regions read),
   * in each image's own pixels: the map is zeroed outside and the score taken inside; the head
   * still computes every cell (fit with the regions for that). Refused for a model with regions.
   */
  roi?: string | RoiSpec;
}

/** The aligner a scorer uses: the model's reference in the mode asked for. */
export function scoringAligner(model: PadimModel, align: AlignMode | undefined): Aligner | undefined {
  const record = model.header.alignment;
  if (align === 'off') return undefined;
  if (!record) {
    if (align === undefined) return undefined;
    throw new Error(
      `align ${align}: this model was fitted without alignment (no reference); fit it with --align ${align}`,
    );
  }
  if (align === 'rigid' && record.mode === 'translate')
    throw new Error('align rigid: this model was fitted with translate alignment; fit it with --align rigid');
  return new Aligner(record, align ?? record.mode);
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** What a scorer is made of (Scorer.open opens them; dispose releases them). */
interface ScorerParts {
  model: PadimModel;
  backbone: Backbone;
  linalg: BatchedLinalg;
  embedder: Embedder;
  /** the Gaussians' means in float32, the copy both heads read (made once per scorer) */
  meanF32: Float32Array;
  /** the head holding the model on the execution provider; absent: cellDistances streams */
  deviceHead?: DeviceHead;
  /** present when images are aligned to the model's reference before the backbone */
  aligner?: Aligner;
  /** regions given at scoring (ScorerOptions.roi), rasterised per input geometry */
  scoringRegions?: RoiSpec;
  maxPixels?: number;
  /** images per batch in scoreMany and scoreEach */
  batchSize: number;
  log?: (message: string) => void;
}

/** Images per batch when ScorerOptions.batchSize is not given. */
const DEFAULT_SCORE_BATCH = 8;

export class Scorer {
  readonly model: PadimModel;
  readonly backbone: Backbone;
  readonly linalg: BatchedLinalg;
  readonly embedder: Embedder;
  /** the head holding the model on the execution provider; absent: cellDistances streams */
  readonly deviceHead?: DeviceHead;
  /** the Gaussians' means in float32, the copy both heads read (made once per scorer) */
  private readonly meanF32: Float32Array;
  private readonly maxPixels?: number;
  private readonly batchSize: number;
  private readonly log?: (message: string) => void;
  private readonly aligner?: Aligner;
  /** the model's regions: its Gaussians are for their cells only */
  private readonly roi?: Roi;
  /** the aspect warning goes to the log once per scorer; every result still carries it */
  private aspectWarned = false;
  /** regions given at scoring (ScorerOptions.roi), and their masks per input geometry */
  private readonly scoringRegions?: RoiSpec;
  private readonly scoringRois = new Map<string, Roi>();

  private constructor(parts: ScorerParts) {
    this.model = parts.model;
    this.backbone = parts.backbone;
    this.linalg = parts.linalg;
    this.embedder = parts.embedder;
    this.deviceHead = parts.deviceHead;
    this.meanF32 = parts.meanF32;
    this.maxPixels = parts.maxPixels;
    this.batchSize = parts.batchSize;
    this.log = parts.log;
    this.aligner = parts.aligner;
    this.scoringRegions = parts.scoringRegions;
    this.roi = parts.model.header.roi ? new Roi(parts.model.header.roi) : undefined;
  }

  /** Per-cell distances of a batch of embeddings, by the device head when there is one. */
  distances(embeddings: Float32Array[]): Promise<Float32Array[]> {
    if (this.deviceHead) return this.deviceHead.distances(embeddings);
    return cellDistances(this.model, this.linalg, embeddings, this.meanF32);
  }

  /** Opens the model's backbone and prepares scoring. Call dispose() when done. */
  static async open(model: PadimModel, opts: ScorerOptions = {}): Promise<Scorer> {
    const h = model.header;
    // the regions first: a bad region file fails before anything is opened
    if (opts.roi !== undefined && h.roi)
      throw new Error('this model was fitted with regions of interest; fit it again to change them');
    const regions = typeof opts.roi === 'string' ? await readRoiFile(opts.roi, opts.maxPixels) : opts.roi;
    const backbone = await openStoredBackbone(h.backbone, opts);
    try {
      const linalg = new BatchedLinalg({ threads: opts.threads, provider: backbone.provider });
      const embedder = new Embedder(
        {
          totalChannels: h.embedding.totalChannels,
          reduction: h.embedding.reduction,
          projection: model.projection,
        },
        linalg,
      );
      const aligner = scoringAligner(model, opts.align);
      const meanF32 = Float32Array.from(model.gaussian.mean);
      const deviceHead = await openDeviceHead(model.gaussian, meanF32, backbone.provider, {
        head: opts.head,
        strict: opts.strict,
        threads: opts.threads,
        log: opts.log,
      });
      return new Scorer({
        model,
        backbone,
        linalg,
        embedder,
        meanF32,
        deviceHead,
        aligner,
        scoringRegions: regions,
        maxPixels: opts.maxPixels,
        batchSize: opts.batchSize ?? DEFAULT_SCORE_BATCH,
        log: opts.log,
      });
    } catch (err) {
      await backbone.dispose();
      throw err;
    }
  }

  /** Scores images in batches of `batchSize`; results in input order. */
  async scoreMany(
    inputs: ImageInput[],
    onResult?: (r: ScoreResult, index: number) => void,
  ): Promise<ScoreResult[]> {
    const results: ScoreResult[] = [];
    for (const batch of batches(inputs, this.batchSize)) {
      for (const r of await this.scoreBatch(batch)) {
        onResult?.(r, results.length);
        results.push(r);
      }
    }
    return results;
  }

  /**
   * Scores images in batches and hands each result, or the error of an image that could not be
   * scored, to the handlers as it comes, keeping none: memory stays that of one batch however
   * many images there are. A batch that fails is scored again image by image, so one bad file
   * costs only itself. Handlers may be async (writing a heatmap); they are awaited in order. A
   * result handler that throws (a heatmap that cannot be written: a full disk) makes that image
   * a failure, handed to onError, and the run goes on.
   */
  async scoreEach(
    inputs: ImageInput[],
    handlers: {
      onResult: (r: ScoreResult, index: number) => void | Promise<void>;
      onError: (err: Error, index: number) => void | Promise<void>;
    },
  ): Promise<{ scored: number; failed: number }> {
    let scored = 0;
    let failed = 0;
    for (let start = 0; start < inputs.length; start += this.batchSize) {
      const batch = inputs.slice(start, start + this.batchSize);
      let results: (ScoreResult | Error)[];
      try {
        results = await this.scoreBatch(batch);
      } catch {
        results = [];
        for (const input of batch) results.push(await this.scoreBatch([input]).then((r) => r[0], asError));
      }
      for (let k = 0; k < results.length; k++) {
        const r = results[k];
        if (r instanceof Error) {
          failed++;
          await handlers.onError(r, start + k);
        } else {
          try {
            await handlers.onResult(r, start + k);
            scored++;
          } catch (err) {
            failed++;
            await handlers.onError(asError(err), start + k);
          }
        }
      }
    }
    return { scored, failed };
  }

  /** Scores one batch in a single pass over the model's inverse covariances. */
  async scoreBatch(inputs: ImageInput[]): Promise<ScoreResult[]> {
    if (inputs.length === 0) return [];
    const h = this.model.header;
    const aligner = this.aligner;
    const extracted = await extractFeatures(
      this.backbone,
      inputs,
      {
        size: h.input.size,
        normalisation: h.input.normalisation,
        maxPixels: this.maxPixels,
      },
      aligner && ((p) => aligner.align(p)),
    );
    const gridShape = extracted.features[0][0];
    if (gridShape.height !== h.grid.height || gridShape.width !== h.grid.width) {
      throw new Error(
        `the backbone gave a ${gridShape.width}x${gridShape.height} grid; the model was fitted on ` +
          `${h.grid.width}x${h.grid.height}`,
      );
    }
    const t0 = performance.now();
    const roi = this.roi;
    const d = this.embedder.dims;
    const cells = h.grid.height * h.grid.width;
    // regions: the head sees the inside cells only; outside cells read 0 on the grid
    const embeddings = (await embedBatch(this.embedder, extracted)).map((e) => (roi ? roi.gather(e, d) : e));
    const inside = await this.distances(embeddings);
    const distances = roi ? inside.map((v) => roi.scatter(v, cells)) : inside;
    const t1 = performance.now();
    const b = inputs.length;
    return distances.map((grid, j) => {
      const tm = performance.now();
      const prepared = extracted.prepared[j];
      const made = makeAnomalyMap(
        { data: grid, height: h.grid.height, width: h.grid.width },
        { height: prepared.height, width: prepared.width },
      );
      const map = made.map;
      const mapRoi = roi ?? this.scoringRoi(prepared);
      const regions = mapRoi?.regionScores(map);
      const score = mapRoi ? mapRoi.applyToMap(map) : made.score;
      const mapMs = performance.now() - tm;
      const timings: StageTimings = {
        decodeMs: extracted.decodeMs / b,
        backboneMs: extracted.backboneMs / b,
        distanceMs: (t1 - t0) / b,
        mapMs,
        totalMs: 0,
      };
      timings.totalMs = timings.decodeMs + timings.backboneMs + timings.distanceMs + timings.mapMs;
      const aligned = extracted.aligned?.[j];
      const warnings = [this.checkAspect(prepared.geometry), aligned?.outcome.warning].filter(
        (w): w is string => w !== undefined,
      );
      return {
        ...(warnings.length > 0 ? { warnings } : {}),
        ...(aligned ? { alignment: aligned.outcome } : {}),
        // the score is the aligned map's maximum: warping back may cut off the frame's edges
        score,
        normalizedScore: score / h.threshold,
        threshold: h.threshold,
        map: mapToObserved(map, aligned?.back),
        ...(mapRoi && regions ? this.regionFields(mapRoi, regions, aligned?.back) : {}),
        grid: { data: grid, width: h.grid.width, height: h.grid.height },
        geometry: prepared.geometry,
        timings,
      };
    });
  }

  /** The scoring-time regions at this image's input geometry (cached: images of a line share one). */
  private scoringRoi(p: PreparedImage): Roi | undefined {
    const spec = this.scoringRegions;
    if (!spec) return undefined;
    const key = JSON.stringify([p.width, p.height, p.geometry]);
    let roi = this.scoringRois.get(key);
    if (!roi) {
      const masks = rasterise(spec, p.geometry, p.width, p.height);
      roi = new Roi(makeRoiRecord(masks, { width: spec.width, height: spec.height }, this.model.header.grid));
      if (this.scoringRois.size > 16) this.scoringRois.clear();
      this.scoringRois.set(key, roi);
    }
    return roi;
  }

  /** Region scores, and the regions' masks in the image's own frame. */
  private regionFields(roi: Roi, regions: RegionScore[], back: Parameters<typeof mapToObserved>[1]) {
    const regionLabels = roi.labels((m) => mapToObserved(m, back));
    const { width, height } = roi.masks;
    const roiMask = maskAsMap(
      Uint8Array.from(regionLabels, (v) => (v > 0 ? 1 : 0)),
      width,
      height,
    );
    return { regions, roiMask, regionLabels };
  }

  private checkAspect(g: InputGeometry): string | undefined {
    const h = this.model.header;
    const warning = aspectMismatch(h.input.auto, h.input.size, {
      width: g.originalWidth,
      height: g.originalHeight,
    });
    if (warning && !this.aspectWarned) {
      this.aspectWarned = true;
      this.log?.(`warning: ${warning} (further images of another aspect are not logged again)`);
    }
    return warning;
  }

  async dispose(): Promise<void> {
    await this.deviceHead?.dispose();
    await this.linalg.dispose();
    await this.backbone.dispose();
  }
}
