import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import {
  addDefect,
  DEFECT_KINDS,
  EXTRA_DEFECT_KINDS,
  generateTexture,
  TEXTURE_KINDS,
  writeSyntheticDataset,
  type DefectKind,
} from '../src/synthetic';
import { seededRng } from '../src/math/random';
import type { RawImage } from '../src/types';

const ALL_DEFECTS: DefectKind[] = [...DEFECT_KINDS, ...EXTRA_DEFECT_KINDS];

function bytes(image: RawImage): Uint8Array {
  assert.ok(image.data instanceof Uint8Array);
  return image.data;
}

function countOnes(mask: Uint8Array): number {
  let n = 0;
  for (const v of mask) n += v;
  return n;
}

/** Mean absolute per-pixel change (max over channels) inside and outside the mask. */
function changeInsideOutside(
  a: RawImage,
  b: RawImage,
  mask: Uint8Array,
): { inside: number; outside: number } {
  const da = bytes(a);
  const db = bytes(b);
  let inside = 0;
  let outside = 0;
  for (let i = 0; i < mask.length; i++) {
    let d = 0;
    for (let c = 0; c < a.channels; c++)
      d = Math.max(d, Math.abs(da[i * a.channels + c] - db[i * a.channels + c]));
    if (mask[i]) inside += d;
    else outside += d;
  }
  const n = countOnes(mask);
  return { inside: inside / n, outside: outside / Math.max(1, mask.length - n) };
}

