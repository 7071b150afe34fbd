/**
 * Registers each network input to the model's reference before the backbone sees it, and
 * brings anomaly maps back to the image's own frame.
 *
 * Everything happens in the model input's pixels (after the size protocol), on a grey thumbnail:
 * translation by phase correlation; for `rigid` the turn first, from the log-polar phase
 * correlation of the magnitude spectra (rotation.ts), then the translation of the turned-back
 * thumbnail. The input is then resampled (bilinear, edges clamped so no artificial border
 * appears) so that it lies on the reference.
 */
import type { PreparedImage, ScoreMap } from '../types';
import { phaseCorrelate, type GreyImage } from './phase-correlation';
import {
  DEFAULT_MAX_ANGLE,
  DEFAULT_MAX_SHIFT,
  DEFAULT_MIN_CONFIDENCE,
  decodeReference,
  encodeReference,
  type AlignMode,
  type AlignmentRecord,
} from './reference';
import { estimateRotation, rotationSignature } from './rotation';
import { onCanvas, thumbnailOf, type Thumbnail } from './thumbnail';
import { invertAffine, motionToAffine, warpPlanes, type Affine, type RigidMotion } from './warp';

/**
 * The turns worth trying for a log-polar estimate: the spectrum gives the angle modulo 180
 * degrees, and a part with square outlines has a spectrum that is nearly symmetric under 90
 * degrees, so the estimate may be off by a quarter or a half turn; no turn at all is tried too,
 * for round or featureless parts where the estimate means nothing. Those beyond maxAngle are left out.
 */
export function turnCandidates(estimate: number, maxAngle: number): number[] {
  const out = [0];
  for (const k of [0, 90, -90, 180]) {
    let a = estimate + k;
    while (a > 180) a -= 360;
    while (a <= -180) a += 360;
    if (Math.abs(a) <= maxAngle && !out.includes(a)) out.push(a);
  }
  return out;
}

/** What happened to one image; `msg.padim.alignment` and `padim score --json` carry it. */
export interface AlignmentOutcome {
  mode: Exclude<AlignMode, 'off'>;
  /** false when the image was scored unaligned (see `warning`) */
  applied: boolean;
  /** estimated shift of the image against the reference, original image pixels */
  dx: number;
  dy: number;
  /** estimated turn, degrees counter-clockwise on screen (0 for translate) */
  angleDeg: number;
  /** peak ratio of the translation phase correlation (about 1: no match; tens: a clear one) */
  confidence: number;
  /** peak ratio of the rotation estimate (rigid only) */
  rotationConfidence?: number;
  warning?: string;
}

export interface AlignedImage {
  prepared: PreparedImage;
  outcome: AlignmentOutcome;
  /** observed-frame -> aligned-frame sampling map for the anomaly map, input pixels; absent if not applied */
  back?: Affine;
}

const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

export class Aligner {
  private readonly reference: GreyImage;
  private readonly referenceCanvas: GreyImage;
  private readonly referenceSignature?: GreyImage;

  constructor(
    readonly record: AlignmentRecord,
    /** the mode used: the model's, or translate for a rigid model when asked */
    readonly mode: Exclude<AlignMode, 'off'> = record.mode,
  ) {
    this.reference = decodeReference(record.reference);
    this.referenceCanvas = onCanvas(this.reference);
    if (mode === 'rigid') this.referenceSignature = rotationSignature(this.referenceCanvas);
  }

  /** The record of a new reference taken from a prepared training image. */
  static record(
    reference: PreparedImage,
    mode: Exclude<AlignMode, 'off'>,
    referenceIndex: number,
    limits: Partial<Pick<AlignmentRecord, 'maxShift' | 'minConfidence' | 'maxAngle'>> = {},
  ): AlignmentRecord {
    const thumb = thumbnailOf(reference.data, reference.width, reference.height);
    return {
      mode,
      reference: encodeReference(thumb),
      input: { width: reference.width, height: reference.height },
      maxShift: limits.maxShift ?? DEFAULT_MAX_SHIFT,
      minConfidence: limits.minConfidence ?? DEFAULT_MIN_CONFIDENCE,
      maxAngle: limits.maxAngle ?? DEFAULT_MAX_ANGLE,
      referenceIndex,
    };
  }

