import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BatchedLinalg } from '../src/linalg/batched-linalg';
import { heldOutDistances, leaveOneOutInPlace } from '../src/padim/calibration';
import { shrinkInPlace } from '../src/padim/covariance-shrinkage';
import { fitModel } from '../src/padim/fit';
import { GaussianAccumulator } from '../src/padim/gaussian';
import { loadModel, saveModel } from '../src/model/model-file';
import type { GaussianArrays, PadimModel } from '../src/model/model';
import { gaussianSample, seededRng } from '../src/math/random';
import { cellDistances } from '../src/padim/distance';
import { Scorer } from '../src/padim/scorer';
import type { RawImage } from '../src/types';
import { tempDir } from './helpers';

describe('held-out calibration distances (Woodbury, no refit)', () => {
  const linalg = new BatchedLinalg({ threads: 1 });
  after(() => linalg.dispose());

  it('equal the distances under a model fitted directly on the other images', async () => {
    const rng = seededRng(5);
    const cells = 4;
    const d = 6;
    const n = 25;
    const k = 7;
    const eps = 0.01;
    const embs = Array.from({ length: n }, () => {
      const e = new Float32Array(cells * d);
      for (let i = 0; i < e.length; i++)
        e[i] = 3 + gaussianSample(rng) * (1 + (i % d) * 0.5) + (i % 3) * gaussianSample(rng);
      return e;
    });
    const acc = new GaussianAccumulator({ cells, dims: d, chunkCells: 3 }, linalg);
    await acc.add(embs);
    const g = await acc.finalise({ eps, keepComoment: false });
    const heldOut = embs.slice(n - k);
    const fast = await heldOutDistances(g, n, heldOut, linalg);

    const rest = embs.slice(0, n - k);
    for (let c = 0; c < cells; c++) {
      // direct: mean and co-moment of the other images, covariance divided by N-1 (see calibration.ts)
      const mean = new Array(d).fill(0);
      for (const e of rest) for (let i = 0; i < d; i++) mean[i] += e[c * d + i] / rest.length;
      const a = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? eps : 0)));
      for (const e of rest) {
        for (let i = 0; i < d; i++) {
          for (let j = 0; j < d; j++)
            a[i][j] += ((e[c * d + i] - mean[i]) * (e[c * d + j] - mean[j])) / (n - 1);
        }
      }
      const inv = invert(a);
      for (let h = 0; h < k; h++) {
        const r = Array.from({ length: d }, (_, i) => heldOut[h][c * d + i] - mean[i]);
        let q = 0;
        for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) q += r[i] * inv[i][j] * r[j];
        const expected = Math.sqrt(q);
        const got = fast[h][c];
        assert.ok(Math.abs(got - expected) < 2e-3 * expected, `cell ${c} image ${h}: ${got} vs ${expected}`);
      }
    }
  });

  it('stay finite when shrinkage takes a cell all the way to the identity (a plain background)', async () => {
    // 8 images, flat grey except a noisy stripe on the right: the flat cells have no variance,
    // so OAS gives them rho = 1; few images for d = 60 turn shrinkage on
    const rng = seededRng(9);
    const images: RawImage[] = Array.from({ length: 8 }, () => {
      const data = new Uint8Array(64 * 64 * 3).fill(128);
      for (let y = 0; y < 64; y++)
        for (let x = 56; x < 64; x++)
          data.fill(Math.floor(rng() * 255), (y * 64 + x) * 3, (y * 64 + x) * 3 + 3);
      return { data, width: 64, height: 64, channels: 3 };
    });
    const model = await fitModel(images, { size: { kind: 'resize', width: 64, height: 64 }, threads: 1 });
    assert.ok(model.header.shrinkage, 'shrinkage was applied');
    const t = model.header.trainScores;
    for (const v of [t.min, t.max, t.mean, model.header.threshold])
      assert.ok(Number.isFinite(v), `calibration scores finite: ${JSON.stringify(t)}`);
    const dir = tempDir('padim-calib-');
    try {
      await saveModel(path.join(dir, 'm.padim'), model); // refused a NaN header field before
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('calibration scores in the model', () => {
  it('are the held-out scores the summary describes, ascending, and survive a save and load', async () => {
    const rng = seededRng(3);
    const images: RawImage[] = Array.from({ length: 12 }, () => {
      const data = new Uint8Array(64 * 64 * 3);
      for (let i = 0; i < data.length; i++) data[i] = 100 + Math.floor(rng() * 50);
      return { data, width: 64, height: 64, channels: 3 };
    });
    const model = await fitModel(images, { size: { kind: 'resize', width: 64, height: 64 }, threads: 1 });
    const cal = model.header.calibration;
    assert.ok(cal, 'calibration stored');
    assert.equal(cal.method, 'held-out');
    assert.equal(cal.scores.length, model.header.trainScores.count);
    assert.equal(cal.scores.length, 12, 'every image held out on its own');
    assert.equal(cal.heldOut, 'leave-one-out');
    assert.ok(cal.tail && cal.budget === 0.01, 'tail and default budget stored');
    const block = await fitModel(images, {
      size: { kind: 'resize', width: 64, height: 64 },
      threads: 1,
      heldOutImages: 0,
    });
    assert.equal(
      block.header.calibration?.scores.length,
      3,
      'without the second pass: a quarter of 12 held out together',
    );
    assert.equal(block.header.calibration?.heldOut, 'block');
    for (let i = 1; i < cal.scores.length; i++) assert.ok(cal.scores[i - 1] <= cal.scores[i], 'ascending');
    assert.equal(cal.scores[0], model.header.trainScores.min);
    assert.equal(cal.scores[cal.scores.length - 1], model.header.trainScores.max);
    const dir = tempDir('padim-calib-');
    try {
      const file = path.join(dir, 'm.padim');
      await saveModel(file, model);
      const loaded = await loadModel(file);
      assert.deepEqual(loaded.header.calibration, cal);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

const CELLS = 3;
const D = 5;
const EPS = 0.01;

function embeddings(n: number, seed: number): Float32Array[] {
  const rng = seededRng(seed);
  return Array.from({ length: n }, () => {
    const e = new Float32Array(CELLS * D);
    for (let i = 0; i < e.length; i++) e[i] = 2 + gaussianSample(rng) * (1 + (i % D) * 0.4);
    return e;
  });
}

/** Reference: squared distance of `x` (cell c) under a direct fit on `rest` in float64. */
function refitDistance(
  rest: Float32Array[],
  x: Float32Array,
  c: number,
  divisor: number,
  shrink?: 'oas',
): number {
  const mean = new Array(D).fill(0);
  for (const e of rest) for (let i = 0; i < D; i++) mean[i] += e[c * D + i] / rest.length;
  const m2 = new Float32Array(D * D);
  for (const e of rest)
    for (let i = 0; i < D; i++)
      for (let j = 0; j < D; j++) m2[i * D + j] += (e[c * D + i] - mean[i]) * (e[c * D + j] - mean[j]);
  const a = Array.from({ length: D }, (_, i) => Array.from({ length: D }, (_, j) => m2[i * D + j]));
  if (shrink === 'oas') {
    const m = Float32Array.from(m2);
    shrinkInPlace({ data: m, cells: 1, dims: D }, rest.length);
    for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) a[i][j] = m[i * D + j];
  }
  for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) a[i][j] = a[i][j] / divisor + (i === j ? EPS : 0);
  const inv = invert(a);
  const r = Array.from({ length: D }, (_, i) => x[c * D + i] - mean[i]);
  let q = 0;
  for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) q += r[i] * inv[i][j] * r[j];
  return q;
}

async function looDistances(
  g: GaussianArrays,
  embs: Float32Array[],
  linalg: BatchedLinalg,
  kept?: Float64Array,
) {
  const model = { gaussian: g } as PadimModel;
  const grids = await cellDistances(model, linalg, embs, Float32Array.from(g.mean));
  for (const grid of grids) leaveOneOutInPlace(grid, embs.length, kept);
  return grids;
}

describe('leave-one-out calibration distances (rank-one downdate, no refit)', () => {
  const linalg = new BatchedLinalg({ threads: 1 });
  after(() => linalg.dispose());

  it('equal a refit without each image (covariance over N-1) to 1e-4, for every image', async () => {
    const n = 14;
    const embs = embeddings(n, 11);
    const acc = new GaussianAccumulator({ cells: CELLS, dims: D, chunkCells: 2 }, linalg);
    await acc.add(embs);
    const g = await acc.finalise({ eps: EPS, keepComoment: false, inversePrecision: 'float64' });
    const loo = await looDistances(g, embs, linalg);
    let worst = 0;
    for (let h = 0; h < n; h++) {
      const rest = embs.filter((_, j) => j !== h);
      for (let c = 0; c < CELLS; c++) {
        const expected = Math.sqrt(refitDistance(rest, embs[h], c, n - 1));
        worst = Math.max(worst, Math.abs(loo[h][c] - expected) / expected);
        // the unbiased refit (divisor N-2) lies within the stated factor below
        const unbiased = Math.sqrt(refitDistance(rest, embs[h], c, n - 2));
        assert.ok(unbiased <= loo[h][c] * (1 + 1e-4), `image ${h} cell ${c}: N-2 refit above the bound`);
        assert.ok(
          unbiased >= loo[h][c] * Math.sqrt((n - 2) / (n - 1)) * (1 - 1e-4),
          `image ${h} cell ${c}: below`,
        );
      }
    }
    assert.ok(worst < 1e-4, `worst relative difference ${worst}`);
  });

  it('with shrinkage equal a refit that keeps the full fit rho to 1e-4, and a full OAS refit to within 20%', async () => {
    const n = 6; // N - 1 < d/4 is not the trigger here: shrinkage is asked for directly
    const embs = embeddings(n, 12);
    const acc = new GaussianAccumulator({ cells: CELLS, dims: D, chunkCells: 2 }, linalg);
    await acc.add(embs);
    const g = await acc.finalise({
      eps: EPS,
      keepComoment: false,
      shrink: true,
      inversePrecision: 'float64',
    });
    const rho = g.shrinkage as Float64Array;
    const loo = await looDistances(
      g,
      embs,
      linalg,
      rho.map((r) => 1 - r),
    );
    let worstFixed = 0;
    let worstOas = 0;
    for (let h = 0; h < n; h++) {
      const rest = embs.filter((_, j) => j !== h);
      for (let c = 0; c < CELLS; c++) {
        // fixed rho: the full fit's identity target rho tr(M2_full)/d stays, so add it by hand
        const full = fullComomentTrace(embs, c);
        const target = (rho[c] * full) / D / (n - 1);
        const q = refitWithTarget(rest, embs[h], c, n - 1, rho[c], target);
        const expected = Math.sqrt(q);
        worstFixed = Math.max(worstFixed, Math.abs(loo[h][c] - expected) / expected);
        const oas = Math.sqrt(refitDistance(rest, embs[h], c, n - 2, 'oas'));
        worstOas = Math.max(worstOas, Math.abs(loo[h][c] - oas) / oas);
      }
    }
    assert.ok(worstFixed < 1e-4, `fixed-rho worst relative difference ${worstFixed}`);
    // rho and the target re-estimated from N-1 = 5 images move the distances (measured 15%)
    assert.ok(worstOas < 0.2, `OAS refit worst relative difference ${worstOas}`);
  });
});

function fullComomentTrace(embs: Float32Array[], c: number): number {
  let tr = 0;
  for (let i = 0; i < D; i++) {
    let mean = 0;
    for (const e of embs) mean += e[c * D + i] / embs.length;
    for (const e of embs) tr += (e[c * D + i] - mean) ** 2;
  }
  return tr;
}

function refitWithTarget(
  rest: Float32Array[],
  x: Float32Array,
  c: number,
  divisor: number,
  rho: number,
  target: number,
): number {
  const mean = new Array(D).fill(0);
  for (const e of rest) for (let i = 0; i < D; i++) mean[i] += e[c * D + i] / rest.length;
  const a = Array.from({ length: D }, (_, i) =>
    Array.from({ length: D }, (_, j) => (i === j ? EPS + target : 0)),
  );
  for (const e of rest)
    for (let i = 0; i < D; i++)
      for (let j = 0; j < D; j++)
        a[i][j] += ((1 - rho) * (e[c * D + i] - mean[i]) * (e[c * D + j] - mean[j])) / divisor;
  const inv = invert(a);
  const r = Array.from({ length: D }, (_, i) => x[c * D + i] - mean[i]);
  let q = 0;
  for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) q += r[i] * inv[i][j] * r[j];
  return q;
}

describe('leave-one-out image scores of a fit', () => {
  it('lie between the unbiased refit without the image and sqrt((N-1)/(N-2)) above it, for every image', async () => {
    const rng = seededRng(21);
    const n = 6;
    const images: RawImage[] = Array.from({ length: n }, () => {
      const data = new Uint8Array(48 * 48 * 3);
      for (let i = 0; i < data.length; i++) data[i] = 90 + Math.floor(rng() * 70);
      return { data, width: 48, height: 48, channels: 3 };
    });
    const opts = { size: { kind: 'resize', width: 48, height: 48 } as const, threads: 1, dims: 8 };
    for (let h = 0; h < n; h++) {
      // image h last, and only the last one held out: its score is the calibration's one score
      const order = [...images.filter((_, j) => j !== h), images[h]];
      const loo = await fitModel(order, { ...opts, heldOutImages: 1 });
      assert.equal(loo.header.shrinkage, undefined, 'no shrinkage at N-1 >= d/4');
      const [score] = loo.header.calibration?.scores ?? [];
      const refit = await fitModel(order.slice(0, -1), { ...opts, heldOutImages: 0 });
      const scorer = await Scorer.open(refit, { threads: 1 });
      try {
        const [r] = await scorer.scoreBatch([images[h]]);
        const low = score * Math.sqrt((n - 2) / (n - 1));
        assert.ok(
          r.score <= score * (1 + 1e-4) && r.score >= low * (1 - 1e-4),
          `image ${h}: refit ${r.score}, LOO ${score}`,
        );
      } finally {
        await scorer.dispose();
      }
    }
  });
});

/** Gauss-Jordan inverse in float64 (test reference). */
function invert(m: number[][]): number[][] {
  const n = m.length;
  const a = m.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let col = 0; col < n; col++) {
    let p = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r][col]) > Math.abs(a[p][col])) p = r;
    [a[col], a[p]] = [a[p], a[col]];
    const div = a[col][col];
    for (let c = 0; c < 2 * n; c++) a[col][c] /= div;
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = a[r][col];
      for (let c = 0; c < 2 * n; c++) a[r][c] -= f * a[col][c];
    }
  }
  return a.map((row) => row.slice(n));
}
