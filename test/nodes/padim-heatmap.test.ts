/**
 * padim-heatmap: PNG/JPEG at the original size after padim-score, the output property, the
 * live preview published to the editor and its on/off switch, and errors to Catch.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { ALL_NODES, SMALL_MODEL, collect, fitSmallModel, helper, testData, waitFor } from './fixtures';

type Msg = Record<string, unknown>;

// the runtime's event bus: RED.comms.publish() ends up here (what the editor's websocket sends)
// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtimeEvents = require('@node-red/util').events as import('node:events').EventEmitter;

describe('padim-heatmap node', function () {
  let modelPath: string;
  let defectFile: string;
  const comms: { topic: string; data: unknown }[] = [];
  const onComms = (e: { topic: string; data: unknown }) => {
    if (e.topic.startsWith('padim-heatmap/')) comms.push(e);
  };

  before(async () => {
    const data = await testData();
    modelPath = path.join(data.root, 'heatmap-test.padim');
    const { dataset: ds } = await fitSmallModel(modelPath);
    defectFile = ds.test.find((t) => t.label !== 'good')!.file;
    runtimeEvents.on('comms', onComms);
  });
  after(() => runtimeEvents.off('comms', onComms));
  beforeEach(() => (comms.length = 0));
  afterEach(() => helper.unload());

  const flow = (heatmap: Msg = {}) => [
    { id: 'm1', type: 'padim-model', path: modelPath, ...SMALL_MODEL },
    { id: 's1', type: 'padim-score', model: 'm1', wires: [['t1']] },
    { id: 't1', type: 'padim-threshold', wires: [['h1'], ['h1']] },
    { id: 'h1', type: 'padim-heatmap', wires: [['out']], ...heatmap },
    { id: 'out', type: 'helper' },
    { id: 'c1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ];

  it('renders a PNG at the image size and publishes a small preview to the editor', async () => {
    await helper.load(ALL_NODES, flow({ previewWidth: 32 }));
    const out = collect(helper.getNode('out'), 1);
    helper.getNode('s1').receive({ payload: fs.readFileSync(defectFile) });
    const msg = (await out)[0];
    const meta = await sharp(msg.payload as Buffer).metadata();
    assert.equal(meta.format, 'png');
    assert.equal(meta.width, 64);
    assert.ok((msg.decision as Msg).ok === false, 'the defect image is NG');
    await waitFor(() => comms.length > 0, 5000, 'preview');
    assert.equal(comms[0].topic, 'padim-heatmap/h1');
    const url = comms[0].data as string;
    assert.match(url, /^data:image\/jpeg;base64,/);
    const preview = await sharp(Buffer.from(url.split(',')[1], 'base64')).metadata();
    assert.equal(preview.width, 32);
  });

  it('draws on raw pixels scored by padim-score (a camera driver sending { data, width, height, channels })', async () => {
    await helper.load(ALL_NODES, flow({ preview: false }));
    const out = collect(helper.getNode('out'), 1);
    const { data, info } = await sharp(defectFile).raw().toBuffer({ resolveWithObject: true });
    const floats = Float32Array.from(data, (v) => v / 255);
    helper.getNode('s1').receive({
      payload: { data: floats, width: info.width, height: info.height, channels: info.channels },
    });
    const msg = (await out)[0];
    const meta = await sharp(msg.payload as Buffer).metadata();
    assert.equal(meta.format, 'png');
    assert.equal(meta.width, info.width);
    assert.ok((msg.decision as Msg).ok === false, 'the defect image is NG as raw pixels too');
  });

  it('JPEG to another property keeps msg.payload; the preview can be switched off and on', async () => {
    await helper.load(ALL_NODES, flow({ format: 'jpeg', property: 'heatmap', label: false, preview: false }));
    const out = collect(helper.getNode('out'), 1);
    helper.getNode('s1').receive({ payload: defectFile });
    const msg = (await out)[0];
    assert.equal((await sharp(msg.heatmap as Buffer).metadata()).format, 'jpeg');
    assert.equal(typeof (msg.payload as Msg).score, 'number');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(comms.length, 0, 'preview off: nothing published');

    await helper.request().post('/padim-heatmap/h1/preview/enable').expect(200);
    await helper.request().post('/padim-heatmap/nope/preview/enable').expect(404);
    await helper.request().post('/padim-heatmap/h1/preview/sideways').expect(400);
    const again = collect(helper.getNode('out'), 1);
    helper.getNode('s1').receive({ payload: defectFile });
    await again;
    await waitFor(
      () => comms.some((c) => typeof c.data === 'string' && c.data.startsWith('data:')),
      5000,
      'preview',
    );
    await helper.request().post('/padim-heatmap/h1/preview/disable').expect(200);
    // switching off clears the picture in the editor
    assert.equal(comms.at(-1)?.data, '');
  });

  it('draws a map onto an image given by file name, without padim-score', async () => {
    await helper.load(ALL_NODES, flow());
    const out = collect(helper.getNode('out'), 1);
    const map = { data: new Float32Array(16 * 16).fill(1), width: 16, height: 16 };
    helper
      .getNode('h1')
      .receive({ filename: defectFile, anomalyMap: map, payload: { score: 1, threshold: 0.5 } });
    const meta = await sharp((await out)[0].payload as Buffer).metadata();
    assert.equal(meta.width, 64);
  });

  it('reports a missing anomaly map or image to Catch', async () => {
    await helper.load(ALL_NODES, flow());
    const caught = collect(helper.getNode('caught'), 2);
    helper.getNode('h1').receive({ payload: 1 });
    helper.getNode('h1').receive({ anomalyMap: { data: [1, 2, 3, 4], width: 2, height: 2 } });
    const errors = (await caught).map((m) => String((m.error as Msg).message));
    assert.match(errors[0], /msg.anomalyMap is missing/);
    assert.match(errors[1], /no image to draw on/);
  });
});
