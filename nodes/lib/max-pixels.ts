/**
 * `padimMaxPixels` from Node-RED's settings.js: images with more pixels are refused before they
 * are decoded, by every node that decodes images (score, fit, heatmap).
 */
import { DEFAULT_MAX_PIXELS } from '../../src/image';
import type { NodeAPI } from './red';

/** The limit, or an error that says what is wrong with the setting. */
export function maxPixelsSetting(RED: NodeAPI): number {
  const limit = RED.settings.padimMaxPixels ?? DEFAULT_MAX_PIXELS;
  if (typeof limit !== 'number' || !Number.isFinite(limit) || limit < 1)
    throw new Error(`padimMaxPixels in Node-RED's settings must be a number >= 1, got ${String(limit)}`);
  return limit;
}
