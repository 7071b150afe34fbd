/**
 * padim-score's `reload` topic (how score workers take a new model announced over MQTT): the
 * file at the model's path is loaded again and used for the next images; an announced id that
 * the file does not have, or a file that cannot be loaded, is an error to Catch and the model in
 * use stays.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers';
import { ALL_NODES, SMALL_MODEL, collect, helper } from '../nodes/fixtures';
import { writeSmallModel, type SmallModel } from '../support/example-flows';

type Msg = Record<string, unknown>;

describe('padim-score reload (model updates for workers)', function () {
  let dir: string;
  let model: SmallModel;
  before(async () => {
    dir = tempDir('padim-reload-');
    model = await writeSmallModel(path.join(dir, 'line1.padim'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  afterEach(() => helper.unload());

  it('loads the new file for the next images; a wrong version or a bad file is caught, the old model stays', async () => {
    await helper.load(ALL_NODES, [
      { id: 'm1', type: 'padim-model', path: model.path, ...SMALL_MODEL },
      { id: 's1', type: 'padim-score', model: 'm1', wires: [['out']] },
      { id: 'out', type: 'helper' },
      { id: 'c1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]);
    const s1 = helper.getNode('s1');
    const image = fs.readFileSync(model.good[0]);
    const score = async () => {
      const got = collect(helper.getNode('out'), 1);
      s1.receive({ payload: image });
      return ((await got)[0].padim as { modelId: string }).modelId;
    };
    const first = await score();

    // a new version written to the same path, then announced
    const nextId = (await writeSmallModel(model.path, 5)).id;
    assert.notEqual(nextId, first);
    assert.equal(await score(), first, 'no reload yet: the loaded model is used');

    // announced with another id: an error naming both ids (the test helper does not load the
    // message catalogues, so texts show as their keys here)
    let caught = collect(helper.getNode('caught'), 1);
    s1.receive({ topic: 'reload', payload: { modelId: 'ffffffffffff' } });
    assert.match(
      ((await caught)[0].error as { message: string }).message,
      /ffffffffffff \(.*line1\.padim: [0-9a-f]{12}\)/,
    );

    s1.receive({ topic: 'reload', payload: { modelId: nextId } });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await score(), nextId);

    // a damaged file: caught, and the model in use stays
    fs.writeFileSync(model.path, 'not a model');
    caught = collect(helper.getNode('caught'), 1);
    s1.receive({ topic: 'reload', payload: {} } as Msg);
    assert.match(
      ((await caught)[0].error as { message: string }).message,
      /reloadFailed|could not be reloaded/,
    );
    assert.equal(await score(), nextId);
  });
});
