/**
 * Size auto (aspect-preserving input) and the small-training-set guard, with the built-in
 * backbone on generated long, thin, greyscale parts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { mapToOriginal } from '../src/padim/anomaly-map';
import { openBackbone } from '../src/backbone/backbone';
import { oasIntensity, shrinkInPlace } from '../src/padim/covariance-shrinkage';
import { fitModel } from '../src/padim/fit';
import {
  aspectMismatch,
  DEFAULT_MAX_CELLS,
  measureStrides,
  parseSize,
  parseSizeChoice,
  resolveAutoSize,
  SizeSpecError,
} from '../src/input';
import type { PadimModel } from '../src/model/model';
import { loadModel, saveModel } from '../src/model/model-file';
import { seededRng } from '../src/math/random';
import { Scorer } from '../src/padim/scorer';
import { addDefect, generateTexture } from '../src/synthetic';
import type { RawImage } from '../src/types';
import { tempDir } from './helpers';

const STRIDES = { grid: 4, max: 16 };

describe('size auto: arithmetic', function () {
  it('keeps the aspect with the short side given, rounded to the largest stride', function () {
    const landscape = resolveAutoSize([{ width: 1250, height: 500 }], { kind: 'auto', short: 256 }, STRIDES);
    assert.deepEqual(landscape.size, { kind: 'resize', width: 640, height: 256 });
    assert.deepEqual(landscape.warnings, []);
    const portrait = resolveAutoSize([{ width: 500, height: 1250 }], { kind: 'auto', short: 256 }, STRIDES);
    assert.deepEqual(portrait.size, { kind: 'resize', width: 256, height: 640 });
    // 250 -> 256 (16 x 16); 1000/300 * 250 = 833.3 -> 832 (52 x 16)
    const odd = resolveAutoSize([{ width: 1000, height: 300 }], { kind: 'auto', short: 250 }, STRIDES);
    assert.deepEqual(odd.size, { kind: 'resize', width: 832, height: 256 });
    const square = resolveAutoSize([{ width: 900, height: 900 }], { kind: 'auto', short: 256 }, STRIDES);
    assert.deepEqual(square.size, { kind: 'resize', width: 256, height: 256 });
  });

  it('takes the median aspect of mixed training images and says so', function () {
    const sizes = [
      { width: 1000, height: 400 },
      { width: 1000, height: 400 },
      { width: 1000, height: 500 },
    ];
    const r = resolveAutoSize(sizes, { kind: 'auto', short: 256 }, STRIDES);
    assert.equal(r.record.aspect, 2.5);
    assert.deepEqual(r.size, { kind: 'resize', width: 640, height: 256 });
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0], /1 of 3 training images differ in aspect.*median 2\.500/);
  });

  it('caps the grid of very long images by reducing the short side, with a warning', function () {
    const r = resolveAutoSize([{ width: 5000, height: 500 }], { kind: 'auto', short: 256 }, STRIDES);
    const cells = (r.size.width / 4) * (r.size.height / 4);
    assert.ok(cells <= DEFAULT_MAX_CELLS, `${cells} cells`);
    assert.ok(r.size.width / r.size.height > 9.5, 'the aspect is kept');
    assert.match(r.warnings[0], /2560x256 would make 40960 grid cells, more than the cap of 16384/);
    // an aspect no short side can bring under the cap is refused, not made into a size above it
    assert.throws(
      () => resolveAutoSize([{ width: 200000, height: 100 }], { kind: 'auto', short: 256 }, STRIDES),
      /too extreme for size auto.*give an explicit size/,
    );
  });

  it('measures the strides of the built-in backbone (4 for the grid, 16 at most)', async function () {
    const backbone = await openBackbone('builtin:filterbank');
    try {
      assert.deepEqual(await measureStrides(backbone), STRIDES);
    } finally {
      await backbone.dispose();
    }
  });

  it('parses auto, auto:N and explicit sizes; auto is the default', function () {
    assert.deepEqual(parseSizeChoice(''), { kind: 'auto', short: 256 });
    assert.deepEqual(parseSizeChoice(undefined), { kind: 'auto', short: 256 });
    assert.deepEqual(parseSizeChoice(' AUTO:320 '), { kind: 'auto', short: 320 });
    assert.deepEqual(parseSizeChoice('320x256'), { kind: 'resize', width: 320, height: 256 });
    assert.deepEqual(parseSizeChoice('256', '224'), parseSize('256', '224'));
    assert.throws(() => parseSizeChoice('auto', '224'), SizeSpecError);
    assert.throws(() => parseSizeChoice('auto:8'), SizeSpecError);
    assert.throws(() => parseSizeChoice('autox'), SizeSpecError);
  });

  it('flags a scoring image whose aspect differs by more than 2%', function () {
    const record = { short: 256, aspect: 2.5 };
    const size = parseSize('640x256');
    assert.equal(aspectMismatch(record, size, { width: 1255, height: 500 }), undefined);
    assert.match(
      String(aspectMismatch(record, size, { width: 500, height: 500 })),
      /resized to the model's 640x256/,
    );
    assert.equal(
      aspectMismatch(undefined, size, { width: 500, height: 500 }),
      undefined,
      'explicit sizes: no warning',
    );
  });
});

/** A long grey strip (500x200, aspect 2.5) of brushed metal. */
function strip(seed: number): RawImage {
  return generateTexture('brushed', 500, 200, seed, { channels: 1 });
}

