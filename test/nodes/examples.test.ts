/**
 * The example flows: every file is an importable JSON array whose wires and configuration
 * references resolve, every padim node type appears somewhere, and the first two (train,
 * inspect) run end to end on generated images in a temporary Node-RED user directory.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeSyntheticDataset } from '../../src/synthetic';
import { tempDir } from '../helpers';
import { ALL_NODES, SMALL_MODEL, collect, helper } from './fixtures';
import { NODE_TYPES } from './node-types';
import { EXAMPLES, core, readExample, type FlowNode } from '../support/example-flows';

describe('example flows', function () {
  const files = fs
    .readdirSync(EXAMPLES)
    .filter((f) => f.endsWith('.json'))
    .sort();

  it('eight importable flows, every padim node type used, all references resolved', () => {
    assert.equal(files.length, 8);
    const used = new Set<string>();
    for (const file of files) {
      const flow = readExample(file);
      assert.ok(Array.isArray(flow), `${file} is a JSON array`);
      const ids = new Set(flow.map((n) => n.id));
      assert.equal(ids.size, flow.length, `${file}: unique ids`);
      assert.ok(
        flow.some((n) => n.type === 'tab'),
        `${file}: has its own tab`,
      );
      for (const n of flow) {
        used.add(n.type);
        if (n.z) assert.ok(ids.has(n.z), `${file}: ${n.id} is on a tab of the file`);
        for (const out of n.wires ?? [])
          for (const to of out) assert.ok(ids.has(to), `${file}: ${n.id} -> ${to}`);
        // configuration nodes the file's nodes point at
        const refs: Record<string, string> = {
          'padim-fit': 'model',
          'padim-score': 'model',
          'mqtt out': 'broker',
          'mqtt in': 'broker',
          'OpcUa-Client': 'endpoint',
        };
        const ref = refs[n.type];
        if (ref) assert.ok(ids.has(n[ref] as string), `${file}: ${n.id}.${ref}`);
        // status and complete nodes watch nodes of the file
        for (const watched of (n.scope as string[] | null | undefined) ?? [])
          assert.ok(ids.has(watched), `${file}: ${n.id} watches ${watched}`);
      }
    }
    for (const type of NODE_TYPES) assert.ok(used.has(type), `${type} appears in an example`);
    for (const type of ['mqtt out', 'mqtt in', 'OpcUa-Item', 'OpcUa-Client'])
      assert.ok(used.has(type), `${type} appears`);
  });

  describe('train, then inspect, end to end', function () {
    const userDir = tempDir('padim-examples-');
    const modules = [
      ...ALL_NODES,
      core('common/20-inject.js'),
      core('common/21-debug.js'),
      core('common/90-comment.js'),
      core('function/10-function.js'),
    ];

    before(async () => {
      await writeSyntheticDataset(path.join(userDir, 'padim-demo', 'data'), {
        texture: 'woven',
        width: 64,
        seed: 9,
        trainCount: 10,
        testGoodCount: 3,
        testDefectCount: 2,
        defects: ['scratch', 'spot'],
      });
      helper.settings({ userDir });
    });
    after(() => {
      helper.settings({});
      fs.rmSync(userDir, { recursive: true, force: true });
    });
    afterEach(() => helper.unload());

    /** The example with small model settings for speed, and a helper node after `after`. */
    function prepare(file: string, tap: Record<string, string>, patch: (n: FlowNode) => void = () => {}) {
      const flow = readExample(file);
      for (const n of flow) {
        if (n.type === 'padim-model') Object.assign(n, SMALL_MODEL);
        patch(n);
        for (const [from, helperId] of Object.entries(tap)) if (n.id === from) n.wires![0].push(helperId);
      }
      for (const helperId of Object.values(tap)) flow.push({ id: helperId, type: 'helper', z: flow[0].id });
      return flow;
    }

    it('1: trains on the folder on deploy and writes the model', async () => {
      await helper.load(modules, prepare('1-train-from-a-folder.json', { 'padim.train.fit': 'tap' }));
      const summary = (await collect(helper.getNode('tap'), 1))[0].payload as {
        images: number;
        modelPath: string;
      };
      assert.equal(summary.images, 10);
      assert.equal(summary.modelPath, path.join(userDir, 'padim-demo', 'line1.padim'));
      assert.ok(fs.existsSync(summary.modelPath));
    });

    it('2: inspects the test folder with heatmaps and OK/NG counts', async () => {
      const flow = prepare(
        '2-inspect-a-folder-with-heatmaps.json',
        { 'padim.inspect.count': 'summary', 'padim.inspect.heatmap': 'heatmaps' },
        (n) => {
          if (n.type === 'padim-image-source') n.interval = 0;
        },
      );
      await helper.load(modules, flow);
      const heatmaps = collect(helper.getNode('heatmaps'), 7);
      const summary = (await collect(helper.getNode('summary'), 1))[0].payload as Record<string, number>;
      assert.equal(summary.ok + summary.ng, 7);
      assert.ok(summary.ng >= 2, `some defects found: ${JSON.stringify(summary)}`);
      const images = await heatmaps;
      assert.ok(images.every((m) => Buffer.isBuffer(m.payload)));
    });
  });
});
