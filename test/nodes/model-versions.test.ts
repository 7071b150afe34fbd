/**
 * Model versions in real Node-RED: the fit node keeps the replaced model on every fit (bounded by
 * its Keep setting), msg.topic "rollback" restores a byte-identical earlier file, and the score
 * node then scores with it (same model id, same score as before the refit).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listImageFiles } from '../../src/image/image-files';
import { readVersions } from '../../src/model/history';
import { sha256File } from '../../src/backbone/registry/store';
import { ALL_NODES, SMALL_MODEL, collect, helper, testData, type TestData } from './fixtures';

type Msg = Record<string, unknown>;

describe('model versions (fit and score nodes)', function () {
  let data: TestData;
  let train: string[];
  let good: string;
  let n = 0;
  let modelPath: string;
  before(async () => {
    data = await testData();
    train = listImageFiles(data.train);
    good = listImageFiles(path.join(data.test, 'good'))[0];
  });
  beforeEach(() => (modelPath = path.join(data.root, `versions-${++n}.padim`)));
  afterEach(() => helper.unload());

  const flow = (keepVersions: number) => [
    { id: 'm1', type: 'padim-model', path: modelPath, ...SMALL_MODEL },
    { id: 'f1', type: 'padim-fit', model: 'm1', keepVersions, wires: [['fitted']] },
    { id: 'fitted', type: 'helper' },
    { id: 's1', type: 'padim-score', model: 'm1', wires: [['scored']] },
    { id: 'scored', type: 'helper' },
    { id: 'c1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ];

  /** Fits on `images` through the fit node; resolves with its summary. */
  async function fit(images: string[], topic = 'fit'): Promise<Msg> {
    const f1 = helper.getNode('f1');
    const out = collect(helper.getNode('fitted'), 1);
    for (const file of images) f1.receive({ payload: file });
    f1.receive({ topic });
    return (await out)[0].payload as Msg;
  }

  async function score(): Promise<{ id: string; score: number }> {
    const out = collect(helper.getNode('scored'), 1);
    helper.getNode('s1').receive({ payload: good });
    const msg = (await out)[0];
    return { id: (msg.padim as Msg).modelId as string, score: (msg.payload as { score: number }).score };
  }

  it('rollback by message restores the earlier file byte for byte, and the score node uses it', async () => {
    await helper.load(ALL_NODES, flow(5));
    const a = await fit(train);
    const aSha = await sha256File(modelPath);
    const scoredA = await score();
    assert.equal(scoredA.id, a.modelId);
    const b = await fit(train.slice(0, 6));
    assert.notEqual(b.modelId, a.modelId);
    const scoredB = await score();
    assert.equal(scoredB.id, b.modelId);
    assert.notEqual(scoredB.score, scoredA.score);
    // the version kept carries the fit's facts
    const [kept] = await readVersions(modelPath);
    assert.equal(kept.id, a.modelId);
    assert.equal(kept.nTrain, 10);
    assert.equal(kept.threshold, a.threshold);

    const out = collect(helper.getNode('fitted'), 1);
    helper.getNode('f1').receive({ topic: 'rollback' });
    const rolled = (await out)[0];
    assert.equal(rolled.topic, 'rollback');
    const summary = rolled.payload as { modelId: string; previousModelId: string; version: { id: string } };
    assert.equal(summary.modelId, a.modelId);
    assert.equal(summary.previousModelId, b.modelId);
    assert.equal(await sha256File(modelPath), aSha, 'byte-identical to the first fit');
    const after = await score();
    assert.equal(after.id, a.modelId, 'the score node swapped to the rolled-back model');
    assert.equal(after.score, scoredA.score);
  });

  it('an update keeps a version too; Keep bounds them; rollback to an id; errors go to Catch', async () => {
    await helper.load(ALL_NODES, flow(2));
    const noHistory = collect(helper.getNode('caught'), 1);
    helper.getNode('f1').receive({ topic: 'rollback' });
    assert.match(
      ((await noHistory)[0].error as { message: string }).message,
      /has no earlier version to roll back to/,
    );
    const a = await fit(train.slice(0, 5));
    await fit(train.slice(5, 7), 'update');
    await fit(train.slice(0, 4));
    const c = await fit(train.slice(0, 3));
    const versions = await readVersions(modelPath);
    assert.equal(versions.length, 2, 'Keep 2');
    assert.ok(!versions.some((v) => v.id === a.modelId), 'the oldest went');
    assert.ok(!versions.some((v) => v.id === c.modelId), 'the current one is not listed');
    const badTarget = collect(helper.getNode('caught'), 1);
    helper.getNode('f1').receive({ topic: 'rollback', payload: { to: '../etc' } });
    assert.match(((await badTarget)[0].error as { message: string }).message, /padim-fit.errors.rollbackTo/);
    const out = collect(helper.getNode('fitted'), 1);
    helper.getNode('f1').receive({ topic: 'rollback', payload: { to: versions[1].id } });
    assert.equal(((await out)[0].payload as { modelId: string }).modelId, versions[1].id);
    assert.equal((await score()).id, versions[1].id);
    assert.ok(fs.existsSync(modelPath));
  });
});
