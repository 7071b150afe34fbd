/**
 * Decoding: the single libvips pipeline (EXIF orientation, alpha over black, colour conversion,
 * resize and crop) that hands back interleaved RGB at the network input size.
 */
import type { OutputInfo } from 'sharp';
import { decodeError } from './errors';
import type { GeometryPlan } from './geometry';
import type { Source } from './sources';

/** Runs the single libvips pipeline; returns interleaved RGB (3 samples per pixel) at the input size. */
export async function decodeToRgb(source: Source, plan: GeometryPlan): Promise<Uint8Array | Uint16Array> {
  let pipeline = source
    .open()
    .rotate() // EXIF orientation; runs before resize whatever the call order
    // flatten (not removeAlpha): sharp drops alpha only after a premultiplied resize, flatten runs before it.
    .flatten({ background: { r: 0, g: 0, b: 0 } })
    .resize(plan.resizeWidth, plan.resizeHeight, {
      fit: 'fill',
      kernel: 'linear',
      // Exact shrink-on-load steps can skew JPEG results slightly; keep at least 2x for the linear kernel.
      fastShrinkOnLoad: false,
    });
  if (plan.resizeWidth !== plan.outWidth || plan.resizeHeight !== plan.outHeight) {
    // extract() after resize() is a post-resize crop in sharp.
    pipeline = pipeline.extract({
      left: plan.cropLeft,
      top: plan.cropTop,
      width: plan.outWidth,
      height: plan.outHeight,
    });
  }
  // Greyscale is replicated and CMYK converted by the colourspace step. 8-bit sources must stay 8-bit:
  // libvips widens 8 -> 16 bits by v * 256, which would not map 255 to 1.0.
  pipeline = source.sixteenBit
    ? pipeline.toColourspace('rgb16').raw({ depth: 'ushort' })
    : pipeline.toColourspace('srgb').raw({ depth: 'uchar' });

  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await pipeline.toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw decodeError(err, source.label);
  }
  const { data, info } = out;
  if (info.width !== plan.outWidth || info.height !== plan.outHeight || info.channels !== 3) {
    // Should not happen; guards against a libvips change silently feeding the wrong shape downstream.
    throw new Error(
      `internal: decoder produced ${info.width}x${info.height}x${info.channels}, ` +
        `expected ${plan.outWidth}x${plan.outHeight}x3`,
    );
  }
  if (!source.sixteenBit) {
    return data;
  }
  // Uint16Array views need 2-byte alignment; sharp's buffers are normally aligned, copy when not.
  const aligned = data.byteOffset % 2 === 0 ? data : Buffer.from(data);
  return new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2);
}
