import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BatchedLinalg } from '../src/linalg/batched-linalg';
import { writeGeneratedBackbone } from '../src/bench/generated-backbone';
import { fitModel } from '../src/padim/fit';
import { DeviceHead, groupChunks, headChoice, openDeviceHead, type HeadArrangement } from '../src/head';
import type { GaussianArrays, PadimModel } from '../src/model/model';
import { seededRng, gaussianSample } from '../src/math/random';
import { cellDistances } from '../src/padim/distance';
import { Scorer, type ScoreResult } from '../src/padim/scorer';
import type { RawImage } from '../src/types';
import { tempDir } from './helpers';

/** Symmetric positive definite inverse covariances and means around 0, chunked by `chunkCells`. */
function randomGaussian(cells: number, d: number, chunkCells: number, seed: number): GaussianArrays {
  const rng = seededRng(seed);
  const precision: Float32Array[] = [];
  for (let first = 0; first < cells; first += chunkCells) {
    const n = Math.min(chunkCells, cells - first);
    const p = new Float32Array(n * d * d);
    for (let c = 0; c < n; c++) {
      for (let i = 0; i < d; i++) {
        for (let j = 0; j <= i; j++) {
          const v = i === j ? 1 + rng() : 0.02 * gaussianSample(rng);
          p[c * d * d + i * d + j] = v;
          p[c * d * d + j * d + i] = v;
        }
      }
    }
    precision.push(p);
  }
  const mean = Float64Array.from({ length: cells * d }, () => gaussianSample(rng));
  return { cells, dims: d, chunkCells, mean, precision };
}

function embeddings(count: number, cells: number, d: number, seed: number): Float32Array[] {
  const rng = seededRng(seed);
  return Array.from({ length: count }, () =>
    Float32Array.from({ length: cells * d }, () => 2 * gaussianSample(rng)),
  );
}

/** Largest |a - b| / |b| over every value (b: the streaming head's). */
function maxRelative(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  for (let j = 0; j < b.length; j++) {
    assert.equal(a[j].length, b[j].length);
    for (let i = 0; i < b[j].length; i++)
      worst = Math.max(worst, Math.abs(a[j][i] - b[j][i]) / Math.abs(b[j][i]));
  }
  return worst;
}

/** The same model with its inverse covariances split into chunks of `chunkCells` (a copy). */
function rechunked(model: PadimModel, chunkCells: number): PadimModel {
  const g = model.gaussian;
  const d = g.dims;
  const all = new Float32Array(g.cells * d * d);
  let offset = 0;
  for (const p of g.precision) {
    all.set(p, offset);
    offset += p.length;
  }
  const precision: Float32Array[] = [];
  for (let first = 0; first < g.cells; first += chunkCells)
    precision.push(all.slice(first * d * d, Math.min(g.cells, first + chunkCells) * d * d));
  return { ...model, gaussian: { ...g, chunkCells, precision, comoment: undefined } };
}

function images(count: number, seed: number): RawImage[] {
  const rng = seededRng(seed);
  return Array.from({ length: count }, () => {
    const data = new Uint8Array(64 * 64 * 3);
    for (let i = 0; i < data.length; i++) data[i] = 90 + Math.floor(rng() * 80);
    return { data, width: 64, height: 64, channels: 3 };
  });
}

function assertSameScores(got: ScoreResult[], want: ScoreResult[]): void {
  assert.equal(got.length, want.length);
  for (let k = 0; k < want.length; k++) {
    const rel = Math.abs(got[k].score - want[k].score) / want[k].score;
    assert.ok(rel <= 1e-4, `image ${k}: score ${got[k].score} vs ${want[k].score} (relative ${rel})`);
    assert.ok(maxRelative([got[k].grid.data], [want[k].grid.data]) <= 1e-4, `image ${k}: grid`);
  }
}

