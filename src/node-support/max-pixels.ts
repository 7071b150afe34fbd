/**
 * `padimMaxPixels` (Node-RED's settings): the largest image, in pixels, the nodes decode.
 * Images with more are refused before they are decoded; the default is the core's.
 */
import { DEFAULT_MAX_PIXELS } from '../image';
import { SupportError } from './errors';

/** The limit the setting gives (unset: the default), or a SupportError saying what is wrong. */
export function maxPixelsFrom(setting: unknown): number {
  const limit = setting ?? DEFAULT_MAX_PIXELS;
  if (typeof limit !== 'number' || !Number.isFinite(limit) || limit < 1)
    throw new SupportError('settings.maxPixels', { value: String(limit) });
  return limit;
}
