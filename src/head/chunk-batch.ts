/**
 * The layout both distance heads feed onnxruntime with: for one chunk of grid cells, the
 * embeddings of every image of a batch, cell-major, and the way back from per-cell distances
 * to one distance grid per image.
 */

/** X [n, b, d]: cells first..first+n-1 of each of the b embeddings ([cells, d] each). */
export function chunkBatch(embeddings: Float32Array[], first: number, n: number, d: number): Float32Array {
  const b = embeddings.length;
  const x = new Float32Array(n * b * d);
  for (let c = 0; c < n; c++) {
    for (let j = 0; j < b; j++)
      x.set(embeddings[j].subarray((first + c) * d, (first + c + 1) * d), (c * b + j) * d);
  }
  return x;
}

/** Writes a chunk's distances [n, b] into the per-image grids `out` (b grids of [cells]). */
export function scatterDistances(out: Float32Array[], dist: Float32Array, first: number, n: number): void {
  const b = out.length;
  for (let c = 0; c < n; c++) for (let j = 0; j < b; j++) out[j][first + c] = dist[c * b + j];
}
