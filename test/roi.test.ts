/**
 * Regions of interest (src/roi/): parsing and the errors a user sees, rasterising through the
 * size protocol, the model-file record (kept, hostile ones refused), and the printed code that
 * changes on every part: ignored inside a region it is not NG, outside it it is.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { fitModel } from '../src/padim/fit';
import { loadModel, saveModel } from '../src/model/model-file';
import {
  decodeRuns,
  encodeRuns,
  insideCells,
  outlineOf,
  parseRoiJson,
  rasterise,
  readRoiFile,
  roiRecordProblem,
  RoiError,
  type RoiSpec,
} from '../src/roi';
import { Scorer } from '../src/padim/scorer';
import { placedPart, type Placement } from '../src/synthetic';
import type { InputGeometry } from '../src/types';
import { tempDir } from './helpers';

const run = promisify(execFile);
const CLI = path.resolve(__dirname, '../../bin/padim.js');
const SIZE = { kind: 'resize', width: 256, height: 256 } as const;
const identity = (w: number, h: number): InputGeometry => ({
  originalWidth: w,
  originalHeight: h,
  left: 0,
  top: 0,
  scaleX: 1,
  scaleY: 1,
});

/** The printed code's rectangle on the part (part pixels; the part is 154 px, placed at 51, 51). */
const CODE = { x: 60, y: 20, width: 50, height: 24 };
const PART_AT = 51;
const STILL: Placement = { dx: 0, dy: 0, angleDeg: 0 };
/**
 * The code's rectangle in image pixels with a margin of 32 px, as a region to ignore: cells just
 * outside a region still see what is inside through the backbone's receptive field (with 12 px
 * the new codes scored 6 to 18 against a threshold of 2.3, peaking on the region's edge).
 */
const MARGIN = 32;
const CODE_REGION: [number, number, number, number] = [
  PART_AT + CODE.x - MARGIN,
  PART_AT + CODE.y - MARGIN,
  CODE.width + 2 * MARGIN,
  CODE.height + 2 * MARGIN,
];
/** A rectangle of the same size elsewhere on the part (below the code), for the control. */
const ELSEWHERE: [number, number, number, number] = [
  CODE_REGION[0],
  PART_AT + 100,
  CODE_REGION[2],
  CODE_REGION[3],
];

const ignoring = (rect: [number, number, number, number]): RoiSpec =>
  parseRoiJson(JSON.stringify({ width: 256, height: 256, regions: [{ name: 'code', rect, ignore: true }] }));

