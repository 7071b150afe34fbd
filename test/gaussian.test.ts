import assert from 'node:assert/strict';
import { BatchedLinalg } from '../src/linalg/batched-linalg';
import { oasIntensity } from '../src/padim/covariance-shrinkage';
import { GaussianAccumulator } from '../src/padim/gaussian';
import { packedSize } from '../src/model/packed-triangle';
import { seededRng, gaussianSample } from '../src/math/random';

/** Random embeddings with correlated channels and a large offset (to test cancellation). */
function randomEmbeddings(n: number, cells: number, d: number, seed: number, offset = 50): Float32Array[] {
  const rng = seededRng(seed);
  const mix = Array.from({ length: d * d }, () => gaussianSample(rng));
  return Array.from({ length: n }, () => {
    const e = new Float32Array(cells * d);
    for (let c = 0; c < cells; c++) {
      const z = Array.from({ length: d }, () => gaussianSample(rng));
      for (let i = 0; i < d; i++) {
        let v = offset + c;
        // channel scales 1..4 and correlations, as real features have
        for (let j = 0; j <= i; j++) v += (mix[i * d + j] * z[j] * (1 + (i % 4))) / Math.sqrt(i + 1);
        e[c * d + i] = v;
      }
    }
    return e;
  });
}

/** Two-pass float64 mean and unbiased covariance of one cell. */
function twoPass(embs: Float32Array[], cell: number, d: number): { mean: number[]; cov: number[][] } {
  const n = embs.length;
  const mean = new Array(d).fill(0);
  for (const e of embs) for (let i = 0; i < d; i++) mean[i] += e[cell * d + i] / n;
  const cov = Array.from({ length: d }, () => new Array(d).fill(0));
  for (const e of embs) {
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++)
        cov[i][j] += ((e[cell * d + i] - mean[i]) * (e[cell * d + j] - mean[j])) / (n - 1);
    }
  }
  return { mean, cov };
}

function unpack(packed: Float32Array, offset: number, d: number): number[][] {
  const m = Array.from({ length: d }, () => new Array(d).fill(0));
  let q = offset;
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      m[i][j] = packed[q];
      m[j][i] = packed[q++];
    }
  }
  return m;
}

async function fit(
  linalg: BatchedLinalg,
  embs: Float32Array[],
  batches: number[],
  cells: number,
  d: number,
  chunkCells?: number,
) {
  const acc = new GaussianAccumulator({ cells, dims: d, chunkCells }, linalg);
  // add every batch as it comes, so uneven batches really reach the sums separately
  acc.groupBytes = 1;
  let i = 0;
  for (const b of batches) {
    await acc.add(embs.slice(i, i + b));
    i += b;
  }
  assert.equal(i, embs.length);
  return acc.finalise({ eps: 0.01, keepComoment: true });
}