  /** The motion of a prepared image against the reference, in input pixels, with confidences. */
  estimate(img: PreparedImage): {
    motion: RigidMotion;
    confidence: number;
    rotationConfidence?: number;
    thumb: Thumbnail;
  } {
    const thumb = thumbnailOf(img.data, img.width, img.height);
    if (thumb.width !== this.reference.width || thumb.height !== this.reference.height) {
      throw new RangeError(
        `alignment: a ${img.width}x${img.height} input does not match the reference's ${this.record.input.width}x${this.record.input.height}`,
      );
    }
    let rotationConfidence: number | undefined;
    let candidates = [0];
    if (this.mode === 'rigid' && this.referenceSignature) {
      const rot = estimateRotation(this.referenceSignature, rotationSignature(onCanvas(thumb)));
      rotationConfidence = rot.confidence;
      candidates = turnCandidates(rot.angleDeg, this.record.maxAngle);
    }
    // the turn whose turned-back thumbnail matches the reference best decides
    let best = { angleDeg: 0, dx: 0, dy: 0, confidence: -1 };
    for (const angleDeg of candidates) {
      const shift = this.translation(thumb, angleDeg);
      if (shift.confidence > best.confidence) best = { angleDeg, ...shift };
    }
    const { angleDeg, confidence } = best;
    // the shift found after turning back is R^-1 t: turn it forward (see warp.ts for R)
    const t = (angleDeg * Math.PI) / 180;
    const dx = Math.cos(t) * best.dx + Math.sin(t) * best.dy;
    const dy = -Math.sin(t) * best.dx + Math.cos(t) * best.dy;
    return {
      motion: { dx: dx / thumb.scale, dy: dy / thumb.scale, angleDeg },
      confidence,
      rotationConfidence,
      thumb,
    };
  }

  /** Shift of the thumbnail against the reference after turning it back by angleDeg. */
  private translation(thumb: Thumbnail, angleDeg: number) {
    let moved: GreyImage = thumb;
    if (angleDeg !== 0) {
      const turn = motionToAffine({ dx: 0, dy: 0, angleDeg }, thumb.width, thumb.height);
      const data = warpPlanes(thumb.data, thumb.width, thumb.height, 1, turn, { kind: 'clamp' });
      moved = { data: Float64Array.from(data), width: thumb.width, height: thumb.height };
    }
    return phaseCorrelate(this.referenceCanvas, onCanvas(moved));
  }

  /** Aligns one prepared image to the reference, or leaves it as it is with a warning. */
  align(img: PreparedImage): AlignedImage {
    const { motion, confidence, rotationConfidence } = this.estimate(img);
    const g = img.geometry;
    const outcome: AlignmentOutcome = {
      mode: this.mode,
      applied: false,
      dx: round(motion.dx * g.scaleX),
      dy: round(motion.dy * g.scaleY),
      angleDeg: round(motion.angleDeg),
      confidence: round(confidence),
      ...(rotationConfidence !== undefined ? { rotationConfidence: round(rotationConfidence) } : {}),
    };
    const problem = this.problem(motion, confidence, img);
    if (problem) return { prepared: img, outcome: { ...outcome, warning: problem } };
    const forward = motionToAffine(motion, img.width, img.height);
    const data = warpPlanes(img.data, img.width, img.height, 3, forward, { kind: 'clamp' });
    return {
      prepared: { ...img, data },
      outcome: { ...outcome, applied: true },
      back: invertAffine(forward),
    };
  }

  private problem(m: RigidMotion, confidence: number, img: PreparedImage): string | undefined {
    const r = this.record;
    if (!(confidence >= r.minConfidence))
      return `not aligned: match confidence ${round(confidence)} below ${r.minConfidence} (scored unaligned)`;
    if (Math.abs(m.dx) > r.maxShift * img.width || Math.abs(m.dy) > r.maxShift * img.height)
      return `not aligned: shift (${round(m.dx)}, ${round(m.dy)}) input pixels beyond ${r.maxShift * 100}% of the image (scored unaligned)`;
    if (Math.abs(m.angleDeg) > r.maxAngle)
      return `not aligned: turn ${round(m.angleDeg)} degrees beyond ${r.maxAngle} (scored unaligned)`;
    return undefined;
  }
}

/** An anomaly map of the aligned frame brought back to the image's frame (zero where nothing was seen). */
export function mapToObserved(map: ScoreMap, back: Affine | undefined): ScoreMap {
  if (!back) return map;
  return {
    ...map,
    data: warpPlanes(map.data, map.width, map.height, 1, back, { kind: 'constant', value: 0 }),
  };
}

/**
 * The training image to align to: among the thumbnails, the one with the least summed squared
 * difference to their mean (a cheap stand-in for "the image closest to the others").
 */
export function chooseReference(images: PreparedImage[]): number {
  const thumbs = images.map((p) => thumbnailOf(p.data, p.width, p.height));
  const n = thumbs[0].data.length;
  const mean = new Float64Array(n);
  for (const t of thumbs) for (let i = 0; i < n; i++) mean[i] += t.data[i] / thumbs.length;
  let best = 0;
  let bestDist = Infinity;
  thumbs.forEach((t, j) => {
    let d = 0;
    for (let i = 0; i < n; i++) d += (t.data[i] - mean[i]) ** 2;
    if (d < bestDist) {
      bestDist = d;
      best = j;
    }
  });
  return best;
}
