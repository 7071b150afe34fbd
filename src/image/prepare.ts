/**
 * Image preparation, the folder's entry points: any supported input -> normalised CHW float32 at
 * the network size ({@link prepareImage}), its oriented size ({@link readImageSize}), or a sharp
 * pipeline over it at its own size ({@link openImagePipeline}).
 *
 * One sharp (libvips) pipeline does EXIF orientation, alpha removal, colour conversion, resizing and
 * cropping, and hands back interleaved RGB at the target size; a single JS pass then normalises it.
 */
import type { Sharp } from 'sharp';
import { validateSizeProtocol } from '../input/size-text';
import type { ImageInput, Normalisation, PreparedImage, SizeProtocol } from '../types';
import { decodeToRgb } from './decode';
import { planGeometry } from './geometry';
import { DEFAULT_MAX_PIXELS, validateMaxPixels } from './limits';
import { normaliseInterleavedRgb, validateNormalisation } from './normalise';
import { openSource } from './sources';

export interface PrepareOptions {
  size: SizeProtocol;
  normalisation: Normalisation;
  /** Refuse images with more pixels than this before decoding them. Default {@link DEFAULT_MAX_PIXELS}. */
  maxPixels?: number;
}

/**
 * Decodes `input`, applies the size protocol and normalises to CHW float32 in RGB order:
 * `(v / vmax - mean[c]) / std[c]` with vmax 255 for 8-bit sources and 65535 for 16-bit ones.
 * Alpha is composited over black (opaque pixels are unchanged). Throws {@link ImageInputError}.
 */
export async function prepareImage(input: ImageInput, opts: PrepareOptions): Promise<PreparedImage> {
  const size = validateSizeProtocol(opts.size);
  const norm = validateNormalisation(opts.normalisation);
  const maxPixels = validateMaxPixels(opts.maxPixels ?? DEFAULT_MAX_PIXELS);

  const source = await openSource(input, maxPixels);
  const plan = planGeometry(source.width, source.height, size);
  const rgb = await decodeToRgb(source, plan);
  const data = normaliseInterleavedRgb(
    rgb,
    plan.outWidth * plan.outHeight,
    source.sixteenBit ? 65535 : 255,
    norm,
  );
  return { data, width: plan.outWidth, height: plan.outHeight, geometry: plan.geometry };
}

/**
 * Width and height of an image after EXIF orientation, without decoding its pixels where the
 * format allows (header only). Throws {@link ImageInputError} like {@link prepareImage}.
 */
export async function readImageSize(
  input: ImageInput,
  maxPixels = DEFAULT_MAX_PIXELS,
): Promise<{ width: number; height: number }> {
  const { width, height } = await openSource(input, validateMaxPixels(maxPixels));
  return { width, height };
}

/**
 * A sharp pipeline over any input prepareImage takes, after the same checks (empty input, pixel
 * limit from the header, BMP decoding, raw shape and sample values), not yet oriented or resized:
 * for code that needs the image at its own size, such as drawing a heatmap on it.
 */
export async function openImagePipeline(input: ImageInput, maxPixels = DEFAULT_MAX_PIXELS): Promise<Sharp> {
  return (await openSource(input, validateMaxPixels(maxPixels))).open();
}
