/**
 * Cell distances: the squared Mahalanobis distance of every cell's embedding to that cell's
 * Gaussian, for a batch of images, streamed one chunk of cells at a time through the linear
 * algebra (float32 inverse covariances, or their compact factor). Fitting (calibration) and
 * scoring both measure with it; the device head (head/) is the other way to the same figures.
 *
 * A batch of images shares one pass over the inverse covariances: the precision matrices are
 * by far the largest data (cells x d x d floats), so reading them once per batch rather than
 * once per image is what makes batched scoring fast.
 */
import type { BatchedLinalg } from '../linalg/batched-linalg';
import { chunkBatch, scatterDistances } from '../head';
import { chunkLength, type PadimModel } from '../model/model';

/** Per-cell distances for a batch of embeddings: one Float32Array [cells] per image. */
export async function cellDistances(
  model: Pick<PadimModel, 'gaussian'>,
  linalg: BatchedLinalg,
  embeddings: Float32Array[],
  meanF32: Float32Array,
): Promise<Float32Array[]> {
  const g = model.gaussian;
  const d = g.dims;
  const b = embeddings.length;
  const out = embeddings.map(() => new Float32Array(g.cells));
  const chunks = g.factor?.chunks.length ?? g.precision.length;
  for (let k = 0; k < chunks; k++) {
    const n = chunkLength(g, k);
    const first = k * g.chunkCells;
    // X [n, b, d]: this chunk's cells for every image
    const x = chunkBatch(embeddings, first, n, d);
    const mu = meanF32.subarray(first * d, (first + n) * d);
    const f = g.factor;
    const dist = f
      ? await linalg.factorDistances(x, mu, f.chunks[k], f.rowScales?.[k], f.storage, n, b, d)
      : await linalg.mahalanobis(x, mu, g.precision[k], n, b, d);
    scatterDistances(out, dist, first, n);
  }
  return out;
}
