import { strict as assert } from 'node:assert';
import { BatchedLinalg } from '../src/linalg/batched-linalg';
import { Embedder, gatherChannels, semiOrthogonalMatrix } from '../src/padim/embedding';
import { seededRng } from '../src/math/random';
import type { FeatureMap } from '../src/types';

function randomStage(channels: number, height: number, width: number, rng: () => number): FeatureMap {
  const data = new Float32Array(channels * height * width);
  for (let i = 0; i < data.length; i++) data[i] = rng() * 4 - 2;
  return { data, channels, height, width };
}

describe('embedding', () => {
  // Three stages like a backbone's: each half the size of the one before, odd sizes included so
  // the nearest-neighbour index arithmetic is exercised where it does not divide evenly.
  const rng = seededRng(3);
  const stages = [randomStage(5, 9, 12, rng), randomStage(7, 5, 6, rng), randomStage(9, 3, 3, rng)];
  const totalChannels = 21;
  const cells = 9 * 12;

  it('gathers channels nearest-upsampled onto the stage-1 grid', () => {
    const out = gatherChannels(stages, [0, 6, 20]); // stage 1 ch 0, stage 2 ch 1, stage 3 ch 8
    // cell (row 8, col 11): stage 2 row floor(8*5/9)=4, col floor(11*6/12)=5; stage 3 row 2, col 2
    const cell = 8 * 12 + 11;
    assert.equal(out[cell * 3 + 0], stages[0].data[0 * 108 + cell]);
    assert.equal(out[cell * 3 + 1], stages[1].data[1 * 30 + 4 * 6 + 5]);
    assert.equal(out[cell * 3 + 2], stages[2].data[8 * 9 + 2 * 3 + 2]);
  });

  it('projects stage by stage to the same embedding as the concatenated features times W', async () => {
    const d = 6;
    const w = semiOrthogonalMatrix({ totalChannels, dims: d }, 11); // [D, d]
    const linalg = new BatchedLinalg({ threads: 1 });
    try {
      const embedder = new Embedder(
        { totalChannels, reduction: { kind: 'semi-orthogonal', seed: 11 }, projection: w },
        linalg,
      );
      const got = await embedder.embed(stages);
      const all = gatherChannels(
        stages,
        Array.from({ length: totalChannels }, (_, i) => i),
      );
      assert.equal(got.length, cells * d);
      let worst = 0;
      for (let c = 0; c < cells; c++) {
        for (let k = 0; k < d; k++) {
          let want = 0;
          for (let i = 0; i < totalChannels; i++) want += all[c * totalChannels + i] * w[i * d + k];
          worst = Math.max(worst, Math.abs(got[c * d + k] - want));
        }
      }
      assert.ok(worst < 1e-5, `largest difference ${worst}`);
      // a second image reuses the split projection
      const again = await embedder.embed(stages);
      assert.deepEqual(again, got);
    } finally {
      await linalg.dispose();
    }
  });

  it('project multiplies X [N, D] by W [D, d] as named, and refuses inner sizes that differ', async () => {
    const linalg = new BatchedLinalg({ threads: 1 });
    try {
      // X [2, 3], W [3, 2]: a swapped pair of sizes would give another shape or the refusal below
      const x = { data: Float32Array.of(1, 2, 3, 4, 5, 6), rows: 2, cols: 3 };
      const w = { data: Float32Array.of(1, 0, 0, 1, 1, 1), rows: 3, cols: 2 };
      assert.deepEqual(Array.from(await linalg.project(x, w)), [4, 5, 10, 11]);
      await assert.rejects(linalg.project(x, { ...w, rows: 2, cols: 3 }), /X has 3 columns but W has 2 rows/);
    } finally {
      await linalg.dispose();
    }
  });
});
