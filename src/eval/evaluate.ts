/**
 * Evaluating a model on a labelled data set (MVTec AD layout): image AUROC, pixel AUROC,
 * AUPRO, F1-optimal thresholds and timings. Maps are added to a streaming accumulator one
 * batch at a time, so memory does not grow with the anomaly maps' total size.
 *
 * Pixel metrics are computed at the model's input size, as anomalib does: each mask is
 * sampled at the centres of the input pixels through the same resize/crop geometry as the
 * image, so the figures compare directly with published ones.
 */
import sharp from 'sharp';
import type { CategoryDataset, TestImage } from './dataset';
import {
  auroc,
  bestF1Threshold,
  binariseMask,
  caughtAtFalseAlarmRate,
  operatingPoint,
  PixelMetricsAccumulator,
  type OperatingPoint,
} from './metrics';
import { describeSize } from '../input';
import { expectedFalseAlarmRate } from '../threshold';
import type { Scorer, ScoreResult } from '../padim/scorer';
import type { InputGeometry } from '../types';

export interface EvaluationReport {
  imageAUROC: number;
  pixelAUROC: number;
  AUPRO: number;
  imageThresholdF1: { threshold: number; f1: number; precision: number; recall: number };
  pixelThresholdF1: { threshold: number; f1: number; precision: number; recall: number };
  counts: { train: number; testGood: number; testDefect: number };
  /** defects caught at the test set's own 0.1%, 1% and 5% false-alarm points */
  atFalseAlarmRate: RatePoint[];
  /** what the model's stored (suggested) threshold does on the test set */
  atModelThreshold: OperatingPoint & { expectedFalseAlarmRate?: number };
  perDefectType: Record<
    string,
    { count: number; imageAUROC: number; atFalseAlarmRate: RatePoint[]; atModelThreshold: OperatingPoint }
  >;
  timings: {
    fitMs?: number;
    scoreMsPerImage: number;
    backboneMsPerImage: number;
    distanceMsPerImage: number;
  };
  model: {
    backbone: string;
    layers: string[];
    dims: number;
    totalChannels: number;
    size: string;
    reduction: string;
  };
}

/** An operating point at a target false-alarm rate (`rate`, 0..1) of the test set's good images. */
export type RatePoint = OperatingPoint & { rate: number };

/** The false-alarm rates `padim eval` reports defects caught at. */
export const REPORTED_RATES = [0.001, 0.01, 0.05] as const;

function ratePoints(scores: number[], labels: number[]): RatePoint[] {
  return REPORTED_RATES.map((rate) => ({ rate, ...caughtAtFalseAlarmRate(scores, labels, rate) }));
}

export interface EvaluateOptions {
  batchSize?: number;
  fitMs?: number;
  onProgress?: (done: number, total: number) => void;
  /** called with every result, e.g. to write heatmaps */
  onResult?: (result: ScoreResult, image: TestImage) => Promise<void> | void;
}

/** Reads a mask as 0/1, defective where the value is at least half of full scale. */
export async function readMask(file: string): Promise<{ mask: Uint8Array; width: number; height: number }> {
  const sixteenBit = (await sharp(file).metadata()).depth === 'ushort';
  const { data, info } = await sharp(file)
    .greyscale()
    .raw({ depth: sixteenBit ? 'ushort' : 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const values = sixteenBit ? new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2) : data;
  const grey = info.channels === 1 ? values : values.filter((_, i) => i % info.channels === 0);
  const mask = binariseMask(grey, sixteenBit ? 65535 : 255);
  return { mask, width: info.width, height: info.height };
}

/**
 * Samples a mask (at any size; a mask of another size than the image is stretched onto it,
 * nearest neighbour) at the centres of the network input's pixels.
 */
export function maskToInput(
  mask: { mask: Uint8Array; width: number; height: number },
  geometry: InputGeometry,
  width: number,
  height: number,
): Uint8Array {
  const sx = mask.width / geometry.originalWidth;
  const sy = mask.height / geometry.originalHeight;
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const oy = geometry.top + (y + 0.5) * geometry.scaleY;
    const my = Math.min(mask.height - 1, Math.max(0, Math.floor(oy * sy)));
    for (let x = 0; x < width; x++) {
      const ox = geometry.left + (x + 0.5) * geometry.scaleX;
      const mx = Math.min(mask.width - 1, Math.max(0, Math.floor(ox * sx)));
      out[y * width + x] = mask.mask[my * mask.width + mx];
    }
  }
  return out;
}

