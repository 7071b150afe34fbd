/**
 * Lifecycle under repetition: 100 full redeploys and 100 configuration changes of a flow with
 * every node type, each scoring an image. Every scoring session opened is disposed, no timer,
 * watcher or other handle is left behind, no promise rejection goes unhandled, and the resident
 * memory after garbage collection stays within RSS_BOUND_MB.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sharedModels } from '../../src/node-support/model-registry';
import { ALL_NODES, SMALL_MODEL, collect, countSessions, garbageCollector, helper } from '../nodes/fixtures';
import { faultModel, unhandledRejectionsDuring } from './fault-kit';

const CYCLES = 100;
const MB = 1024 * 1024;
/**
 * Growth of the resident set over 200 deploys, after garbage collection. Measured +38 to +41 MB
 * on the development machine (allocator pools and JIT code that never go back to the OS); a
 * leaked session (tens of MB of native memory) or image buffers per cycle would pass it quickly.
 */
const RSS_BOUND_MB = 100;

/**
 * Handles the event loop is holding, by kind ('Timeout', 'FSEvent', 'TCPServerWrap', ...), half
 * a second after the last close: closing is asynchronous in places (session disposal), and a
 * timer or watcher still there by then is one that was not stopped.
 */
async function settledResources(): Promise<Map<string, number>> {
  await new Promise((r) => setTimeout(r, 500));
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}

describe('faults: 100 redeploys and 100 configuration changes', function () {
  let modelPath: string;
  let image: Buffer;
  let watchDir: string;

  before(async () => {
    const m = await faultModel();
    modelPath = m.modelPath;
    image = m.good;
    watchDir = path.join(m.data.root, 'faults', 'lifecycle-watch');
    fs.mkdirSync(watchDir, { recursive: true });
  });
  afterEach(() => helper.unload());

  /** The flow; `variant` changes settings of every node (a configuration change). */
  const flow = (variant: number) => [
    { id: 'm1', type: 'padim-model', path: modelPath, ...SMALL_MODEL, threads: String(1 + (variant % 2)) },
    {
      id: 'src',
      type: 'padim-image-source',
      start: 'watch',
      folder: watchDir,
      pattern: variant % 2 ? '*.png' : '',
    },
    { id: 's1', type: 'padim-score', model: 'm1', queueSize: 8 + (variant % 3), wires: [['t1']] },
    { id: 'f1', type: 'padim-fit', model: 'm1', count: variant % 5, wires: [[]] },
    { id: 't1', type: 'padim-threshold', debounce: 1 + (variant % 2), wires: [['h1'], ['h1']] },
    {
      id: 'h1',
      type: 'padim-heatmap',
      previewWidth: 32,
      colormap: variant % 2 ? 'jet' : 'inferno',
      wires: [['out']],
    },
    { id: 'out', type: 'helper' },
  ];

  it(`${CYCLES} full redeploys, then ${CYCLES} changed configurations: nothing left behind`, async function () {
    const gc = garbageCollector();
    const counting = countSessions();
    const sessions = counting.counts;
    const rss = () => {
      gc?.();
      gc?.();
      return process.memoryUsage().rss / MB;
    };
    const listeners = sharedModels.events.listenerCount('model');
    const scoreOne = async () => {
      const out = collect(helper.getNode('out'), 1);
      helper.getNode('s1').receive({ payload: image });
      await out;
    };
    try {
      // warm up: caches, JIT, allocator pools
      await helper.load(ALL_NODES, flow(0));
      for (let i = 0; i < 5; i++) {
        await helper.setFlows(flow(0), 'full');
        await scoreOne();
      }
      await helper.unload();
      const handlesBefore = await settledResources();
      const rssBefore = rss();
      const rejections = await unhandledRejectionsDuring(async () => {
        await helper.load(ALL_NODES, flow(0));
        for (let i = 0; i < CYCLES; i++) {
          await helper.setFlows(flow(0), 'full');
          await scoreOne();
        }
        // only the changed nodes are restarted: every node changes each time
        for (let i = 1; i <= CYCLES; i++) {
          await helper.setFlows(flow(i), 'nodes');
          await scoreOne();
        }
        await helper.unload();
      });
      const handlesAfter = await settledResources();
      const rssGrowth = rss() - rssBefore;
      console.log(
        `      ${2 * CYCLES} deploys: rss ${rssBefore.toFixed(0)} -> ${(rssBefore + rssGrowth).toFixed(0)} MB ` +
          `(${rssGrowth >= 0 ? '+' : ''}${rssGrowth.toFixed(1)}, bound ${RSS_BOUND_MB}); sessions ${sessions.opened} opened, ` +
          `${sessions.disposed} disposed; handles ${JSON.stringify(Object.fromEntries(handlesAfter))}` +
          (gc ? '' : ' (no gc available)'),
      );
      assert.deepEqual(rejections, [], 'no unhandled promise rejection');
      assert.ok(sessions.opened >= 2 * CYCLES, `a session per deploy (${sessions.opened})`);
      assert.equal(sessions.disposed, sessions.opened, 'every scoring session opened was disposed');
      assert.deepEqual(sharedModels.paths, [], 'no model left in the registry');
      assert.equal(sharedModels.events.listenerCount('model'), listeners, 'no listener left');
      for (const [kind, n] of handlesAfter) {
        assert.ok(
          n <= (handlesBefore.get(kind) ?? 0),
          `${kind}: ${n} handles after, ${handlesBefore.get(kind) ?? 0} before`,
        );
      }
      assert.ok(rssGrowth < RSS_BOUND_MB, `rss grew ${rssGrowth.toFixed(1)} MB`);
    } finally {
      counting.restore();
    }
  });
});
