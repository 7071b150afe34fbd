/**
 * The alignment record a model stores (an optional header field, so older models load
 * unchanged) and its validation: every model file is treated as hostile, so sizes are bounded
 * and types checked before anything is decoded.
 */
import type { GreyImage } from './phase-correlation';
import { quantise, THUMBNAIL_SIDE } from './thumbnail';

export type AlignMode = 'off' | 'translate' | 'rigid';
export const ALIGN_MODES: readonly AlignMode[] = ['off', 'translate', 'rigid'];

/** Default limits: an image moved further, or matched less clearly, is scored unaligned. */
export const DEFAULT_MAX_SHIFT = 0.25;
export const DEFAULT_MIN_CONFIDENCE = 3;
/** Largest turn accepted, degrees; the log-polar estimate itself covers +-90. */
export const DEFAULT_MAX_ANGLE = 30;

/** What a model stores about alignment (`alignment` in the model header). */
export interface AlignmentRecord {
  mode: Exclude<AlignMode, 'off'>;
  /** the reference thumbnail (grey, quantised to bytes, base64), longer side <= 128 */
  reference: { width: number; height: number; data: string };
  /** the model input size the thumbnail was taken from */
  input: { width: number; height: number };
  /** largest accepted shift, as a fraction of the input's width / height */
  maxShift: number;
  /** smallest accepted peak ratio of the translation phase correlation */
  minConfidence: number;
  /** largest accepted turn, degrees (rigid) */
  maxAngle: number;
  /** which training image was chosen as the reference (0-based, in the order given to the fit) */
  referenceIndex: number;
}

export function encodeReference(img: GreyImage): AlignmentRecord['reference'] {
  return { width: img.width, height: img.height, data: Buffer.from(quantise(img)).toString('base64') };
}

export function decodeReference(ref: AlignmentRecord['reference']): GreyImage {
  const bytes = Buffer.from(ref.data, 'base64');
  return { data: Float64Array.from(bytes), width: ref.width, height: ref.height };
}

function isInt(v: unknown, lo: number, hi: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
}

function isNum(v: unknown, lo: number, hi: number): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= lo && v <= hi;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Checks an `alignment` header field from a file; returns the message of the first problem,
 * or undefined when it is well formed. Nothing larger than a 128x128 thumbnail is decoded.
 */
export function alignmentRecordProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'alignment must be an object';
  const r = value as Record<string, unknown>;
  if (r.mode !== 'translate' && r.mode !== 'rigid') return `alignment.mode must be translate or rigid`;
  const ref = r.reference as Record<string, unknown> | undefined;
  if (typeof ref !== 'object' || ref === null) return 'alignment.reference must be an object';
  if (!isInt(ref.width, 1, THUMBNAIL_SIDE) || !isInt(ref.height, 1, THUMBNAIL_SIDE))
    return `alignment.reference width/height must be integers 1..${THUMBNAIL_SIDE}`;
  const expected = Math.ceil((ref.width * ref.height) / 3) * 4;
  if (typeof ref.data !== 'string' || ref.data.length !== expected || !BASE64.test(ref.data))
    return `alignment.reference.data must be base64 of ${ref.width * ref.height} bytes`;
  const input = r.input as Record<string, unknown> | undefined;
  if (
    typeof input !== 'object' ||
    input === null ||
    !isInt(input.width, 1, 16384) ||
    !isInt(input.height, 1, 16384)
  )
    return 'alignment.input must give integer width and height';
  if (!isNum(r.maxShift, 0, 1)) return 'alignment.maxShift must be a number in 0..1';
  if (!isNum(r.minConfidence, 0, 1e6)) return 'alignment.minConfidence must be a number >= 0';
  if (!isNum(r.maxAngle, 0, 90)) return 'alignment.maxAngle must be a number in 0..90';
  if (!isInt(r.referenceIndex, 0, Number.MAX_SAFE_INTEGER))
    return 'alignment.referenceIndex must be an integer >= 0';
  return undefined;
}
