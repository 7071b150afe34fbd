/**
 * Packed triangles: a symmetric or triangular d x d matrix kept as one triangle, row by row,
 * d(d+1)/2 entries. The model keeps precisions and co-moments as upper triangles (row i:
 * columns i..d-1) and compact factors as lower triangles (row i: columns 0..i); the model
 * file, the fit's running statistics and the storage sizes all count and copy them here.
 */

/** Entries of a packed triangle (upper or lower, diagonal included) of a d x d matrix. */
export function packedSize(d: number): number {
  return (d * (d + 1)) / 2;
}

/** Copies the upper triangle (row i, columns i..d-1) of each of n full d x d matrices into `dst`. */
export function packUpper(full: Float32Array, n: number, d: number, dst: Float32Array): void {
  let p = 0;
  for (let c = 0; c < n; c++) {
    const base = c * d * d;
    for (let i = 0; i < d; i++) {
      const row = base + i * d;
      for (let j = i; j < d; j++) dst[p++] = full[row + j];
    }
  }
}

/**
 * Inverse of packUpper: n full symmetric matrices, the upper triangle mirrored into the lower
 * one (every entry of `full` is written). Float64 triangles (the fit's merged co-moments) are
 * rounded to float32.
 */
export function expandUpper(
  packed: Float32Array | Float64Array,
  n: number,
  d: number,
  full: Float32Array,
): void {
  let p = 0;
  for (let c = 0; c < n; c++) {
    const base = c * d * d;
    for (let i = 0; i < d; i++) {
      for (let j = i; j < d; j++) {
        const v = packed[p++];
        full[base + i * d + j] = v;
        full[base + j * d + i] = v;
      }
    }
  }
}

/** Copies the lower triangles (row i: columns 0..i) of n full d x d matrices into `dst`. */
export function packLower<T extends Uint16Array | Int8Array>(full: T, n: number, d: number, dst: T): void {
  let q = 0;
  for (let c = 0; c < n; c++) {
    for (let i = 0; i < d; i++) {
      const row = (c * d + i) * d;
      dst.set(full.subarray(row, row + i + 1), q);
      q += i + 1;
    }
  }
}

/** Inverse of packLower: full matrices with zeros above the diagonal. */
export function expandLower<T extends Uint16Array | Int8Array>(
  packed: T,
  n: number,
  d: number,
  full: T,
): void {
  let q = 0;
  full.fill(0);
  for (let c = 0; c < n; c++) {
    for (let i = 0; i < d; i++) {
      full.set(packed.subarray(q, q + i + 1), (c * d + i) * d);
      q += i + 1;
    }
  }
}
