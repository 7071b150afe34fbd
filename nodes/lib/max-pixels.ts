/**
 * `padimMaxPixels` from Node-RED's settings.js: images with more pixels are refused before they
 * are decoded, by every node that decodes images (score, fit, heatmap). The rule is in
 * src/node-support/max-pixels.ts.
 */
import { maxPixelsFrom } from '../../src/node-support/max-pixels';
import type { NodeAPI } from './red';

/** The limit, or a SupportError that says what is wrong with the setting. */
export function maxPixelsSetting(RED: NodeAPI): number {
  return maxPixelsFrom(RED.settings.padimMaxPixels);
}
