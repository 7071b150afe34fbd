/**
 * Packed triangles: the size formula, and packing then expanding gives back each matrix
 * (symmetric from the upper triangle; lower triangular with zeros above the diagonal).
 */
import assert from 'node:assert/strict';
import { expandLower, expandUpper, packedSize, packLower, packUpper } from '../src/model/packed-triangle';

/** n symmetric d x d matrices with distinct entries a[i][j] = a[j][i]. */
function symmetric(n: number, d: number): Float32Array {
  const full = new Float32Array(n * d * d);
  for (let c = 0; c < n; c++)
    for (let i = 0; i < d; i++)
      for (let j = 0; j < d; j++) full[(c * d + i) * d + j] = 1000 * c + 10 * Math.min(i, j) + Math.max(i, j);
  return full;
}

describe('packed triangles', () => {
  it('d(d+1)/2 entries', () => {
    assert.deepEqual([1, 2, 3, 100].map(packedSize), [1, 3, 6, 5050]);
  });

  it('upper: row by row from the diagonal, and back to the symmetric matrices', () => {
    const [n, d] = [2, 3];
    const full = symmetric(n, d);
    const packed = new Float32Array(n * packedSize(d));
    packUpper(full, n, d, packed);
    assert.deepEqual([...packed.subarray(0, packedSize(d))], [0, 1, 2, 11, 12, 22]);
    const back = new Float32Array(n * d * d).fill(NaN);
    expandUpper(packed, n, d, back);
    assert.deepEqual(back, full);
    // float64 triangles (merged co-moments) expand to the same float32 matrices
    const wide = new Float32Array(n * d * d);
    expandUpper(Float64Array.from(packed), n, d, wide);
    assert.deepEqual(wide, full);
  });

  it('lower: row by row up to the diagonal, and back with zeros above it', () => {
    const [n, d] = [2, 3];
    const full = new Int8Array(n * d * d).map((_, k) => k + 1);
    const packed = new Int8Array(n * packedSize(d));
    packLower(full, n, d, packed);
    assert.deepEqual([...packed.subarray(0, packedSize(d))], [1, 4, 5, 7, 8, 9]);
    const back = new Int8Array(n * d * d).fill(-1);
    expandLower(packed, n, d, back);
    const expected = full.map((v, k) => (k % d <= Math.floor(k / d) % d ? v : 0));
    assert.deepEqual(back, expected);
  });
});
