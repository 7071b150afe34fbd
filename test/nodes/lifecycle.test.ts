/**
 * Redeploying must not leak: 50 deploy/redeploy cycles of a flow with every node type, each
 * cycle loading the model and scoring an image, leave no scoring session, listener or
 * watcher behind, and memory after garbage collection stays within a small bound.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sharedModels } from '../../src/node-support/model-registry';
import { Scorer } from '../../src/padim/scorer';
import {
  ALL_NODES,
  SMALL_MODEL,
  collect,
  fitSmallModel,
  garbageCollector,
  helper,
  testData,
} from './fixtures';

const MB = 1024 * 1024;
const CYCLES = 50;

describe('deploy/redeploy lifecycle', function () {
  let modelPath: string;
  let image: Buffer;
  let watchDir: string;

  before(async () => {
    const data = await testData();
    modelPath = path.join(data.root, 'lifecycle.padim');
    const { dataset: ds } = await fitSmallModel(modelPath);
    image = fs.readFileSync(ds.test[0].file);
    watchDir = path.join(data.root, 'lifecycle-watch');
    fs.mkdirSync(watchDir, { recursive: true });
  });
  afterEach(() => helper.unload());

  const flow = (cycle: number) => [
    { id: 'm1', type: 'padim-model', name: `cycle ${cycle}`, path: modelPath, ...SMALL_MODEL },
    { id: 'src', type: 'padim-image-source', start: 'watch', folder: watchDir, wires: [['s1']] },
    { id: 's1', type: 'padim-score', model: 'm1', wires: [['t1']] },
    { id: 's2', type: 'padim-score', model: 'm1', wires: [[]] },
    { id: 'f1', type: 'padim-fit', model: 'm1', wires: [[]] },
    { id: 't1', type: 'padim-threshold', wires: [['h1'], ['h1']] },
    { id: 'h1', type: 'padim-heatmap', previewWidth: 32, wires: [['a1']] },
    // a redeploy closes the archive (its folder lock) before the new node opens it again
    {
      id: 'a1',
      type: 'padim-archive',
      folder: path.join(watchDir, '..', 'lifecycle-archive'),
      budget: 1,
      wires: [['out']],
    },
    { id: 'out', type: 'helper' },
  ];

  it(`${CYCLES} redeploys leave no session, listener or memory behind`, async function () {
    const gc = garbageCollector();
    const opened = { n: 0 };
    const disposed = { n: 0 };
    const open = Scorer.open;
    const dispose = Scorer.prototype.dispose;
    Scorer.open = async (...args: Parameters<typeof Scorer.open>) => {
      opened.n++;
      return open.apply(Scorer, args);
    };
    Scorer.prototype.dispose = async function (this: Scorer) {
      disposed.n++;
      return dispose.call(this);
    };
    const listenersBefore = sharedModels.events.listenerCount('model');
    const measure = () => {
      gc?.();
      gc?.();
      const m = process.memoryUsage();
      return { heap: m.heapUsed, rss: m.rss };
    };
    const cycle = async (i: number) => {
      if (i === 0) await helper.load(ALL_NODES, flow(i));
      else await helper.setFlows(flow(i), 'full');
      const out = collect(helper.getNode('out'), 1);
      helper.getNode('s1').receive({ payload: image });
      await out;
    };
    try {
      for (let i = 0; i < 5; i++) await cycle(i); // warm up: caches, JIT, allocator pools
      const start = measure();
      for (let i = 5; i < 5 + CYCLES; i++) await cycle(i);
      await helper.unload();
      const end = measure();
      const heapGrowth = (end.heap - start.heap) / MB;
      const rssGrowth = (end.rss - start.rss) / MB;
      console.log(
        `      ${CYCLES} cycles: heap ${(start.heap / MB).toFixed(1)} -> ${(end.heap / MB).toFixed(1)} MB, ` +
          `rss ${(start.rss / MB).toFixed(1)} -> ${(end.rss / MB).toFixed(1)} MB` +
          (gc ? '' : ' (no gc available: generous bounds)'),
      );
      assert.equal(disposed.n, opened.n, 'every scoring session opened was disposed');
      assert.deepEqual(sharedModels.paths, [], 'no model left in the registry');
      assert.equal(sharedModels.events.listenerCount('model'), listenersBefore, 'no listener left');
      assert.ok(heapGrowth < (gc ? 16 : 64), `heap grew ${heapGrowth.toFixed(1)} MB`);
      assert.ok(rssGrowth < (gc ? 128 : 256), `rss grew ${rssGrowth.toFixed(1)} MB`);
    } finally {
      Scorer.open = open;
      Scorer.prototype.dispose = dispose;
    }
  });
});
