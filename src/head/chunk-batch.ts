/**
 * The layout both distance heads feed onnxruntime with: for one chunk of grid cells, the
 * embeddings of every image of a batch, cell-major, and the way back from per-cell distances
 * to one distance grid per image.
 */

import type { CellBatch, CellRange } from '../linalg/shapes';

/**
 * X [n, b, d]: the cells of `range` (n of them, from range.first) of each of the b embeddings
 * ([cells, dims] each).
 */
export function chunkBatch(embeddings: Float32Array[], range: CellRange, dims: number): CellBatch {
  const { first, cells: n } = range;
  const d = dims;
  const b = embeddings.length;
  const x = new Float32Array(n * b * d);
  for (let c = 0; c < n; c++) {
    for (let j = 0; j < b; j++)
      x.set(embeddings[j].subarray((first + c) * d, (first + c + 1) * d), (c * b + j) * d);
  }
  return { data: x, cells: n, batch: b, dims: d };
}

/** Writes a chunk's distances [n, b] (the cells of `range`) into the per-image grids `out` (b grids of [cells]). */
export function scatterDistances(out: Float32Array[], dist: Float32Array, range: CellRange): void {
  const { first, cells: n } = range;
  const b = out.length;
  for (let c = 0; c < n; c++) for (let j = 0; j < b; j++) out[j][first + c] = dist[c * b + j];
}
