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
  const out = embeddings.map(() => new Float32Array(g.cells));
  const chunks = g.factor?.chunks.length ?? g.precision.length;
  for (let k = 0; k < chunks; k++) {
    const range = { first: k * g.chunkCells, cells: chunkLength(g, k) };
    // X [n, b, d]: this chunk's cells for every image
    const x = chunkBatch(embeddings, range, d);
    const mu = meanF32.subarray(range.first * d, (range.first + range.cells) * d);
    const f = g.factor;
    const dist = f
      ? await linalg.factorDistances(x, mu, {
          storage: f.storage,
          values: f.chunks[k],
          rowScales: f.rowScales?.[k],
        })
      : await linalg.mahalanobis(x, mu, g.precision[k]);
    scatterDistances(out, dist, range);
  }
  return out;
}
