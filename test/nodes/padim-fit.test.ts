/**
 * padim-fit: collecting images, fitting on a trigger, a count or the end of a folder run,
 * progress in the status, updating, cancelling, and errors to Catch.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listImageFiles } from '../../src/image/image-files';
import { readModelHeader } from '../../src/model/model-file';
import {
  ALL_NODES,
  SMALL_MODEL,
  collect,
  helper,
  recordStatus,
  testData,
  waitFor,
  type TestData,
} from './fixtures';

type Msg = Record<string, unknown>;
interface Summary {
  action: string;
  images: number;
  nTrain: number;
  seconds: number;
  modelPath: string;
  modelId: string;
  threshold: number;
  falseAlarms?: { rate: number; interval: { low: number; high: number }; images: number; budget?: number };
  warnings: string[];
}

describe('padim-fit node', function () {
  let data: TestData;
  let train: string[];
  let n = 0;
  /** a fresh model file per test */
  let modelPath: string;

  before(async () => {
    data = await testData();
    train = listImageFiles(data.train);
  });
  beforeEach(() => {
    modelPath = path.join(data.root, `fit-test-${++n}.padim`);
  });
  afterEach(() => helper.unload());

  const flow = (fit: Msg = {}) => [
    { id: 'm1', type: 'padim-model', path: modelPath, ...SMALL_MODEL },
    { id: 'f1', type: 'padim-fit', model: 'm1', wires: [['out']], ...fit },
    { id: 'out', type: 'helper' },
    { id: 'c1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ];

  it('collects images from messages and fits on msg.topic "fit", with progress in the status', async () => {
    await helper.load(ALL_NODES, flow({ batchSize: 4 }));
    const f1 = helper.getNode('f1');
    const statuses = recordStatus(f1 as never);
    // paths and Buffers both count
    train.slice(0, 5).forEach((file) => f1.receive({ payload: file }));
    train.slice(5).forEach((file) => f1.receive({ payload: fs.readFileSync(file) }));
    await waitFor(
      () => statuses.some((s) => s.text === 'padim-fit.status.collected 10'),
      5000,
      'collected 10',
    );
    const out = collect(helper.getNode('out'), 1);
    f1.receive({ topic: 'fit' });
    const msg = (await out)[0];
    const summary = msg.payload as Summary;
    assert.equal(msg.topic, 'fit');
    assert.equal(summary.images, 10);
    assert.equal(summary.nTrain, 10);
    assert.equal(summary.modelPath, modelPath);
    assert.ok(summary.threshold > 0 && summary.seconds > 0);
    const header = await readModelHeader(modelPath);
    assert.equal(header.threshold, summary.threshold);
    // 10 held-out images are few for the default 1% budget: said, and warned
    assert.equal(summary.falseAlarms?.images, 10);
    assert.equal(summary.falseAlarms?.budget, 0.01);
    assert.ok(Math.abs((summary.falseAlarms?.rate ?? 0) - 0.01) < 1e-9);
    assert.ok(
      summary.warnings.some((w) => /rests on 10 held-out images/.test(w)),
      summary.warnings.join(' | '),
    );
    const texts = statuses.map((s) => s.text);
    assert.ok(texts.includes('padim-fit.status.embed 4/10'), texts.join(' | '));
    assert.ok(texts.includes('padim-fit.status.embed 10/10'));
    assert.match(texts.at(-1) ?? '', /^padim-fit.status.fitDone 10 · /);
  });

  it('fits when the count is reached, and at the end of a folder run', async () => {
    await helper.load(ALL_NODES, flow({ count: 3 }));
    const out = collect(helper.getNode('out'), 1);
    train.slice(0, 3).forEach((file) => helper.getNode('f1').receive({ payload: file }));
    assert.equal(((await out)[0].payload as Summary).images, 3);
    await helper.unload();

    await helper.load(ALL_NODES, flow({ fitAtEnd: true }));
    const atEnd = collect(helper.getNode('out'), 1);
    train
      .slice(0, 4)
      .forEach((file, index) => helper.getNode('f1').receive({ payload: file, index, count: 4 }));
    assert.equal(((await atEnd)[0].payload as Summary).images, 4);
  });

  it('reads a folder itself (msg.folder overrides) and updates the model with more images', async () => {
    await helper.load(ALL_NODES, flow({ source: 'folder', folder: '/nowhere' }));
    const f1 = helper.getNode('f1');
    const out = collect(helper.getNode('out'), 1);
    f1.receive({ topic: 'fit', folder: data.train });
    const fitted = (await out)[0].payload as Summary;
    assert.equal(fitted.images, 10);
    // images sent to a folder-reading fit node would never be used: refused, not hoarded
    const refused = collect(helper.getNode('caught'), 1);
    f1.receive({ payload: train[0] });
    assert.match(String(((await refused)[0].error as Msg).message), /folderMode/);
    await helper.unload();

    await helper.load(ALL_NODES, flow());
    const updated = collect(helper.getNode('out'), 1);
    train.slice(0, 3).forEach((file) => helper.getNode('f1').receive({ payload: file }));
    helper.getNode('f1').receive({ topic: 'update' });
    const msg = (await updated)[0];
    const summary = msg.payload as Summary;
    assert.equal(msg.topic, 'update');
    assert.equal(summary.images, 3);
    assert.equal(summary.nTrain, 13);
    assert.notEqual(summary.modelId, fitted.modelId);
  });

  it('cancels a running fit: no model written, the images kept for the next try', async () => {
    await helper.load(ALL_NODES, flow({ batchSize: 1 }));
    const f1 = helper.getNode('f1');
    const statuses = recordStatus(f1 as never);
    train.forEach((file) => f1.receive({ payload: file }));
    f1.receive({ topic: 'fit' });
    f1.receive({ topic: 'cancel' });
    await waitFor(() => statuses.find((s) => s.text === 'padim-fit.status.cancelled'), 10_000, 'cancelled');
    assert.equal(fs.existsSync(modelPath), false);
    const out = collect(helper.getNode('out'), 1);
    f1.receive({ topic: 'fit' });
    assert.equal(((await out)[0].payload as Summary).images, 10);
  });

  it('reports too few images, a missing model to update, a busy fitter and bad input to Catch', async () => {
    await helper.load(ALL_NODES, flow());
    const f1 = helper.getNode('f1');
    const caught = collect(helper.getNode('caught'), 4);
    f1.receive({ payload: train[0] });
    f1.receive({ topic: 'fit' });
    f1.receive({ topic: 'update' });
    f1.receive({ payload: { not: 'an image' } });
    train.slice(1).forEach((file) => f1.receive({ payload: file }));
    f1.receive({ topic: 'fit' });
    f1.receive({ topic: 'fit' });
    const messages = (await caught).map((m) => String((m.error as Msg).message));
    assert.ok(
      messages.some((m) => /tooFew 1/.test(m)),
      messages.join(' | '),
    );
    assert.ok(
      messages.some((m) => /noModelToUpdate/.test(m)),
      messages.join(' | '),
    );
    assert.ok(
      messages.some((m) => /must be an image/.test(m)),
      messages.join(' | '),
    );
    assert.ok(
      messages.some((m) => /busy/.test(m)),
      messages.join(' | '),
    );
  });

  it('a bad model configuration is shown on the node and sent to Catch', async () => {
    await helper.load(ALL_NODES, [
      { id: 'm1', type: 'padim-model', path: modelPath, size: 'huge' },
      { id: 'f1', type: 'padim-fit', model: 'm1', wires: [[]] },
      { id: 'c1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]);
    const caught = collect(helper.getNode('caught'), 1);
    helper.getNode('f1').receive({ topic: 'fit' });
    assert.match(
      String(((await caught)[0].error as Msg).message),
      /padim-model.errors.settings: size 'huge' is not a size/,
    );
  });
});
