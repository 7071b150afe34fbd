/**
 * Layer text: "a,b,c" as typed after --layers or in the padim-model dialog, turned into the three
 * stage tensor names. One parser, so the command line and the node accept and refuse the same text.
 */
import type { StageNames } from './backbone';

/**
 * The three names in `text`, spaces around each ignored and empty entries dropped (a trailing
 * comma is harmless). Throws a RangeError naming `what` unless exactly three names remain.
 */
export function parseLayers(text: string, what = 'layers'): StageNames {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length !== 3)
    throw new RangeError(`${what} must be three tensor names separated by commas, got '${text}'`);
  return names as StageNames;
}
