/** Batching: prepared images of one size -> one NCHW float32 tensor for the backbone. */
import type { PreparedImage } from '../types';

/** Concatenates prepared images into one NCHW float32 tensor (N x 3 x H x W). */
export function batchToTensor(images: PreparedImage[]): Float32Array {
  if (images.length === 0) {
    throw new RangeError('batchToTensor: empty batch');
  }
  const { width, height } = images[0];
  const per = 3 * width * height;
  const out = new Float32Array(images.length * per);
  images.forEach((img, n) => {
    if (img.width !== width || img.height !== height) {
      throw new RangeError(
        `batchToTensor: image ${n} is ${img.width}x${img.height} but image 0 is ${width}x${height}; ` +
          'all images in a batch must share one size',
      );
    }
    if (img.data.length !== per) {
      throw new RangeError(
        `batchToTensor: image ${n} has ${img.data.length} values, expected 3x${height}x${width}`,
      );
    }
    out.set(img.data, n * per);
  });
  return out;
}
