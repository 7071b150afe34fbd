/**
 * The small picture of a heatmap that the editor shows under the heatmap node: a JPEG no wider
 * than asked (never enlarged), at a quality that keeps it a few kilobytes.
 */
import sharp from 'sharp';
import type { RgbImage } from './heatmap';

/** JPEG quality of a preview: small over sharp, it is looked at a few centimetres wide. */
const PREVIEW_QUALITY = 70;

/** `image` scaled down to at most `maxWidth` pixels wide (aspect kept), as JPEG bytes. */
export async function previewJpeg(image: RgbImage, maxWidth: number): Promise<Buffer> {
  return sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
    raw: { width: image.width, height: image.height, channels: 3 },
  })
    .resize({ width: Math.min(maxWidth, image.width) })
    .jpeg({ quality: PREVIEW_QUALITY })
    .toBuffer();
}

/** The preview as the data URL the editor's <img> takes. */
export function jpegDataUrl(jpeg: Buffer): string {
  return `data:image/jpeg;base64,${jpeg.toString('base64')}`;
}
