/**
 * The padim-model node's alignment and region settings through real Node-RED: a node saved
 * before them fits as before (no alignment, whole image); with them the fit aligns and fits the
 * regions only, padim-score carries each region's score and padim-heatmap draws the outline;
 * a bad setting or region file reaches Catch with a message that says what to fix.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { listImageFiles } from '../../src/image/image-files';
import { readModelHeader } from '../../src/model/model-file';
import { ALL_NODES, SMALL_MODEL, collect, helper, testData, type TestData } from './fixtures';

type Msg = Record<string, unknown>;

describe('padim-model node: alignment and regions', function () {
  this.timeout(120_000);
  let data: TestData;
  let train: string[];
  let n = 0;
  let modelPath: string;
  let roiFile: string;

  before(async () => {
    data = await testData();
    train = listImageFiles(data.train);
    roiFile = path.join(data.root, 'regions.json');
    // the left 40 of the 64 px training images, less a corner to ignore
    fs.writeFileSync(
      roiFile,
      JSON.stringify({
        width: 64,
        height: 64,
        regions: [
          { name: 'left', rect: [0, 0, 40, 64] },
          { name: 'label', rect: [0, 0, 16, 16], ignore: true },
        ],
      }),
    );
  });
  beforeEach(() => {
    modelPath = path.join(data.root, `regions-test-${++n}.padim`);
  });
  afterEach(() => helper.unload());

  const flow = (model: Msg) => [
    { id: 'm1', type: 'padim-model', path: modelPath, ...SMALL_MODEL, ...model },
    { id: 'f1', type: 'padim-fit', model: 'm1', wires: [['fitted']] },
    { id: 'fitted', type: 'helper' },
    { id: 's1', type: 'padim-score', model: 'm1', wires: [['h1']] },
    { id: 'h1', type: 'padim-heatmap', property: 'heatmap', wires: [['out']] },
    { id: 'out', type: 'helper' },
    { id: 'c1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ];

  async function fit(): Promise<void> {
    const f1 = helper.getNode('f1');
    const done = collect(helper.getNode('fitted'), 1);
    train.forEach((file) => f1.receive({ payload: file }));
    f1.receive({ topic: 'fit' });
    await done;
  }

  it('a node saved before the settings fits as before: no alignment, the whole image', async () => {
    // SMALL_MODEL has neither align nor roi, as a flow saved before them
    await helper.load(ALL_NODES, flow({}));
    await fit();
    const h = await readModelHeader(modelPath);
    assert.equal(h.alignment, undefined);
    assert.equal(h.roi, undefined);
  });

  it('aligns and fits the regions only; results carry region scores and the heatmap their outline', async () => {
    await helper.load(ALL_NODES, flow({ align: 'translate', roi: roiFile }));
    await fit();
    const h = await readModelHeader(modelPath);
    assert.equal(h.alignment?.mode, 'translate');
    assert.ok(h.roi);
    const cells = h.grid.width * h.grid.height;
    assert.ok(
      h.roi.cells.length > 0 && h.roi.cells.length < cells * 0.7,
      `${h.roi.cells.length} of ${cells}`,
    );
    assert.deepEqual(
      h.roi.regions.map((r) => r.name),
      ['left'],
    );
    const out = collect(helper.getNode('out'), 1);
    helper.getNode('s1').receive({ payload: fs.readFileSync(train[0]) });
    const msg = (await out)[0];
    const payload = msg.payload as {
      score: number;
      regions: { name: string; score: number; pixels: number }[];
    };
    assert.equal(payload.regions.length, 1);
    assert.equal(payload.regions[0].name, 'left');
    assert.equal(payload.regions[0].score, payload.score);
    const map = msg.anomalyMap as { data: Float32Array; width: number; regionLabels: Uint8Array };
    // right of x = 40 is outside: zero on the map
    const x = Math.floor(map.width * 0.9);
    assert.equal(map.data[10 * map.width + x], 0);
    assert.equal(map.regionLabels[10 * map.width + x], 0);
    assert.equal(map.regionLabels[40 * map.width + 5], 1, 'inside the left region, below the ignored corner');
    assert.equal(map.regionLabels[5 * map.width + 5], 0, 'the ignored corner');
    // the outline is cyan on the heatmap
    const { data: px, info } = await sharp(msg.heatmap as Buffer)
      .raw()
      .toBuffer({ resolveWithObject: true });
    let cyan = 0;
    for (let i = 0; i < info.width * info.height; i++) {
      const [r, g, b] = [px[i * info.channels], px[i * info.channels + 1], px[i * info.channels + 2]];
      if (r === 0 && g === 255 && b === 255) cyan++;
    }
    assert.ok(cyan > 50, `${cyan} cyan pixels`);
  });

  it('a bad alignment setting, a missing or malformed region file and a region of another size reach Catch', async () => {
    const cases: [Msg, RegExp][] = [
      [{ align: 'sideways' }, /align must be one of off, translate, rigid/],
      [{ roi: path.join(data.root, 'no-such-regions.json') }, /cannot read the region file/],
      [{ roi: writeRoi('bad.json', '{"width": 64, "regions": [') }, /not valid JSON/],
      [
        {
          roi: writeRoi(
            'big.json',
            JSON.stringify({ width: 900, height: 900, regions: [{ rect: [0, 0, 9, 9] }] }),
          ),
        },
        /drawn on a 900x900 image but the reference image is 64x64/,
      ],
      [
        {
          roi: writeRoi(
            'line.json',
            JSON.stringify({
              width: 64,
              height: 64,
              regions: [
                {
                  polygon: [
                    [0, 0],
                    [9, 9],
                  ],
                },
              ],
            }),
          ),
        },
        /a polygon needs at least 3/,
      ],
    ];
    for (const [model, re] of cases) {
      await helper.load(ALL_NODES, flow(model));
      const caught = collect(helper.getNode('caught'), 1);
      const f1 = helper.getNode('f1');
      train.forEach((file) => f1.receive({ payload: file }));
      f1.receive({ topic: 'fit' });
      assert.match(String(((await caught)[0].error as Msg).message), re);
      assert.equal(fs.existsSync(modelPath), false, 'no model written');
      await helper.unload();
    }
  });

  function writeRoi(name: string, text: string): string {
    const file = path.join(data.root, name);
    fs.writeFileSync(file, text);
    return file;
  }
});
