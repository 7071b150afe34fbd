import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BatchedLinalg } from '../src/batched-linalg';
import { heldOutDistances } from '../src/calibration';
import { fitModel } from '../src/fit';
import { GaussianAccumulator } from '../src/gaussian';
import { loadModel, saveModel } from '../src/model-file';
import { gaussianSample, seededRng } from '../src/random';
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
    const acc = new GaussianAccumulator(cells, d, linalg, undefined, 3);
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
    assert.equal(cal.scores.length, 3, 'a quarter of 12 images held out');
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