/** Paints a dark disc of radius r at (cx, cy) on a copy of a grey image. */
function withDisc(image: RawImage, cx: number, cy: number, r: number): RawImage {
  const data = Uint8Array.from(image.data as Uint8Array);
  for (let y = cy - r; y <= cy + r; y++)
    for (let x = cx - r; x <= cx + r; x++)
      if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) data[y * image.width + x] = 10;
  return { ...image, data };
}

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

describe('size auto: a long image keeps its aspect through fit, score and heatmap', function () {
  const dir = tempDir();
  let model: PadimModel;
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  before(async () => {
    const train = Array.from({ length: 10 }, (_, i) => strip(100 + i));
    model = await fitModel(train, { dims: 20, size: parseSizeChoice('auto:128') });
  });

  it('resolves and stores the size from the training images', function () {
    const h = model.header;
    assert.deepEqual(h.input.size, { kind: 'resize', width: 320, height: 128 });
    assert.deepEqual(h.input.auto, { short: 128, aspect: 2.5 });
    assert.deepEqual(h.grid, { width: 80, height: 32 });
    assert.equal(h.fitWarnings, undefined);
  });

  it('puts the heatmap peak on a defect drawn at a known place, in original coordinates', async function () {
    const scorer = await Scorer.open(model);
    try {
      const [good, bad] = await scorer.scoreBatch([strip(500), withDisc(strip(501), 410, 70, 5)]);
      assert.ok(bad.score > good.score, `defect ${bad.score} > good ${good.score}`);
      assert.equal(bad.warnings, undefined);
      assert.deepEqual([bad.map.width, bad.map.height], [320, 128]);
      const original = mapToOriginal(bad.map, bad.geometry);
      assert.deepEqual([original.width, original.height], [500, 200]);
      const peak = argmax(original.data);
      const [x, y] = [peak % 500, Math.floor(peak / 500)];
      assert.ok(Math.hypot(x - 410, y - 70) <= 10, `peak at (${x}, ${y}), defect at (410, 70)`);
    } finally {
      await scorer.dispose();
    }
  });

  it('warns (result and log, once) when an image of another aspect is scored', async function () {
    const logged: string[] = [];
    const scorer = await Scorer.open(model, { log: (m) => logged.push(m) });
    try {
      const square = generateTexture('brushed', 200, 200, 7, { channels: 1 });
      const results = await scorer.scoreBatch([square, square, strip(9)]);
      assert.match(String(results[0].warnings?.[0]), /200x200.*differs from the model's aspect 2\.500/);
      assert.ok(results[1].warnings);
      assert.equal(results[2].warnings, undefined);
      assert.equal(logged.length, 1);
    } finally {
      await scorer.dispose();
    }
  });

  it('keeps the auto record through save and load; explicit sizes load and score as before', async function () {
    const file = path.join(dir, 'auto.padim');
    await saveModel(file, model);
    assert.deepEqual((await loadModel(file)).header.input.auto, { short: 128, aspect: 2.5 });

    // a model with an explicit size has the header of models fitted before size auto existed
    const explicit = await fitModel([strip(1), strip(2), strip(3), strip(4), strip(5), strip(6)], {
      dims: 5,
      size: parseSize('128x128'),
    });
    const explicitFile = path.join(dir, 'explicit.padim');
    await saveModel(explicitFile, explicit);
    const loaded = await loadModel(explicitFile);
    assert.equal('auto' in loaded.header.input, false);
    const scorer = await Scorer.open(loaded);
    try {
      const [r] = await scorer.scoreBatch([strip(8)]);
      assert.deepEqual([r.map.width, r.map.height], [128, 128], 'squashed as asked');
      assert.equal(r.warnings, undefined, 'an explicit size is the user choice: no warning');
    } finally {
      await scorer.dispose();
    }
  });
});

describe('small training sets: covariance shrinkage', function () {
  it('OAS shrinks a rank-deficient covariance to a well-conditioned one, and barely a well-estimated one', function () {
    const rng = seededRng(3);
    // channel i has standard deviation (i + 1): far from a multiple of the identity
    const sampleComoment = (n: number, d: number) => {
      const xs = Array.from({ length: n }, () =>
        Array.from({ length: d }, (_, i) => (i + 1) * (rng() - 0.5)),
      );
      const mean = Array.from({ length: d }, (_, i) => xs.reduce((s, x) => s + x[i], 0) / n);
      const m = new Float32Array(d * d);
      for (const x of xs)
        for (let i = 0; i < d; i++)
          for (let j = 0; j < d; j++) m[i * d + j] += (x[i] - mean[i]) * (x[j] - mean[j]);
      return m;
    };
    const d = 20;
    const few = sampleComoment(5, d);
    const trace = Array.from({ length: d }, (_, i) => few[i * d + i]).reduce((a, b) => a + b, 0);
    const [rho] = shrinkInPlace({ data: few, cells: 1, dims: d }, 5);
    assert.ok(rho > 0.3 && rho <= 1, `intensity ${rho}`);
    // every direction, including the 15 the 5 images did not span, keeps at least rho tr/d
    for (let k = 0; k < 50; k++) {
      const v = Array.from({ length: d }, () => rng() - 0.5);
      const norm = Math.hypot(...v);
      let q = 0;
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) q += v[i] * few[i * d + j] * v[j];
      assert.ok(q / norm ** 2 >= (rho * trace) / d - 1e-6);
    }
    const many = sampleComoment(2000, 10);
    const [rhoMany] = shrinkInPlace({ data: many, cells: 1, dims: 10 }, 2000);
    assert.ok(rhoMany < 0.05, `intensity with 2000 images ${rhoMany}`);
    assert.equal(
      oasIntensity({ trace: 10, traceOfSquare: 10 }, { dims: 10, images: 5 }),
      1,
      'a multiple of the identity needs no estimate',
    );
  });

  /** Largest / smallest eigenvalue of a symmetric positive definite matrix (power iterations). */
  function conditionNumber(p: Float32Array, d: number): number {
    const power = (apply: (v: Float64Array) => Float64Array) => {
      let v = new Float64Array(d).fill(1);
      let lambda = 0;
      for (let it = 0; it < 500; it++) {
        const w = apply(v);
        lambda = Math.hypot(...w);
        v = w.map((x) => x / lambda);
      }
      return lambda;
    };
    const times = (v: Float64Array) =>
      Float64Array.from({ length: d }, (_, i) => v.reduce((s, x, j) => s + p[i * d + j] * x, 0));
    const max = power(times);
    const shifted = power((v) => {
      const pv = times(v);
      return v.map((x, i) => max * x - pv[i]);
    });
    return max / (max - shifted);
  }

  it('5 images at d=60 (filterbank): warns, stays well-conditioned and still ranks defects above good parts', async function () {
    const image = (seed: number) => generateTexture('woven', 128, 128, seed);
    const train = [1, 2, 3, 4, 5].map(image);
    const logged: string[] = [];
    const shrunk = await fitModel(train, { log: (m) => logged.push(m) });
    const plain = await fitModel(train, { shrinkage: 'off' });
    const h = shrunk.header;
    assert.equal(h.embedding.dims, 60);
    assert.ok(h.shrinkage && h.shrinkage.meanIntensity > 0 && h.shrinkage.meanIntensity <= 1);
    assert.match(String(h.fitWarnings?.[0]), /5 training images are few for d=60/);
    assert.ok(logged.some((m) => /few for d=60/.test(m)));
    assert.equal(plain.header.shrinkage, undefined);

    const d = 60;
    const cell = Math.floor(shrunk.gaussian.cells / 2);
    const chunk = Math.floor(cell / shrunk.gaussian.chunkCells);
    const at = (cell % shrunk.gaussian.chunkCells) * d * d;
    const kShrunk = conditionNumber(shrunk.gaussian.precision[chunk].subarray(at, at + d * d), d);
    const kPlain = conditionNumber(plain.gaussian.precision[chunk].subarray(at, at + d * d), d);
    assert.ok(
      kShrunk * 5 < kPlain,
      `condition number ${kShrunk.toFixed(0)} (shrunk) vs ${kPlain.toFixed(0)} (eps only)`,
    );

    const scorer = await Scorer.open(shrunk);
    try {
      const good = await scorer.scoreBatch([10, 11, 12, 13].map(image));
      const bad = await scorer.scoreBatch([20, 21, 22, 23].map((s) => addDefect(image(s), 'spot', s).image));
      const maxGood = Math.max(...good.map((r) => r.score));
      for (const r of bad) assert.ok(r.score > maxGood, `defect ${r.score} > good max ${maxGood}`);
    } finally {
      await scorer.dispose();
    }
  });
});

