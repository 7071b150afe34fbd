/**
 * addDefect: one defect of a given kind drawn onto a copy of an image, with its exact mask.
 * Redraws elsewhere when a defect lands where it barely shows, so the mask is never empty.
 */
import { seededRng } from '../math/random';
import type { RawImage } from '../types';
import { finalise, makeCanvas } from './canvas';
import { DRAWERS, drawFallback } from './defect-drawers';
import type { DefectKind } from './kinds';
import { seedToUint32 } from './randomness';

/**
 * Draws one defect onto a copy of `image` (the input is not modified). Returns the new
 * image and the exact defect mask (1 = pixel changed by the defect, 0 = byte-identical).
 */
export function addDefect(
  image: RawImage,
  defect: DefectKind,
  seed: number,
): { image: RawImage; mask: Uint8Array } {
  const draw = DRAWERS[defect];
  if (!draw)
    throw new RangeError(
      `unknown defect kind '${defect}'; expected one of ${Object.keys(DRAWERS).join(', ')}`,
    );
  const rng = seededRng(seedToUint32(seed) ^ 0x5eed0def);
  // A defect can, rarely, land where it barely shows (e.g. a bright scratch on white);
  // redraw elsewhere rather than return an invisible defect or an empty mask.
  const minPixels = defect === 'crack' ? 3 : 6;
  for (let attempt = 0; attempt < 8; attempt++) {
    const canvas = makeCanvas(image);
    draw(canvas, rng);
    const result = finalise(canvas);
    if (result.count >= minPixels) return { image: result.image, mask: result.mask };
  }
  const canvas = makeCanvas(image);
  drawFallback(canvas, rng);
  const result = finalise(canvas);
  return { image: result.image, mask: result.mask };
}
