/**
 * padim-archive in real Node-RED: example 7 (score, threshold, heatmap, archive) run on the
 * generated test images writes one record per image with the model id and, for NG parts, the
 * image and heatmap; bad messages and paths go to Catch; bad settings refuse inputs.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findDecisions, scanArchive, treeBytes, type ArchiveRecord } from '../../src/archive';
import { listImageFiles } from '../../src/image/image-files';
import { tempDir } from '../helpers';
import { core, patchedExample, writeSmallModel, type SmallModel } from '../support/example-flows';
import { testDecision } from '../archive/records';
import { ALL_NODES, collect, helper, testData, type TestData } from './fixtures';

type Msg = Record<string, unknown>;

describe('padim-archive node', function () {
  let data: TestData;
  let root: string;
  let model: SmallModel;
  let n = 0;
  let folder: string;
  const modules = [
    ...ALL_NODES,
    core('common/20-inject.js'),
    core('common/21-debug.js'),
    core('common/90-comment.js'),
  ];

  before(async () => {
    data = await testData();
    root = tempDir('padim-archive-node-');
    model = await writeSmallModel(path.join(root, 'line1.padim'));
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  beforeEach(() => (folder = path.join(root, `archive-${++n}`)));
  afterEach(async () => {
    await helper.unload();
    helper.settings({});
  });

  const withCatch = (flow: Msg[]) => [
    ...flow,
    { id: 'c1', type: 'catch', z: flow[0].z, scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: flow[0].z },
  ];

  it('example 7: every image archived with its model id; NG parts keep image and heatmap', async () => {
    const flow = patchedExample('7-keep-every-decision.json', (node) => {
      if (node.type === 'padim-image-source') Object.assign(node, { folder: data.test, interval: 0 });
      if (node.type === 'padim-model') node.path = model.path;
      if (node.type === 'padim-archive') node.folder = folder;
      if (node.id === 'padim.archive.archive') node.wires![0].push('tap');
    });
    flow.push({ id: 'tap', type: 'helper', z: flow[0].id });
    await helper.load(modules, flow);
    const images = listImageFiles(data.test, { recursive: true });
    const out = collect(helper.getNode('tap'), images.length);
    helper.getNode('padim.archive.start').receive({ payload: Date.now() });
    const msgs = await out;
    const records: ArchiveRecord[] = [];
    await scanArchive(folder, (r) => records.push(r));
    assert.equal(records.length, images.length);
    assert.deepEqual(records.map((r) => r.result.image).sort(), [...images].sort());
    assert.ok(records.every((r) => r.result.modelId === model.id));
    const ng = records.filter((r) => r.result.decision === 'NG');
    assert.ok(ng.length >= 2, `${ng.length} NG parts`);
    for (const r of records) {
      const keep = r.result.decision === 'NG';
      assert.equal(Boolean(r.files.image), keep);
      assert.equal(Boolean(r.files.heatmap), keep);
    }
    // the stored image is the scored file, byte for byte; the heatmap a PNG
    const { found } = await findDecisions(folder, path.basename(ng[0].result.image!));
    const mine = found.find((f) => f.result.image === ng[0].result.image)!;
    assert.deepEqual(fs.readFileSync(mine.paths.image!), fs.readFileSync(ng[0].result.image!));
    assert.equal(fs.readFileSync(mine.paths.heatmap!).subarray(1, 4).toString(), 'PNG');
    assert.deepEqual(
      (msgs[0].archived as ArchiveRecord).result,
      records.find((r) => r.result.image === msgs[0].filename)!.result,
    );
  });

  it('keeps the folder within a small budget across messages', async () => {
    await helper.load(modules, [
      { id: 't', type: 'tab' },
      { id: 'a1', type: 'padim-archive', z: 't', folder, budget: 0.05, files: 'all', wires: [['out']] },
      { id: 'out', type: 'helper', z: 't' },
    ]);
    const a1 = helper.getNode('a1');
    for (let i = 0; i < 200; i += 50) {
      const out = collect(helper.getNode('out'), 50);
      for (let j = i; j < i + 50; j++) {
        const d = testDecision(j);
        a1.receive({
          result: d.result,
          image: d.files[0]?.data ?? testDecision(0).files[0].data,
          payload: d.files[1]?.data,
        });
      }
      await out;
      assert.ok((await treeBytes(folder)) <= 50_000, `${await treeBytes(folder)} bytes`);
    }
  });

  it('errors go to Catch: no msg.result, an image path outside padimAllowedPaths', async () => {
    helper.settings({ padimAllowedPaths: [root] });
    await helper.load(
      modules,
      withCatch([
        { id: 'a1', type: 'padim-archive', z: 't', folder, budget: 10, files: 'all', wires: [['out']] },
        { id: 'out', type: 'helper', z: 't' },
      ]).concat({ id: 't', type: 'tab' }),
    );
    const caught = collect(helper.getNode('caught'), 2);
    const a1 = helper.getNode('a1');
    a1.receive({ payload: 1 });
    a1.receive({ result: testDecision(0).result, image: '/etc/passwd' });
    const errors = (await caught).map((m) => (m.error as { message: string }).message);
    assert.match(errors[0], /msg.result is missing/);
    assert.match(errors[1], /outside the directories allowed by padimAllowedPaths/);
    const records: ArchiveRecord[] = [];
    await scanArchive(folder, (r) => records.push(r));
    assert.equal(records.length, 0, 'nothing half-written');
  });

  it('refuses inputs when the folder is missing or outside padimAllowedPaths, or the budget is not a number', async () => {
    helper.settings({ padimAllowedPaths: [root] });
    await helper.load(
      modules,
      withCatch([
        { id: 'a1', type: 'padim-archive', z: 't', folder: '', wires: [[]] },
        { id: 'a2', type: 'padim-archive', z: 't', folder: '/var/padim-archive', wires: [[]] },
        { id: 'a3', type: 'padim-archive', z: 't', folder, budget: '1O0', wires: [[]] },
      ]).concat({ id: 't', type: 'tab' }),
    );
    const caught = collect(helper.getNode('caught'), 3);
    helper.getNode('a1').receive({ result: testDecision(0).result });
    helper.getNode('a2').receive({ result: testDecision(0).result });
    helper.getNode('a3').receive({ result: testDecision(0).result });
    const errors = (await caught).map((m) => (m.error as { message: string }).message).sort();
    assert.match(errors.join('\n'), /padim-archive.errors.noFolder/);
    assert.match(errors.join('\n'), /archive folder \/var\/padim-archive is outside/);
    assert.match(errors.join('\n'), /padim-archive.errors.budget: 1O0/);
    assert.ok(!fs.existsSync('/var/padim-archive'));
  });
});