describe('regions of interest', function () {
  this.timeout(600_000);

  it('parses rectangles and polygons, and says what is wrong with a bad file', () => {
    const spec = parseRoiJson(
      JSON.stringify({
        width: 100,
        height: 80,
        regions: [
          { name: 'body', rect: [10, 10, 50, 40] },
          {
            name: 'tab',
            polygon: [
              [70, 10],
              [90, 10],
              [80, 30],
            ],
          },
          { name: 'code', rects: [[20, 20, 10, 10]], ignore: true },
        ],
      }),
    );
    assert.deepEqual(
      spec.regions.map((r) => [r.name, r.ignore, r.shapes?.length]),
      [
        ['body', false, 1],
        ['tab', false, 1],
        ['code', true, 1],
      ],
    );
    const bad = (v: unknown, re: RegExp) =>
      assert.throws(
        () => parseRoiJson(JSON.stringify(v)),
        (e) => e instanceof RoiError && re.test(e.message),
      );
    assert.throws(() => parseRoiJson('{"width": 10,'), /not valid JSON/);
    bad(
      {
        width: 10,
        height: 10,
        regions: [
          {
            name: 'a',
            polygon: [
              [0, 0],
              [5, 5],
            ],
          },
        ],
      },
      /2 points; a polygon needs at least 3/,
    );
    bad({ width: 10, height: 10, regions: [] }, /non-empty list/);
    bad({ width: 10, height: 10, regions: [{ name: 'a' }] }, /no rect.*empty/);
    bad({ width: 0, height: 10, regions: [{ rect: [0, 0, 1, 1] }] }, /width must be a whole number/);
    bad({ width: 10, height: 10, regions: [{ rect: [0, 0, 0, 1] }] }, /no area/);
    bad(
      {
        width: 10,
        height: 10,
        regions: [
          { name: 'a', rect: [0, 0, 1, 1] },
          { name: 'a', rect: [0, 0, 1, 1] },
        ],
      },
      /two regions are named 'a'/,
    );
    bad({ width: 10, height: 10, regions: [{ rect: ['x', 0, 1, 1] }] }, /finite number/);
    bad([1, 2], /JSON object/);
  });

  it('rasterises through the size protocol; a file of another size or an empty region is refused', () => {
    const spec = parseRoiJson(
      JSON.stringify({
        width: 200,
        height: 100,
        regions: [
          { name: 'left', rect: [0, 0, 100, 100] },
          { name: 'hole', rect: [0, 0, 50, 50], ignore: true },
        ],
      }),
    );
    // a 200x100 image squashed to 100x50: scale 2
    const g: InputGeometry = { ...identity(200, 100), scaleX: 2, scaleY: 2 };
    const m = rasterise(spec, g, 100, 50);
    assert.equal(m.regions.length, 1);
    const left = m.regions[0].mask;
    const count = left.reduce((a, b) => a + b, 0);
    // left half (50x50 input pixels) less the ignored quarter (25x25)
    assert.equal(count, 50 * 50 - 25 * 25);
    assert.equal(left[10 * 100 + 10], 0);
    assert.equal(left[40 * 100 + 10], 1);
    assert.equal(left[10 * 100 + 70], 0);
    assert.throws(
      () => rasterise(spec, identity(256, 256), 100, 50),
      /drawn on a 200x100 image but the reference image is 256x256/,
    );
    const outside = parseRoiJson(
      JSON.stringify({ width: 200, height: 100, regions: [{ name: 'far', rect: [500, 500, 10, 10] }] }),
    );
    assert.throws(() => rasterise(outside, g, 100, 50), /region 'far' covers no pixel.*empty/);
    // a 1-pixel region covers no cell centre of a coarse grid
    const tiny = new Uint8Array(100 * 50);
    tiny[0] = 1;
    assert.throws(
      () => insideCells(tiny, 100, 50, { width: 10, height: 5 }),
      /no centre of the 10x5 feature grid/,
    );
  });

  it('reads a mask image and a JSON file; unreadable, all-black and malformed files get clear errors', async () => {
    const dir = tempDir('padim-roi-');
    const grey = new Uint8Array(64 * 32);
    for (let y = 8; y < 24; y++) for (let x = 16; x < 48; x++) grey[y * 64 + x] = 255;
    const maskFile = path.join(dir, 'mask.png');
    await sharp(Buffer.from(grey), { raw: { width: 64, height: 32, channels: 1 } })
      .png()
      .toFile(maskFile);
    const spec = await readRoiFile(maskFile);
    assert.equal(spec.width, 64);
    assert.equal(spec.height, 32);
    assert.equal(
      spec.regions[0].mask?.reduce((a, b) => a + b, 0),
      16 * 32,
    );
    const black = path.join(dir, 'black.png');
    await sharp(Buffer.alloc(64 * 32), { raw: { width: 64, height: 32, channels: 1 } })
      .png()
      .toFile(black);
    await assert.rejects(readRoiFile(black), /all black/);
    await assert.rejects(readRoiFile(path.join(dir, 'missing.json')), /cannot read the region file/);
    fs.writeFileSync(path.join(dir, 'bad.json'), '{"width": 3');
    await assert.rejects(readRoiFile(path.join(dir, 'bad.json')), /not valid JSON/);
    fs.writeFileSync(path.join(dir, 'junk.bin'), Buffer.from('not an image at all'));
    await assert.rejects(readRoiFile(path.join(dir, 'junk.bin')), /neither JSON nor a readable mask image/);
    fs.writeFileSync(
      path.join(dir, 'ok.json'),
      JSON.stringify({ width: 5, height: 5, regions: [{ rect: [0, 0, 2, 2] }] }),
    );
    assert.equal((await readRoiFile(path.join(dir, 'ok.json'))).regions[0].name, 'region1');
  });

  it('run-length codes masks, and refuses hostile records', () => {
    const mask = Uint8Array.from([1, 1, 0, 0, 0, 1, 0, 1]);
    assert.deepEqual(encodeRuns(mask), [0, 2, 3, 1, 1, 1]);
    assert.deepEqual(decodeRuns(encodeRuns(mask), mask.length), mask);
    const input = { width: 4, height: 2 };
    const grid = { width: 2, height: 1 };
    const good = {
      input,
      source: { width: 4, height: 2 },
      regions: [{ name: 'a', runs: [0, 2, 3, 1, 1, 1] }],
      cells: [0, 1],
    };
    assert.equal(roiRecordProblem(good, input, grid), undefined);
    const problems: [unknown, RegExp][] = [
      [null, /must be an object/],
      [{ ...good, input: { width: 8, height: 2 } }, /input size/],
      [{ ...good, regions: [{ name: 'a', runs: [0, 2, 3] }] }, /cover 5 pixels/],
      [{ ...good, regions: [{ name: 'a', runs: [8] }] }, /empty/],
      [{ ...good, regions: [{ name: 'a', runs: [-1, 9] }] }, /whole numbers/],
      [{ ...good, cells: [1, 0] }, /ascending/],
      [{ ...good, cells: [0, 5] }, /ascending/],
      [{ ...good, cells: [] }, /non-empty/],
      [{ ...good, regions: [good.regions[0], good.regions[0]] }, /distinct/],
    ];
    for (const [v, re] of problems) assert.match(roiRecordProblem(v, input, grid) ?? 'accepted', re);
  });

  it('an outline is the edge of the region', () => {
    const data = new Float32Array(5 * 5);
    for (let y = 1; y < 4; y++) for (let x = 1; x < 4; x++) data[y * 5 + x] = 1;
    const edge = outlineOf({ data, width: 5, height: 5 });
    assert.equal(
      edge.reduce((a, b) => a + b, 0),
      8,
    );
    assert.equal(edge[2 * 5 + 2], 0);
  });

  it('padim fit --roi stores the regions and padim score --json reports them; a bad file is a clear error', async () => {
    const dir = tempDir('padim-roi-cli-');
    const train = path.join(dir, 'train');
    fs.mkdirSync(train);
    for (let i = 0; i < 6; i++) {
      const img = placedPart(i, {}, undefined, STILL).image;
      await sharp(Buffer.from(img.data as Uint8Array), { raw: { width: 256, height: 256, channels: 1 } })
        .png()
        .toFile(path.join(train, `${i}.png`));
    }
    const roi = path.join(dir, 'roi.json');
    fs.writeFileSync(
      roi,
      JSON.stringify({ width: 256, height: 256, regions: [{ name: 'part', rect: [51, 51, 154, 154] }] }),
    );
    const model = path.join(dir, 'm.padim');
    const fitArgs = [
      CLI,
      'fit',
      '-q',
      '--train',
      train,
      '--out',
      model,
      '--backbone',
      'builtin:filterbank',
      '--size',
      '256x256',
    ];
    await run(process.execPath, [...fitArgs, '--roi', roi]);
    const scored = await run(process.execPath, [
      CLI,
      'score',
      '--json',
      '--model',
      model,
      path.join(train, '0.png'),
    ]);
    const line = JSON.parse(scored.stdout.trim());
    assert.equal(line.regions[0].name, 'part');
    assert.equal(line.regions[0].score, line.score);
    // the heatmap outlines the region in cyan
    const heatmaps = path.join(dir, 'heatmaps');
    await run(process.execPath, [
      CLI,
      'score',
      '-q',
      '--model',
      model,
      '--heatmaps',
      heatmaps,
      path.join(train, '0.png'),
    ]);
    const { data: px, info } = await sharp(path.join(heatmaps, '0.png'))
      .raw()
      .toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => [
      ...px.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3),
    ];
    assert.deepEqual(at(51, 128), [0, 255, 255], 'the left edge of the region');
    assert.notDeepEqual(at(20, 128), [0, 255, 255], 'outside the region');
    // at scoring: refused for a model with regions; on a plain model the map is masked
    await assert.rejects(
      run(process.execPath, [
        CLI,
        'score',
        '--json',
        '--model',
        model,
        '--roi',
        roi,
        path.join(train, '0.png'),
      ]),
      /fitted with regions of interest; fit it again to change them/,
    );
    const plain = path.join(dir, 'plain.padim');
    await run(process.execPath, [...fitArgs.slice(0, 6), plain, ...fitArgs.slice(7)]);
    const image = path.join(train, '1.png');
    const whole = JSON.parse(
      (await run(process.execPath, [CLI, 'score', '--json', '--model', plain, image])).stdout,
    );
    const masked = JSON.parse(
      (await run(process.execPath, [CLI, 'score', '--json', '--model', plain, '--roi', roi, image])).stdout,
    );
    assert.equal(whole.regions, undefined);
    assert.equal(masked.regions[0].name, 'part');
    assert.ok(masked.score <= whole.score, `${masked.score} <= ${whole.score}`);
    fs.writeFileSync(
      path.join(dir, 'bad.json'),
      '{"width": 256, "height": 256, "regions": [{"rect": [1, 2]}]}',
    );
    await assert.rejects(
      run(process.execPath, [
        ...fitArgs.slice(0, 6),
        path.join(dir, 'bad.padim'),
        ...fitArgs.slice(7),
        '--roi',
        path.join(dir, 'bad.json'),
      ]),
      (err: { code: number; stderr: string }) =>
        err.code === 1 &&
        /padim fit: error: region 'region1' rect must be \[x, y, width, height\]/.test(err.stderr),
    );
    assert.equal(fs.existsSync(path.join(dir, 'bad.padim')), false);
  });

  describe('a printed code that changes on every part', () => {
    const dir = tempDir('padim-roi-code-');
    // the training parts come from one batch (one code); every part after has a new code
    const train = Array.from(
      { length: 24 },
      (_, i) => placedPart(i, { code: CODE, codeSeed: 1 }, undefined, STILL).image,
    );
    const goodNewCodes = Array.from(
      { length: 8 },
      (_, i) => placedPart(900 + i, { code: CODE }, undefined, STILL).image,
    );
    const stained = Array.from(
      { length: 8 },
      (_, i) => placedPart(950 + i, { code: CODE }, 'spot', STILL).image,
    );

    async function fitScore(roi: RoiSpec | undefined, name: string) {
      const model = await fitModel(train, { size: SIZE, roi });
      const file = path.join(dir, `${name}.padim`);
      await saveModel(file, model);
      const loaded = await loadModel(file);
      assert.deepEqual(loaded.header.roi, model.header.roi);
      const scorer = await Scorer.open(loaded);
      try {
        const good = await scorer.scoreMany(goodNewCodes);
        const bad = await scorer.scoreMany(stained);
        return { model: loaded, good, bad };
      } finally {
        await scorer.dispose();
      }
    }

    it('inside an ignored region: not NG; the same change outside it: NG; the Gaussians cover the inside only', async () => {
      const ignored = await fitScore(ignoring(CODE_REGION), 'ignored');
      const elsewhere = await fitScore(ignoring(ELSEWHERE), 'elsewhere');
      const g = ignored.model.header.grid;
      const roi = ignored.model.header.roi;
      assert.ok(roi);
      assert.ok(roi.cells.length < g.width * g.height, 'cells outside the region are not fitted');
      assert.equal(ignored.model.gaussian.cells, roi.cells.length);
      const ngIgnored = ignored.good.filter((r) => r.score > r.threshold).length;
      const ngElsewhere = elsewhere.good.filter((r) => r.score > r.threshold).length;
      const fmt = (rs: { score: number }[]) => rs.map((r) => r.score.toFixed(1)).join(' ');
      console.log(
        `      thresholds ${ignored.model.header.threshold.toFixed(1)} / ${elsewhere.model.header.threshold.toFixed(1)}; good ${fmt(ignored.good)} / ${fmt(elsewhere.good)}`,
      );
      console.log(
        `      new codes NG: ${ngIgnored}/8 with the code ignored, ${ngElsewhere}/8 with the region elsewhere; ` +
          `stains NG: ${ignored.bad.filter((r) => r.score > r.threshold).length}/8`,
      );
      assert.equal(ngIgnored, 0, 'a new code inside the ignored region is not NG');
      assert.equal(ngElsewhere, 8, 'a new code outside the ignored region is NG');
      // the map is zero in the ignored region, and the region's outline comes with the result
      const r = ignored.good[0];
      const [x0, y0] = [PART_AT + CODE.x + 10, PART_AT + CODE.y + 10];
      assert.equal(r.map.data[y0 * r.map.width + x0], 0);
      assert.equal(r.roiMask?.data[y0 * r.map.width + x0], 0);
      assert.equal(r.regions?.[0].name, 'image');
      assert.equal(r.regions?.[0].score, r.score);
      // a consistent file (checksums right) whose record is hostile: the loader's own check refuses it
      const bad = path.join(dir, 'bad.padim');
      const hostile = { ...roi, cells: roi.cells.map((c, i) => (i === 0 ? g.width * g.height + 7 : c)) };
      await saveModel(bad, { ...ignored.model, header: { ...ignored.model.header, roi: hostile } });
      await assert.rejects(loadModel(bad), /corrupt: roi cells must be ascending grid cell indices/);
      const wrongSize = { ...roi, input: { width: 128, height: 128 } };
      await saveModel(bad, { ...ignored.model, header: { ...ignored.model.header, roi: wrongSize } });
      await assert.rejects(loadModel(bad), /roi masks are not at the model's 256x256 input size/);
    });
  });
});