describe('device head (inverse covariances held by the execution provider)', function () {
  this.timeout(300000);

  it('equals the streaming head within 1e-4 relative on the CPU provider: d=100, one image and batches, across chunk and session boundaries', async () => {
    const d = 100;
    // 50 cells in chunks of 7 (the last holds 1); two chunks per session: 4 sessions
    const g = randomGaussian(50, d, 7, 3);
    const meanF32 = Float32Array.from(g.mean);
    const linalg = new BatchedLinalg({ threads: 1 });
    const chunkBytes = 7 * d * d * 4 + 7 * d * 4;
    try {
      for (const arrangement of ['precision-left', 'precision-right'] as HeadArrangement[]) {
        const head = await DeviceHead.build(g, meanF32, {
          provider: 'cpu',
          threads: 1,
          arrangement,
          groupBytes: 2 * chunkBytes,
        });
        try {
          assert.equal(head.sessionCount, 4);
          for (const b of [1, 3, 8]) {
            const emb = embeddings(b, g.cells, d, 10 + b);
            const want = await cellDistances({ gaussian: g } as PadimModel, linalg, emb, meanF32);
            const got = await head.distances(emb);
            const rel = maxRelative(got, want);
            assert.ok(rel <= 1e-4, `${arrangement}, batch ${b}: relative difference ${rel}`);
            assert.ok(
              got.every((grid) => grid.every((v) => v > 0)),
              'every cell has a distance',
            );
          }
        } finally {
          await head.dispose();
        }
      }
    } finally {
      await linalg.dispose();
    }
  });

  it('refuses an embedding of the wrong size and use after dispose', async () => {
    const g = randomGaussian(10, 4, 3, 5);
    const head = await DeviceHead.build(g, Float32Array.from(g.mean), { provider: 'cpu', threads: 1 });
    await assert.rejects(head.distances([new Float32Array(39)]), /39 values, expected 10 x 4/);
    await head.dispose();
    await head.dispose();
    await assert.rejects(head.distances(embeddings(1, 10, 4, 1)), /disposed/);
  });

  it('groups consecutive chunks up to the byte limit', () => {
    assert.deepEqual(groupChunks([5, 5, 5, 20, 1], 10), [[0, 1], [2], [3], [4]]);
    assert.deepEqual(groupChunks([], 10), []);
  });

  describe('in the scorer', function () {
    let dir: string;
    let model: PadimModel;
    let cpuScores: ScoreResult[];
    const test = images(4, 99);

    before(async function () {
      dir = tempDir('padim-device-head-');
      // D = 224 channels (R18-like widths are 64/128/256; halved here to keep the test fast), d = 100
      const backbone = writeGeneratedBackbone(path.join(dir, 'generated.onnx'), {
        widths: [32, 64, 128],
        stem: 16,
      });
      const fitted = await fitModel(images(12, 7), {
        backbone,
        dims: 100,
        size: { kind: 'resize', width: 64, height: 64 },
        threads: 1,
        heldOutImages: 0,
      });
      // 256 cells in chunks of 37: the last chunk holds 34
      model = rechunked(fitted, 37);
      const cpu = await Scorer.open(model, { threads: 1, head: 'stream' });
      try {
        assert.equal(cpu.deviceHead, undefined);
        cpuScores = await cpu.scoreBatch(test);
      } finally {
        await cpu.dispose();
      }
    });

    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('scores images as the streaming head does, batched and one at a time (head: device on the CPU)', async () => {
      const scorer = await Scorer.open(model, { threads: 1, head: 'device' });
      try {
        assert.ok(scorer.deviceHead, 'the device head is used');
        assert.equal(scorer.deviceHead.provider, 'cpu');
        assertSameScores(await scorer.scoreBatch(test), cpuScores);
        assertSameScores(await scorer.scoreBatch(test.slice(2, 3)), cpuScores.slice(2, 3));
      } finally {
        await scorer.dispose();
      }
    });

    it('streams on the CPU by default (auto)', async () => {
      const scorer = await Scorer.open(model, { threads: 1 });
      try {
        assert.equal(scorer.deviceHead, undefined);
      } finally {
        await scorer.dispose();
      }
    });

    it('a webgpu request on a machine without a GPU falls back with one warning and the same scores', async () => {
      const warnings: string[] = [];
      const scorer = await Scorer.open(model, {
        threads: 1,
        provider: 'webgpu',
        log: (m) => warnings.push(m),
      });
      try {
        if (scorer.backbone.provider === 'webgpu') {
          // a machine with a GPU: the device head holds the model there, same numbers
          console.log('      webgpu started: checking the device head on the GPU');
          assert.equal(warnings.length, 0, warnings.join('\n'));
          assert.equal(scorer.deviceHead?.provider, 'webgpu');
        } else {
          assert.equal(scorer.backbone.provider, 'cpu');
          assert.equal(warnings.length, 1, warnings.join('\n'));
          assert.match(warnings[0], /'webgpu' could not start.*using cpu instead/);
          assert.equal(scorer.deviceHead, undefined, 'the cpu fallback streams');
        }
        assertSameScores(await scorer.scoreBatch(test), cpuScores);
      } finally {
        await scorer.dispose();
      }
    });
    it('a model fitted with compact (int8) storage keeps streaming under head: device, with one warning', async () => {
      const fitted = await fitModel(images(12, 7), {
        backbone: path.join(dir, 'generated.onnx'),
        dims: 100,
        size: { kind: 'resize', width: 64, height: 64 },
        threads: 1,
        heldOutImages: 0,
        precisionStorage: 'int8',
      });
      assert.ok(fitted.gaussian.factor, 'the fit kept a compact factor');
      const stream = await Scorer.open(fitted, { threads: 1, head: 'stream' });
      const warnings: string[] = [];
      const device = await Scorer.open(fitted, { threads: 1, head: 'device', log: (m) => warnings.push(m) });
      try {
        assert.equal(device.deviceHead, undefined);
        assert.equal(warnings.length, 1, warnings.join('\n'));
        assert.match(warnings[0], /compact/);
        assertSameScores(await device.scoreBatch(test), await stream.scoreBatch(test));
      } finally {
        await stream.dispose();
        await device.dispose();
      }
    });
  });

  describe('choice', () => {
    it('PADIM_HEAD picks the head when the option does not; an unknown name is a clear error', () => {
      assert.equal(headChoice(undefined, undefined), 'auto');
      assert.equal(headChoice(undefined, 'device'), 'device');
      assert.equal(headChoice('stream', 'device'), 'stream');
      assert.throws(() => headChoice(undefined, 'gpu'), /unknown distance head 'gpu' \(from PADIM_HEAD\)/);
    });

    it('a compact (not float32) model falls back to streaming with one warning; strict refuses', async () => {
      const g = randomGaussian(6, 4, 3, 1);
      const compact = {
        ...g,
        precision: g.precision.map((p) => new Uint16Array(p.length)),
      } as unknown as GaussianArrays;
      const warnings: string[] = [];
      const mean = Float32Array.from(g.mean);
      const head = await openDeviceHead(compact, mean, 'webgpu', { log: (m) => warnings.push(m) });
      assert.equal(head, undefined);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /distance head on webgpu: .*compact.*streaming/);
      await assert.rejects(openDeviceHead(compact, mean, 'cuda', { strict: true }), /compact/);
      // on the CPU with the default choice, no device head and no warning
      assert.equal(await openDeviceHead(g, mean, 'cpu', { log: () => assert.fail('no warning') }), undefined);
    });
  });
});