describe('synthetic', () => {
  it('mulberry32 is deterministic and roughly uniform', () => {
    const a = seededRng(42);
    const b = seededRng(42);
    let sum = 0;
    for (let i = 0; i < 10000; i++) {
      const v = a();
      assert.equal(v, b());
      assert.ok(v >= 0 && v < 1);
      sum += v;
    }
    assert.ok(Math.abs(sum / 10000 - 0.5) < 0.02);
  });

  for (const kind of TEXTURE_KINDS) {
    describe(`texture '${kind}'`, () => {
      it('is identical for the same seed and differs for different seeds', () => {
        const a = generateTexture(kind, 96, 64, 7);
        const b = generateTexture(kind, 96, 64, 7);
        const c = generateTexture(kind, 96, 64, 8);
        assert.deepEqual(bytes(a), bytes(b));
        assert.notDeepEqual(bytes(a), bytes(c));
        assert.equal(a.width, 96);
        assert.equal(a.height, 64);
        assert.equal(a.channels, 3);
        assert.equal(a.data.length, 96 * 64 * 3);
      });

      it('has real texture (not flat) and samples of similar overall colour', () => {
        const means = [1, 2, 3].map((seed) => {
          const d = bytes(generateTexture(kind, 128, 128, seed));
          let sum = 0;
          let sq = 0;
          for (const v of d) {
            sum += v;
            sq += v * v;
          }
          const mean = sum / d.length;
          const std = Math.sqrt(sq / d.length - mean * mean);
          assert.ok(std > 8, `std ${std} too small`);
          return mean;
        });
        assert.ok(Math.max(...means) - Math.min(...means) < 20, `means ${means.join(', ')}`);
      });

      it('supports greyscale and non-square sizes', () => {
        const grey = generateTexture(kind, 640, 256, 3, { channels: 1 });
        assert.equal(grey.channels, 1);
        assert.equal(grey.width, 640);
        assert.equal(grey.height, 256);
        assert.equal(grey.data.length, 640 * 256);
        const { image, mask } = addDefect(grey, 'spot', 5);
        assert.equal(image.channels, 1);
        assert.equal(mask.length, 640 * 256);
        assert.ok(countOnes(mask) > 0);
      });
    });
  }

  describe('addDefect', () => {
    for (const kind of TEXTURE_KINDS) {
      for (const defect of ALL_DEFECTS) {
        it(`${defect} on ${kind}: exact non-empty mask, only masked pixels change`, () => {
          for (const seed of [1, 2, 3]) {
            for (const channels of [3, 1] as const) {
              const good = generateTexture(kind, 128, 96, seed, { channels });
              const before = Uint8Array.from(bytes(good));
              const { image, mask } = addDefect(good, defect, seed * 31);
              assert.deepEqual(bytes(good), before, 'input must not be modified');
              assert.equal(mask.length, 128 * 96);
              assert.ok(mask.every((v) => v === 0 || v === 1));
              const n = countOnes(mask);
              assert.ok(n > 0, 'mask is empty');
              assert.ok(n < mask.length * 0.1, `mask covers ${n} pixels: too big`);
              const { inside, outside } = changeInsideOutside(good, image, mask);
              assert.equal(outside, 0, 'pixels outside the mask changed');
              assert.ok(inside >= 12, `mean change inside mask only ${inside}`);
            }
          }
        });
      }
    }

    it('is deterministic per seed', () => {
      const good = generateTexture('woven', 64, 64, 1);
      for (const defect of ALL_DEFECTS) {
        const a = addDefect(good, defect, 9);
        const b = addDefect(good, defect, 9);
        const c = addDefect(good, defect, 10);
        assert.deepEqual(bytes(a.image), bytes(b.image));
        assert.deepEqual(a.mask, b.mask);
        assert.notDeepEqual(a.mask, c.mask);
      }
    });

    it('hairline crack is 1 px wide: no fully masked 2x2 block', () => {
      for (let seed = 0; seed < 20; seed++) {
        const { mask } = addDefect(generateTexture('tiles', 128, 96, seed), 'crack', seed);
        for (let y = 0; y + 1 < 96; y++) {
          for (let x = 0; x + 1 < 128; x++) {
            const i = y * 128 + x;
            assert.ok(
              !(mask[i] && mask[i + 1] && mask[i + 128] && mask[i + 129]),
              `seed ${seed}: 2x2 block at ${x},${y}`,
            );
          }
        }
      }
    });

    it('rejects unknown kinds and non-8-bit data', () => {
      const good = generateTexture('grain', 32, 32, 1);
      assert.throws(() => addDefect(good, 'dent' as DefectKind, 1), /unknown defect/);
      assert.throws(() => generateTexture('plastic' as never, 32, 32, 1), /unknown texture/);
      assert.throws(
        () =>
          addDefect({ data: new Float32Array(32 * 32 * 3), width: 32, height: 32, channels: 3 }, 'spot', 1),
        /8-bit/,
      );
    });
  });

  describe('detectability by a trivial statistic', () => {
    // Per-channel means of 8x8 blocks (which average out texture phase), z-scored against
    // the blocks of good training images; an image's score is the mean of its largest 1%
    // block z-scores. An invisible defect would score like a good image.
    const w = 128;
    const h = 128;
    const block = 8;

    function blockMeans(image: RawImage): Float64Array {
      const d = bytes(image);
      const bw = w / block;
      const out = new Float64Array((w / block) * (h / block) * 3);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const b = (Math.floor(y / block) * bw + Math.floor(x / block)) * 3;
          for (let c = 0; c < 3; c++) out[b + c] += d[(y * w + x) * 3 + c] / (block * block);
        }
      }
      return out;
    }

    const average = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

    for (const kind of TEXTURE_KINDS) {
      it(`defects on '${kind}' stand out from good samples`, () => {
        const train = Array.from({ length: 20 }, (_, i) => blockMeans(generateTexture(kind, w, h, 1000 + i)));
        const n = train[0].length;
        const mean = new Float64Array(n);
        const std = new Float64Array(n);
        for (const t of train) for (let i = 0; i < n; i++) mean[i] += t[i] / train.length;
        for (const t of train) for (let i = 0; i < n; i++) std[i] += (t[i] - mean[i]) ** 2 / train.length;
        for (let i = 0; i < n; i++) std[i] = Math.sqrt(std[i]) + 2;
        const top = Math.max(1, Math.round(n * 0.01));
        const score = (image: RawImage) => {
          const z = Array.from(blockMeans(image), (v, i) => Math.abs(v - mean[i]) / std[i]).sort(
            (a, b) => a - b,
          );
          return average(z.slice(n - top));
        };

        const good = average(
          Array.from({ length: 10 }, (_, i) => score(generateTexture(kind, w, h, 2000 + i))),
        );
        for (const defect of DEFECT_KINDS) {
          const bad = average(
            Array.from({ length: 8 }, (_, i) =>
              score(addDefect(generateTexture(kind, w, h, 3000 + i), defect, 4000 + i).image),
            ),
          );
          assert.ok(bad > good * 1.1, `${defect}: defect ${bad.toFixed(2)} vs good ${good.toFixed(2)}`);
        }
      });
    }
  });

  describe('writeSyntheticDataset', () => {
    let tmp = '';
    beforeEach(() => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'padim-synth-'));
    });
    afterEach(() => {
      fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('writes the MVTec AD layout with the requested counts', async () => {
      const { dir, counts } = await writeSyntheticDataset(tmp, {
        texture: 'tiles',
        width: 96,
        height: 64,
        trainCount: 5,
        testGoodCount: 3,
        testDefectCount: 2,
        seed: 11,
      });
      assert.equal(dir, path.resolve(tmp));
      assert.deepEqual(counts, {
        train: 5,
        testGood: 3,
        testDefect: { scratch: 2, spot: 2, missing: 2, colour: 2 },
        images: 16,
        masks: 8,
      });
      const list = (...p: string[]) => fs.readdirSync(path.join(tmp, ...p)).sort();
      assert.deepEqual(list(), ['ground_truth', 'test', 'train']);
      assert.deepEqual(list('train'), ['good']);
      assert.deepEqual(list('train', 'good'), ['000.png', '001.png', '002.png', '003.png', '004.png']);
      assert.deepEqual(list('test'), ['colour', 'good', 'missing', 'scratch', 'spot']);
      assert.deepEqual(list('test', 'good'), ['000.png', '001.png', '002.png']);
      assert.deepEqual(list('ground_truth'), ['colour', 'missing', 'scratch', 'spot']);
      for (const defect of DEFECT_KINDS) {
        assert.deepEqual(list('test', defect), ['000.png', '001.png']);
        assert.deepEqual(list('ground_truth', defect), ['000_mask.png', '001_mask.png']);
        for (const i of ['000', '001']) {
          const img = await sharp(path.join(tmp, 'test', defect, `${i}.png`))
            .raw()
            .toBuffer({ resolveWithObject: true });
          assert.equal(img.info.width, 96);
          assert.equal(img.info.height, 64);
          assert.equal(img.info.channels, 3);
          const maskFile = path.join(tmp, 'ground_truth', defect, `${i}_mask.png`);
          const meta = await sharp(maskFile).metadata();
          assert.equal(meta.channels, 1);
          assert.equal(meta.depth, 'uchar');
          const mask = await sharp(maskFile).raw().toBuffer({ resolveWithObject: true });
          assert.equal(mask.info.width, 96);
          assert.equal(mask.info.height, 64);
          assert.ok(
            mask.data.every((v) => v === 0 || v === 255),
            'mask values must be 0/255',
          );
          assert.ok(
            mask.data.some((v) => v === 255),
            'mask must not be empty',
          );
        }
      }
    });

    it('reproduces the in-memory images exactly (PNG is lossless) and is seed-stable', async () => {
      const a = path.join(tmp, 'a');
      const b = path.join(tmp, 'b');
      await writeSyntheticDataset(a, {
        texture: 'woven',
        width: 48,
        trainCount: 2,
        testGoodCount: 1,
        testDefectCount: 1,
        seed: 3,
      });
      await writeSyntheticDataset(b, {
        texture: 'woven',
        width: 48,
        trainCount: 2,
        testGoodCount: 1,
        testDefectCount: 1,
        seed: 3,
      });
      for (const f of ['train/good/001.png', 'test/spot/000.png', 'ground_truth/scratch/000_mask.png']) {
        const ra = await sharp(path.join(a, f)).raw().toBuffer();
        const rb = await sharp(path.join(b, f)).raw().toBuffer();
        assert.ok(ra.equals(rb), f);
      }
    });

    it('supports greyscale, non-square, JPEG and a subset of defects', async () => {
      const { counts } = await writeSyntheticDataset(tmp, {
        texture: 'brushed',
        width: 160,
        height: 64,
        trainCount: 2,
        testGoodCount: 1,
        testDefectCount: 2,
        defects: ['crack', 'spot'],
        channels: 1,
        format: 'jpg',
      });
      assert.deepEqual(counts.testDefect, { crack: 2, spot: 2 });
      assert.deepEqual(fs.readdirSync(path.join(tmp, 'test')).sort(), ['crack', 'good', 'spot']);
      const meta = await sharp(path.join(tmp, 'train', 'good', '000.jpg')).metadata();
      assert.equal(meta.format, 'jpeg');
      assert.equal(meta.channels, 1);
      assert.equal(meta.width, 160);
      assert.equal(meta.height, 64);
      const mask = await sharp(path.join(tmp, 'ground_truth', 'crack', '001_mask.png')).metadata();
      assert.equal(mask.format, 'png');
      assert.equal(mask.width, 160);
      assert.equal(mask.height, 64);
    });

    it('writes a default-size data set in a few seconds', async () => {
      const t0 = Date.now();
      const { counts } = await writeSyntheticDataset(tmp, { texture: 'grain', seed: 1 });
      const ms = Date.now() - t0;
      assert.equal(counts.images, 40 + 10 + 4 * 8);
      assert.equal(fs.readdirSync(path.join(tmp, 'train', 'good')).length, 40);
      assert.ok(ms < 10000, `${ms} ms`);
    });
  });
});
