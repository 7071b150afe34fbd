/**
 * Compact storage of what scoring needs from each cell's Gaussian.
 *
 * A float32 model keeps the inverse covariance P (d x d per cell: 4.96 GB at d=550 on a
 * 64x64 grid). A compact model keeps instead the triangular factor W = L^-1 of the covariance
 * (Sigma + eps I = L L^T, so P = W^T W and the squared distance is |W (x - mu)|^2), in 16 or
 * 8 bits:
 * - 'float16': W's entries as IEEE half floats (relative rounding 2^-11 per entry);
 * - 'int8': W's entries as int8 with one float32 scale per row (row maximum / 127).
 * A factor rather than P because the distance then is a sum of squares: rounding errors in W
 * enter the distance about sqrt(cond) times, not cond times, and no rounding can make the
 * squared distance negative. Triangular, so the file stores only the lower triangle.
 * In memory the factor is kept as full d x d matrices (zeros above the diagonal) because
 * onnxruntime's batched products need them; that is still 1/2 (float16) or 1/4 (int8) of a
 * float32 P. Scoring reads the 16- or 8-bit values directly (batched-linalg.ts factorDistances).
 */

import type { CellSquares } from '../../linalg/shapes';
import { toFloat16 } from './float16';
import { packedSize } from '../packed-triangle';

export { fromFloat16, toFloat16 } from './float16';

/** How the per-cell distance operator is stored: the float32 inverse or a compact factor. */
export type PrecisionStorage = 'float32' | 'float16' | 'int8';
export type CompactStorage = Exclude<PrecisionStorage, 'float32'>;

export const PRECISION_STORAGES: readonly PrecisionStorage[] = ['float32', 'float16', 'int8'];

/** The compact factor of every cell, chunked as GaussianArrays' matrices are. */
export interface PrecisionFactor {
  storage: CompactStorage;
  /**
   * W per chunk, [n_k, dims, dims] row-major, lower triangle (zeros above): float16 bit
   * patterns (Uint16Array) or int8 values (Int8Array)
   */
  chunks: (Uint16Array | Int8Array)[];
  /** 'int8' only: the scale of each row of W, chunk k is [n_k, dims] */
  rowScales?: Float32Array[];
}

// ---------------------------------------------------------------------------------------------
// Quantisation of one chunk's factor

/**
 * Stores W ([cells, dims, dims], lower triangle used) in `storage`. Non-finite entries are a
 * caller bug (the inversion failed) and are refused rather than stored as garbage.
 */
export function compactFactor(
  factor: CellSquares<Float32Array | Float64Array>,
  storage: CompactStorage,
): { values: Uint16Array | Int8Array; rowScales?: Float32Array } {
  const { data: w, cells: n, dims: d } = factor;
  if (storage === 'float16') {
    const values = new Uint16Array(n * d * d);
    for (let c = 0; c < n; c++) {
      for (let i = 0; i < d; i++) {
        const row = (c * d + i) * d;
        for (let j = 0; j <= i; j++) {
          const v = w[row + j];
          if (!Number.isFinite(v)) throw new Error(`non-finite factor entry in cell ${c}, row ${i}`);
          values[row + j] = toFloat16(v);
        }
      }
    }
    return { values };
  }
  const values = new Int8Array(n * d * d);
  const rowScales = new Float32Array(n * d);
  for (let c = 0; c < n; c++) {
    for (let i = 0; i < d; i++) {
      const row = (c * d + i) * d;
      let max = 0;
      for (let j = 0; j <= i; j++) {
        const v = w[row + j];
        if (!Number.isFinite(v)) throw new Error(`non-finite factor entry in cell ${c}, row ${i}`);
        max = Math.max(max, Math.abs(v));
      }
      const scale = max > 0 ? max / 127 : 1;
      rowScales[c * d + i] = scale;
      for (let j = 0; j <= i; j++) values[row + j] = Math.round(w[row + j] / scale);
    }
  }
  return { values, rowScales };
}

/** Bytes per cell of what scoring reads, in the file and in memory, for each storage. */
export function storageBytesPerCell(storage: PrecisionStorage, d: number): { file: number; memory: number } {
  switch (storage) {
    case 'float32':
      return { file: 4 * packedSize(d), memory: 4 * d * d };
    case 'float16':
      return { file: 2 * packedSize(d), memory: 2 * d * d };
    case 'int8':
      return { file: packedSize(d) + 4 * d, memory: d * d + 4 * d };
  }
}