describe('size auto and the small-set guard on the command line', function () {
  const dir = tempDir();
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('padim fit resolves auto, warns about few images; padim info shows both', async function () {
    const train = path.join(dir, 'train');
    fs.mkdirSync(train);
    for (let i = 0; i < 6; i++) {
      const img = strip(40 + i);
      await sharp(img.data as Uint8Array, { raw: { width: 500, height: 200, channels: 1 } })
        .png()
        .toFile(path.join(train, `${i}.png`));
    }
    const run = promisify(execFile);
    const cli = path.resolve(__dirname, '../../bin/padim.js');
    const model = path.join(dir, 'strip.padim');
    const fit = await run(process.execPath, [
      cli,
      'fit',
      '--train',
      train,
      '--out',
      model,
      '--size',
      'auto:128',
      '--quiet',
    ]);
    assert.match(fit.stdout, /input size 320x128 \(auto\)/);
    assert.match(fit.stderr, /warning: 6 training images are few for d=60/);
    const info = await run(process.execPath, [cli, 'info', model]);
    assert.match(info.stdout, /input {7}320x128 \(auto: short side 128, aspect 2\.500\)/);
    assert.match(info.stdout, /shrinkage {3}oas, mean intensity/);
    // the stored threshold in false alarms, and the warning that 6 held-out images are few for 1%
    assert.match(fit.stdout, /expected false alarms 1% \(95%: .*\) on 6 held-out images \(budget 1%\)/);
    assert.match(info.stdout, /expected false alarms 1% .* on 6 held-out images/);
    assert.match(info.stderr, /warning: the false-alarm rate 1% rests on 6 held-out images/);
  });
});