function sizeText(scorer: Scorer): string {
  const { size: s, auto } = scorer.model.header.input;
  const text = describeSize(s, 'compact');
  return auto ? `${text} (auto)` : text;
}

export async function evaluate(
  scorer: Scorer,
  data: CategoryDataset,
  opts: EvaluateOptions = {},
): Promise<EvaluationReport> {
  const pixels = new PixelMetricsAccumulator();
  const scores: number[] = [];
  const labels: number[] = [];
  let backboneMs = 0;
  let distanceMs = 0;
  let totalMs = 0;
  const batchSize = opts.batchSize ?? 8;
  for (let i = 0; i < data.test.length; i += batchSize) {
    const group = data.test.slice(i, i + batchSize);
    const results = await scorer.scoreBatch(group.map((t) => t.file));
    for (let j = 0; j < results.length; j++) {
      const r = results[j];
      const t = group[j];
      const mask = t.maskFile
        ? maskToInput(await readMask(t.maskFile), r.geometry, r.map.width, r.map.height)
        : new Uint8Array(r.map.width * r.map.height);
      pixels.add(r.map.data, mask, r.map.width, r.map.height);
      scores.push(r.score);
      labels.push(t.label === 'good' ? 0 : 1);
      backboneMs += r.timings.backboneMs;
      distanceMs += r.timings.distanceMs;
      totalMs += r.timings.totalMs;
      await opts.onResult?.(r, t);
    }
    opts.onProgress?.(Math.min(data.test.length, i + batchSize), data.test.length);
  }
  const n = data.test.length;
  const perDefectType: EvaluationReport['perDefectType'] = {};
  for (const type of [...new Set(data.test.map((t) => t.label))].filter((l) => l !== 'good')) {
    const idx = data.test
      .map((t, k) => (t.label === 'good' || t.label === type ? k : -1))
      .filter((k) => k >= 0);
    const typeScores = idx.map((k) => scores[k]);
    const typeLabels = idx.map((k) => labels[k]);
    perDefectType[type] = {
      count: data.test.filter((t) => t.label === type).length,
      imageAUROC: auroc(typeScores, typeLabels),
      atFalseAlarmRate: ratePoints(typeScores, typeLabels),
      atModelThreshold: operatingPoint(typeScores, typeLabels, scorer.model.header.threshold),
    };
  }
  const h = scorer.model.header;
  const expected = h.calibration ? expectedFalseAlarmRate(h.calibration, h.threshold) : undefined;
  return {
    imageAUROC: auroc(scores, labels),
    pixelAUROC: pixels.pixelAUROC(),
    AUPRO: pixels.aupro(0.3),
    imageThresholdF1: bestF1Threshold(scores, labels),
    pixelThresholdF1: pixels.bestPixelF1(),
    atFalseAlarmRate: ratePoints(scores, labels),
    atModelThreshold: {
      ...operatingPoint(scores, labels, h.threshold),
      ...(expected !== undefined ? { expectedFalseAlarmRate: expected } : {}),
    },
    counts: {
      train: h.nTrain,
      testGood: labels.filter((l) => l === 0).length,
      testDefect: labels.filter((l) => l === 1).length,
    },
    perDefectType,
    timings: {
      fitMs: opts.fitMs,
      scoreMsPerImage: totalMs / n,
      backboneMsPerImage: backboneMs / n,
      distanceMsPerImage: distanceMs / n,
    },
    model: {
      backbone: h.backbone.id,
      layers: h.backbone.layers,
      dims: h.embedding.dims,
      totalChannels: h.embedding.totalChannels,
      size: sizeText(scorer),
      reduction: h.embedding.reduction.kind,
    },
  };
}