describe('GaussianAccumulator (streaming mean and covariance)', () => {
  const linalg = new BatchedLinalg({ threads: 2 });
  after(() => linalg.dispose());

  it('matches a two-pass float64 computation for uneven batches, batches of one, and chunking', async () => {
    const cells = 5;
    const d = 7;
    const embs = randomEmbeddings(23, cells, d, 1);
    for (const [batches, chunkCells] of [
      [[23], undefined],
      [[1, 1, 1, 20], 2],
      [[1, 5, 10, 7], 3],
      [Array(23).fill(1), 1],
    ] as [number[], number | undefined][]) {
      const g = await fit(linalg, embs, batches, cells, d, chunkCells);
      assert.equal(g.count, 23);
      for (let c = 0; c < cells; c++) {
        const ref = twoPass(embs, c, d);
        const k = Math.floor(c / g.chunkCells);
        const local = c - k * g.chunkCells;
        const cm = unpack(g.comoment![k], local * packedSize(d), d);
        for (let i = 0; i < d; i++) {
          assert.ok(
            Math.abs(g.mean[c * d + i] - ref.mean[i]) < 1e-4,
            `mean ${g.mean[c * d + i]} vs ${ref.mean[i]}`,
          );
          for (let j = 0; j < d; j++) {
            const cov = cm[i][j] / 22;
            const tol = 1e-4 * Math.max(1, Math.abs(ref.cov[i][j]));
            assert.ok(
              Math.abs(cov - ref.cov[i][j]) < tol,
              `cov[${i}][${j}] ${cov} vs ${ref.cov[i][j]} (batches ${batches})`,
            );
          }
        }
      }
    }
  });

  it('inverts Sigma + eps I: precision times matrix is the identity', async () => {
    for (const [d, inversePrecision] of [
      [7, 'float64'],
      [300, 'float64'],
      [40, 'float32'],
    ] as const) {
      const cells = 2;
      const embs = randomEmbeddings(d + 40, cells, d, 2, 5);
      const acc = new GaussianAccumulator({ cells, dims: d }, linalg);
      await acc.add(embs);
      const g = await acc.finalise({ eps: 0.01, keepComoment: false, inversePrecision });
      for (let c = 0; c < cells; c++) {
        const { cov } = twoPass(embs, c, d);
        const k = Math.floor(c / g.chunkCells);
        const o = (c - k * g.chunkCells) * d * d;
        const p = g.precision[k];
        let worst = 0;
        for (let i = 0; i < d; i++) {
          for (let j = 0; j < d; j++) {
            let s = 0;
            for (let m = 0; m < d; m++) s += p[o + i * d + m] * (cov[m][j] + (m === j ? 0.01 : 0));
            worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
          }
        }
        // the stored precision is float32 whichever arithmetic inverted it, so the residual
        // grows with the condition number (here ~1e3)
        assert.ok(worst < (inversePrecision === 'float32' ? 5e-3 : 1e-3), `d=${d}: |P Sigma - I| = ${worst}`);
      }
    }
  });

  it('updating a fit with more images equals fitting on all of them', async () => {
    const cells = 3;
    const d = 6;
    const embs = randomEmbeddings(30, cells, d, 3);
    const all = await fit(linalg, embs, [8, 8, 8, 6], cells, d, 2);
    const first = await fit(linalg, embs.slice(0, 11), [11], cells, d, 2);
    const update = new GaussianAccumulator({ cells, dims: d }, linalg, {
      count: first.count,
      mean: first.mean,
      comoment: first.comoment!,
      chunkCells: first.chunkCells,
    });
    await update.add(embs.slice(11, 20));
    await update.add(embs.slice(20));
    const merged = await update.finalise({ eps: 0.01, keepComoment: true });
    assert.equal(merged.count, 30);
    for (let i = 0; i < all.mean.length; i++) assert.ok(Math.abs(all.mean[i] - merged.mean[i]) < 1e-4);
    for (let k = 0; k < all.comoment!.length; k++) {
      for (let i = 0; i < all.comoment![k].length; i++) {
        const a = all.comoment![k][i];
        assert.ok(Math.abs(a - merged.comoment![k][i]) < 1e-4 * Math.max(1, Math.abs(a)));
      }
      for (let i = 0; i < all.precision[k].length; i++) {
        assert.ok(Math.abs(all.precision[k][i] - merged.precision[k][i]) < 1e-4);
      }
    }
  });

  it('shrinking (few images): raw co-moments kept, (1-rho) Sigma + rho tr(Sigma)/d I + eps I inverted, updates agree', async () => {
    const cells = 2;
    const d = 12;
    const embs = randomEmbeddings(6, cells, d, 4, 5);
    const finalise = async (images: Float32Array[], shrink: boolean) => {
      const acc = new GaussianAccumulator({ cells, dims: d }, linalg);
      await acc.add(images);
      return acc.finalise({ eps: 0.01, keepComoment: true, shrink, inversePrecision: 'float64' });
    };
    const plain = await finalise(embs, false);
    const shrunk = await finalise(embs, true);
    assert.equal(plain.shrinkage, undefined);
    assert.equal(shrunk.shrinkage?.length, cells);
    for (let i = 0; i < plain.comoment![0].length; i++) {
      const a = plain.comoment![0][i];
      assert.ok(
        Math.abs(a - shrunk.comoment![0][i]) < 1e-4 * Math.max(1, Math.abs(a)),
        'raw co-moments stored',
      );
    }
    for (let c = 0; c < cells; c++) {
      const { cov } = twoPass(embs, c, d);
      const tr = cov.reduce((t, row, i) => t + row[i], 0);
      const tr2 = cov.flat().reduce((t, v) => t + v * v, 0);
      const rho = shrunk.shrinkage![c];
      assert.ok(
        Math.abs(rho - oasIntensity({ trace: tr, traceOfSquare: tr2 }, { dims: d, images: 6 })) < 1e-6,
      );
      const o = c * d * d;
      let worst = 0;
      for (let i = 0; i < d; i++) {
        for (let j = 0; j < d; j++) {
          let s = 0;
          for (let m = 0; m < d; m++) {
            const a = (1 - rho) * cov[m][j] + (m === j ? (rho * tr) / d + 0.01 : 0);
            s += shrunk.precision[0][o + i * d + m] * a;
          }
          worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
        }
      }
      assert.ok(worst < 1e-3, `cell ${c}: |P A - I| = ${worst}`);
    }
    // a shrunk fit of 4 images updated with 2 more equals a shrunk fit of all 6
    const first = await finalise(embs.slice(0, 4), true);
    const update = new GaussianAccumulator({ cells, dims: d }, linalg, {
      count: first.count,
      mean: first.mean,
      comoment: first.comoment!,
      chunkCells: first.chunkCells,
    });
    await update.add(embs.slice(4));
    const merged = await update.finalise({
      eps: 0.01,
      keepComoment: true,
      shrink: true,
      inversePrecision: 'float64',
    });
    for (let i = 0; i < shrunk.precision[0].length; i++) {
      const a = shrunk.precision[0][i];
      assert.ok(Math.abs(a - merged.precision[0][i]) < 1e-3 * Math.max(1, Math.abs(a)));
    }
    // and the update stores the raw merged co-moment too, so a later update merges raw statistics
    for (let i = 0; i < shrunk.comoment![0].length; i++) {
      const a = shrunk.comoment![0][i];
      assert.ok(
        Math.abs(a - merged.comoment![0][i]) < 1e-3 * Math.max(1, Math.abs(a)),
        `updated co-moment ${i}: ${merged.comoment![0][i]} vs ${a}`,
      );
    }
  });

  it('refuses fewer than two images and embeddings of the wrong size', async () => {
    const acc = new GaussianAccumulator({ cells: 2, dims: 3 }, linalg);
    await assert.rejects(acc.add([new Float32Array(5)]), /expected 2 x 3/);
    await acc.add([new Float32Array(6)]);
    await assert.rejects(acc.finalise({ eps: 0.01, keepComoment: false }), /at least 2 images/);
  });
});

