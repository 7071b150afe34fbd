import assert from 'node:assert/strict';
import { BatchedLinalg } from '../src/linalg/batched-linalg';
import { choleskyBlock } from '../src/linalg/block-inverse';
import { GaussianAccumulator } from '../src/padim/gaussian';
import { gaussianSample, seededRng } from '../src/math/random';

/**
 * Embeddings of n images from a few shared factors plus small noise: with n < d the sample
 * covariance is singular and only eps I makes it invertible, the badly conditioned case a
 * fit on few images produces (condition numbers ~1e4-1e5 after scaling to unit diagonal).
 */
function factorEmbeddings(n: number, cells: number, d: number, seed: number): Float32Array[] {
  const rng = seededRng(seed);
  const factors = 6;
  const load = Array.from({ length: cells * factors * d }, () => gaussianSample(rng));
  return Array.from({ length: n }, () => {
    const e = new Float32Array(cells * d);
    for (let c = 0; c < cells; c++) {
      const z = Array.from({ length: factors }, () => gaussianSample(rng));
      for (let i = 0; i < d; i++) {
        let v = 10 + 0.2 * gaussianSample(rng) * (1 + (i % 5));
        for (let k = 0; k < factors; k++) v += z[k] * load[(c * factors + k) * d + i];
        e[c * d + i] = v;
      }
    }
    return e;
  });
}

/** sqrt(x^T P x) for every cell, P [cells, d, d] in chunks. */
function distances(
  precision: Float32Array[],
  chunkCells: number,
  xs: Float64Array,
  cells: number,
  d: number,
): number[] {
  const out: number[] = [];
  for (let c = 0; c < cells; c++) {
    const p = precision[Math.floor(c / chunkCells)];
    const o = (c % chunkCells) * d * d;
    let q = 0;
    for (let i = 0; i < d; i++) {
      let r = 0;
      for (let j = 0; j < d; j++) r += p[o + i * d + j] * xs[c * d + j];
      q += r * xs[c * d + i];
    }
    out.push(Math.sqrt(Math.max(0, q)));
  }
  return out;
}

describe('blocked Cholesky inversion (block-inverse.ts)', () => {
  const linalg = new BatchedLinalg();
  after(() => linalg.dispose());

  async function precisionOf(
    embs: Float32Array[],
    cells: number,
    d: number,
    inversePrecision: 'float32' | 'float64',
    inverseMethod: 'lu' | 'cholesky',
  ) {
    const acc = new GaussianAccumulator({ cells, dims: d, chunkCells: 2 }, linalg);
    await acc.add(embs);
    return acc.finalise({ eps: 0.01, keepComoment: false, inversePrecision, inverseMethod });
  }

  it('gives the distances of the float64 LU inverse, on singular-plus-eps covariances, d across block sizes', async () => {
    // d=7: one leaf; 33: a leaf and a short one; 100 and 161: several levels, uneven halves
    for (const [d, n] of [
      [7, 30],
      [33, 20],
      [100, 40],
      [161, 60],
    ]) {
      const cells = 3;
      const embs = factorEmbeddings(n, cells, d, d);
      const reference = await precisionOf(embs, cells, d, 'float64', 'lu');
      const rng = seededRng(99);
      const xs = Float64Array.from({ length: cells * d }, () => gaussianSample(rng));
      const want = distances(reference.precision, reference.chunkCells, xs, cells, d);
      for (const [type, tolerance] of [
        ['float64', 1e-5],
        ['float32', 2e-3],
      ] as const) {
        const got = await precisionOf(embs, cells, d, type, 'cholesky');
        const have = distances(got.precision, got.chunkCells, xs, cells, d);
        const worst = Math.max(...have.map((v, i) => Math.abs(v - want[i]) / want[i]));
        assert.ok(worst < tolerance, `d=${d} ${type}: distance relative error ${worst}`);
        // and it is really a different computation from LU in the same arithmetic, not a copy
        if (type === 'float64' && d > 32) assert.ok(worst > 0, `d=${d}: bit-identical to LU`);
      }
    }
  });

  it('refuses a matrix that is not positive definite with a clear error', () => {
    const a = Float64Array.of(1, 2, 2, 1); // eigenvalues 3 and -1
    assert.throws(
      () => choleskyBlock(a, 2, new Float64Array(4), new Float64Array(4)),
      /not positive definite \(pivot 1/,
    );
  });

  it('factors a block: L L^T = A and W L = I', () => {
    const b = 5;
    const a = new Float64Array(b * b);
    for (let i = 0; i < b; i++)
      for (let j = 0; j < b; j++) a[i * b + j] = (i === j ? 3 : 0) + 1 / (1 + i + j);
    const l = new Float64Array(b * b);
    const w = new Float64Array(b * b);
    choleskyBlock(a, b, l, w);
    for (let i = 0; i < b; i++) {
      for (let j = 0; j < b; j++) {
        let llt = 0;
        let wl = 0;
        for (let k = 0; k < b; k++) {
          llt += l[i * b + k] * l[j * b + k];
          wl += w[i * b + k] * l[k * b + j];
        }
        assert.ok(Math.abs(llt - a[i * b + j]) < 1e-12);
        assert.ok(Math.abs(wl - (i === j ? 1 : 0)) < 1e-12);
        if (j > i) assert.equal(l[i * b + j], 0);
      }
    }
  });
});
