/**
 * Writing generated images to disk: raw pixels encoded with sharp (grey stays single-channel),
 * and a 0/1 defect mask turned into the 0/255 grey image MVTec AD ground truth uses.
 */
import sharp from 'sharp';
import type { RawImage } from '../types';

/** Encodes an 8-bit image to `file` (its folder must exist); `format` picks PNG or JPEG (quality 95). */
export async function writeImage(file: string, image: RawImage, format: 'png' | 'jpg'): Promise<void> {
  const data = image.data as Uint8Array;
  const raw = sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), {
    raw: { width: image.width, height: image.height, channels: image.channels },
  });
  // Grey stays single-channel in the file; JPEG quality high so defects survive encoding.
  const typed = image.channels === 1 ? raw.toColourspace('b-w') : raw;
  await (format === 'png' ? typed.png() : typed.jpeg({ quality: 95 })).toFile(file);
}

/** A 0/1 mask as an 8-bit grey image, 0 or 255. */
export function maskToImage(mask: Uint8Array, width: number, height: number): RawImage {
  const data = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) data[i] = mask[i] ? 255 : 0;
  return { data, width, height, channels: 1 };
}
