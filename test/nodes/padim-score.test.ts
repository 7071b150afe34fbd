/**
 * padim-score and padim-model: messages in and out, status, errors to Catch, one shared model
 * per file, hot swap after a fit, and the queue policies under a burst of images.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { fitModel } from '../../src/padim/fit';
import { parseSizeChoice } from '../../src/input';
import { saveModel } from '../../src/model/model-file';
import { generateTexture } from '../../src/synthetic';
import {
  ALL_NODES,
  SMALL_MODEL,
  collect,
  countSessions,
  fitSmallModel,
  helper,
  recordStatus,
  testData,
  waitFor,
  type TestData,
} from './fixtures';

type Msg = Record<string, unknown>;

describe('padim-score node', function () {
  let data: TestData;
  let modelPath: string;
  let good: Buffer;
  let defect: Buffer;

  before(async () => {
    data = await testData();
    modelPath = path.join(data.root, 'score-test.padim');
    const { dataset: ds } = await fitSmallModel(modelPath);
    good = fs.readFileSync(ds.test.find((t) => t.label === 'good')!.file);
    defect = fs.readFileSync(ds.test.find((t) => t.label !== 'good')!.file);
  });

  afterEach(() => helper.unload());

  const flow = (score: Msg = {}, extra: Msg[] = []) => [
    { id: 'm1', type: 'padim-model', path: modelPath, ...SMALL_MODEL },
    { id: 's1', type: 'padim-score', model: 'm1', wires: [['out']], ...score },
    { id: 'out', type: 'helper' },
    { id: 'c1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
    ...extra,
  ];

  it('scores an image: score, normalised score, threshold, anomaly map, timings', async () => {
    await helper.load(ALL_NODES, flow());
    const s1 = helper.getNode('s1');
    const statuses = recordStatus(s1 as never);
    const got = collect(helper.getNode('out'), 2);
    s1.receive({ payload: good, filename: 'good.png' });
    s1.receive({ payload: defect });
    const [g, d] = await got;
    const pg = g.payload as { score: number; normalizedScore: number; threshold: number };
    const pd = d.payload as typeof pg;
    assert.deepEqual(Object.keys(pg).sort(), ['normalizedScore', 'score', 'threshold']);
    assert.ok(pg.score > 0 && pg.threshold > 0);
    assert.ok(Math.abs(pg.normalizedScore - pg.score / pg.threshold) < 1e-9);
    assert.ok(pd.score > pg.score, `defect ${pd.score} should score above good ${pg.score}`);
    const map = g.anomalyMap as { data: Float32Array; width: number; height: number };
    assert.ok(map.data instanceof Float32Array);
    assert.equal(map.width * map.height, map.data.length);
    assert.equal(map.width, 64);
    assert.equal(g.filename, 'good.png');
    assert.ok(Buffer.isBuffer(g.image), 'the image stays with the message for the heatmap');
    const padim = g.padim as { modelId: string; modelPath: string; timings: { totalMs: number } };
    assert.match(padim.modelId, /^[0-9a-f]{12}$/);
    assert.equal(padim.modelPath, modelPath);
    assert.ok(padim.timings.totalMs > 0);
    await waitFor(
      () => statuses.some((s) => /ms/.test(s.text ?? '') && s.shape === 'dot'),
      5000,
      'score status',
    );
  });

  it('reports bad input and undecodable images to Catch; the other images go on', async () => {
    await helper.load(ALL_NODES, flow({ batchSize: 4 }));
    const s1 = helper.getNode('s1');
    const caught = collect(helper.getNode('caught'), 2);
    const out = collect(helper.getNode('out'), 2);
    const broken = Buffer.concat([good.subarray(0, 40), Buffer.alloc(100)]);
    s1.receive({ payload: 42 });
    s1.receive({ payload: good, n: 1 });
    s1.receive({ payload: broken, n: 2 });
    s1.receive({ payload: defect, n: 3 });
    const errors = await caught;
    assert.match(String((errors[0].error as Msg).message), /msg.payload must be an image/);
    assert.equal(errors[1].n, 2);
    assert.deepEqual(
      (await out).map((m) => m.n),
      [1, 3],
    );
  });

  it('one loaded model for every node on the same file, released when they stop', async () => {
    const sessions = countSessions();
    try {
      await helper.load(
        ALL_NODES,
        flow({}, [
          { id: 's2', type: 'padim-score', model: 'm1', wires: [['out']] },
          // a second configuration naming the same file shares the same model too
          { id: 'm2', type: 'padim-model', path: modelPath, ...SMALL_MODEL },
          { id: 's3', type: 'padim-score', model: 'm2', wires: [['out']] },
        ]),
      );
      const got = collect(helper.getNode('out'), 3);
      for (const id of ['s1', 's2', 's3']) helper.getNode(id).receive({ payload: good });
      const ids = new Set((await got).map((m) => (m.padim as Msg).modelId));
      assert.equal(ids.size, 1);
      assert.equal(sessions.counts.opened, 1);
      await helper.unload();
      assert.equal(sessions.counts.disposed, 1);
    } finally {
      sessions.restore();
    }
  });

  it('switches to the new model when a fit finishes, without a redeploy', async () => {
    const sessions = countSessions();
    try {
      await helper.load(
        ALL_NODES,
        flow({}, [
          {
            id: 'f1',
            type: 'padim-fit',
            model: 'm1',
            source: 'folder',
            folder: data.train,
            wires: [['fitted']],
          },
          { id: 'fitted', type: 'helper' },
        ]),
      );
      const s1 = helper.getNode('s1');
      const statuses = recordStatus(s1 as never);
      const first = collect(helper.getNode('out'), 1);
      s1.receive({ payload: good });
      const before = ((await first)[0].padim as Msg).modelId;
      const summary = collect(helper.getNode('fitted'), 1);
      helper.getNode('f1').receive({ topic: 'fit' });
      const fit = (await summary)[0].payload as { modelId: string; images: number };
      assert.equal(fit.images, 10);
      assert.notEqual(fit.modelId, before);
      await waitFor(
        () => statuses.some((s) => (s.text ?? '').includes(fit.modelId)),
        5000,
        'model updated status',
      );
      const second = collect(helper.getNode('out'), 1);
      s1.receive({ payload: good });
      assert.equal(((await second)[0].padim as Msg).modelId, fit.modelId);
      // the old session was released after the swap
      await waitFor(() => sessions.counts.disposed === 1, 5000, 'old session disposed');
      assert.equal(sessions.counts.opened, 2);
    } finally {
      sessions.restore();
    }
  });

  it('shows that no model exists yet, and says so to Catch', async () => {
    const missing = path.join(data.root, 'not-fitted-yet.padim');
    await helper.load(ALL_NODES, [
      { id: 'm1', type: 'padim-model', path: missing, ...SMALL_MODEL },
      { id: 's1', type: 'padim-score', model: 'm1', wires: [[]] },
      { id: 'c1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]);
    const s1 = helper.getNode('s1');
    const statuses = recordStatus(s1 as never);
    await waitFor(
      () => statuses.find((s) => s.text === 'padim-score.status.noModel'),
      5000,
      'no-model status',
    );
    const caught = collect(helper.getNode('caught'), 1);
    s1.receive({ payload: good });
    assert.match(String(((await caught)[0].error as Msg).message), /not-fitted-yet\.padim/);
  });

  it('a score node without a model configuration reports it on every message', async () => {
    await helper.load(ALL_NODES, [
      { id: 's1', type: 'padim-score', model: '', wires: [[]] },
      { id: 'c1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]);
    const caught = collect(helper.getNode('caught'), 1);
    helper.getNode('s1').receive({ payload: good });
    assert.match(String(((await caught)[0].error as Msg).message), /no model selected/);
  });

  describe('queue policy under a burst of 12 images (queue 2, batch 1)', () => {
    const burst = async (policy: string) => {
      await helper.load(ALL_NODES, flow({ queueSize: 2, batchSize: 1, policy }));
      const s1 = helper.getNode('s1');
      const statuses = recordStatus(s1 as never);
      const out: Msg[] = [];
      const caught: Msg[] = [];
      helper.getNode('out').on('input', (m: Msg) => out.push(m));
      helper.getNode('caught').on('input', (m: Msg) => caught.push(m));
      for (let n = 1; n <= 12; n++) s1.receive({ payload: good, n });
      // the queue never holds more than 2
      const depths = statuses
        .map((s) => /queue (\d+)\/2/.exec(s.text ?? '')?.[1])
        .filter(Boolean)
        .map(Number);
      assert.ok(
        depths.every((d) => d <= 2),
        `queue depths ${depths}`,
      );
      await waitFor(
        () => out.length + caught.length >= 3 && statuses.at(-1)?.text?.includes('queue') === false,
        20_000,
        'queue drained',
      );
      await new Promise((r) => setTimeout(r, 100));
      return { sent: out.map((m) => m.n as number), caught, statuses };
    };

    it('drop-oldest keeps the newest images', async () => {
      const { sent, statuses } = await burst('drop-oldest');
      assert.equal(sent[0], 1, 'the first image was already being scored');
      assert.ok(sent.includes(12), `newest image scored: ${sent}`);
      assert.ok(sent.length <= 4, `at most the one in flight and the queue: ${sent}`);
      assert.match(statuses.at(-1)?.text ?? '', new RegExp(`dropped ${12 - sent.length}`));
    });

    it('drop-newest keeps the images that came first', async () => {
      const { sent } = await burst('drop-newest');
      assert.deepEqual(sent.slice(0, 3), [1, 2, 3]);
      assert.ok(!sent.includes(12));
    });

    it('reject sends an error to Catch for every refused image', async () => {
      const { sent, caught } = await burst('reject');
      assert.equal(sent.length + caught.length, 12);
      assert.ok(caught.length >= 8);
      assert.match(String((caught[0].error as Msg).message), /queueFull/);
    });
  });

  it('size auto: an image of another aspect carries a warning, and the node warns once per model', async () => {
    // a model fitted at size auto on long grey strips (160x64, aspect 2.5)
    const strip = (seed: number) =>
      sharp(generateTexture('brushed', 160, 64, seed, { channels: 1 }).data as Uint8Array, {
        raw: { width: 160, height: 64, channels: 1 },
      })
        .png()
        .toBuffer();
    const train = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map(strip));
    const autoPath = path.join(data.root, 'auto-strip.padim');
    const fitted = await fitModel(train, { size: parseSizeChoice('auto:64'), dims: 8, threads: 1 });
    assert.deepEqual(fitted.header.input.size, { kind: 'resize', width: 160, height: 64 });
    await saveModel(autoPath, fitted);
    await helper.load(ALL_NODES, [
      { id: 'm2', type: 'padim-model', path: autoPath, size: 'auto:64', dims: '8', threads: '1' },
      { id: 's2', type: 'padim-score', model: 'm2', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    const s2 = helper.getNode('s2');
    const got = collect(helper.getNode('out'), 3);
    s2.receive({ payload: good });
    s2.receive({ payload: good });
    s2.receive({ payload: await strip(20) });
    const [a, b, c] = await got;
    const warningsOf = (m: Msg) => (m.padim as { warnings?: string[] }).warnings;
    assert.match(String(warningsOf(a)?.[0]), /64x64 .*differs from the model's aspect 2\.500/);
    assert.ok(warningsOf(b));
    assert.equal(warningsOf(c), undefined, 'a strip like the training images: no warning');
    assert.equal((c.anomalyMap as { width: number }).width, 160);
    const log = helper.log();
    const warned = log.args.filter(([event]) => event.level === log.WARN && event.id === 's2');
    assert.equal(warned.length, 1);
  });
});
