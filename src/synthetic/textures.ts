/**
 * One good sample of a texture kind: the kind's shader rendered pixel by pixel with the sample's
 * lighting gain and sensor noise, rounded to 8 bits. The kind fixes what the part looks like; the
 * seed only draws the variation between samples.
 */
import { seededRng } from '../math/random';
import type { RawImage } from '../types';
import { checkSize } from './image-size';
import { TEXTURE_KINDS, type TextureKind } from './kinds';
import { hash3, normalish, seedToUint32 } from './randomness';
import { clamp } from './scalar';
import { SHADERS, type Rgb } from './shaders';

/**
 * One good sample of a texture kind: Uint8 pixels, interleaved, `channels` 3 (RGB,
 * default) or 1 (grey, ITU-R BT.601 luma of the RGB rendering).
 */
export function generateTexture(
  kind: TextureKind,
  width: number,
  height: number,
  seed: number,
  opts: { channels?: 1 | 3 } = {},
): RawImage {
  const make = SHADERS[kind];
  if (!make)
    throw new RangeError(`unknown texture kind '${kind}'; expected one of ${TEXTURE_KINDS.join(', ')}`);
  checkSize(width, height);
  const channels = opts.channels ?? 3;
  if (channels !== 1 && channels !== 3) throw new RangeError(`channels must be 1 or 3, got ${channels}`);

  const rng = seededRng(seedToUint32(seed) ^ hash3(TEXTURE_KINDS.indexOf(kind), 77, 0));
  const { shader, gain, noise } = make(rng);
  const data = new Uint8Array(width * height * channels);
  const rgb: Rgb = [0, 0, 0];
  let o = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      shader(x, y, rgb);
      // One noise draw per pixel (luma-like sensor noise) keeps colour and grey consistent.
      const n = noise * normalish(rng);
      const r = rgb[0] * gain + n;
      const g = rgb[1] * gain + n;
      const b = rgb[2] * gain + n;
      if (channels === 3) {
        data[o++] = clamp(Math.round(r), 0, 255);
        data[o++] = clamp(Math.round(g), 0, 255);
        data[o++] = clamp(Math.round(b), 0, 255);
      } else {
        data[o++] = clamp(Math.round(0.299 * r + 0.587 * g + 0.114 * b), 0, 255);
      }
    }
  }
  return { data, width, height, channels };
}