describe('BatchedLinalg.mahalanobis', () => {
  const linalg = new BatchedLinalg({ threads: 1 });
  after(() => linalg.dispose());

  it('equals the explicit quadratic form sqrt((x-mu)^T P (x-mu)), clamped at 0', async () => {
    const rng = seededRng(9);
    const cells = 3;
    const b = 4;
    const d = 5;
    const x = Float32Array.from({ length: cells * b * d }, () => gaussianSample(rng));
    const mu = Float32Array.from({ length: cells * d }, () => gaussianSample(rng));
    const p = new Float32Array(cells * d * d);
    for (let c = 0; c < cells; c++) {
      // P = A A^T + I is symmetric positive definite
      const a = Array.from({ length: d * d }, () => gaussianSample(rng));
      for (let i = 0; i < d; i++) {
        for (let j = 0; j < d; j++) {
          let s = i === j ? 1 : 0;
          for (let m = 0; m < d; m++) s += a[i * d + m] * a[j * d + m];
          p[c * d * d + i * d + j] = s;
        }
      }
    }
    // cell 2 gets a negative definite matrix: the form is negative and must clamp to 0
    for (let i = 0; i < d * d; i++)
      p[2 * d * d + i] = -Math.abs(p[2 * d * d + i]) * (i % (d + 1) === 0 ? 1 : 0);
    const m = await linalg.mahalanobis({ data: x, cells, batch: b, dims: d }, mu, p);
    for (let c = 0; c < cells; c++) {
      for (let j = 0; j < b; j++) {
        let q = 0;
        for (let i = 0; i < d; i++) {
          for (let k = 0; k < d; k++) {
            const di = x[(c * b + j) * d + i] - mu[c * d + i];
            const dk = x[(c * b + j) * d + k] - mu[c * d + k];
            q += di * p[c * d * d + i * d + k] * dk;
          }
        }
        const expected = Math.sqrt(Math.max(0, q));
        assert.ok(
          Math.abs(m[c * b + j] - expected) < 1e-4 * Math.max(1, expected),
          `${m[c * b + j]} vs ${expected}`,
        );
      }
    }
    assert.equal(m[2 * b], 0);
    // one image at a time takes the other arrangement of the product: same distances
    for (let j = 0; j < b; j++) {
      const xj = new Float32Array(cells * d);
      for (let c = 0; c < cells; c++) xj.set(x.subarray((c * b + j) * d, (c * b + j + 1) * d), c * d);
      const single = await linalg.mahalanobis({ data: xj, cells, batch: 1, dims: d }, mu, p);
      for (let c = 0; c < cells; c++)
        assert.ok(Math.abs(single[c] - m[c * b + j]) < 1e-4 * Math.max(1, m[c * b + j]));
    }
  });
});
