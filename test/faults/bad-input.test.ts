/**
 * Bad images and bad messages: each gives a clear error that a Catch node receives, the flow
 * keeps running, and the next good image is scored exactly as before the faults.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { prepareImage } from '../../src/image';
import { IMAGENET_NORMALISATION } from '../../src/types';
import { ALL_NODES, SMALL_MODEL, collect, helper } from '../nodes/fixtures';
import { CATCH_NODES, badImages, faultModel, unhandledRejectionsDuring, type BadImage } from './fault-kit';

type Msg = Record<string, unknown>;

/** The next message at `out` or at the Catch node, whichever comes first. */
async function outcome(send: () => void): Promise<{ result?: Msg; error?: string }> {
  const out = helper.getNode('out');
  const caught = helper.getNode('caught');
  return new Promise((resolve) => {
    const done = (r: { result?: Msg; error?: string }) => {
      out.removeListener('input', onOut);
      caught.removeListener('input', onCaught);
      resolve(r);
    };
    const onOut = (msg: Msg) => done({ result: msg });
    const onCaught = (msg: Msg) => done({ error: (msg.error as { message: string }).message });
    out.on('input', onOut);
    caught.on('input', onCaught);
    send();
  });
}

const score = (msg: Msg) => (msg.payload as { score: number }).score;

describe('faults: bad images', function () {
  let images: BadImage[];
  let modelPath: string;
  let good: Buffer;

  before(async () => {
    ({ modelPath, good } = await faultModel());
    images = await badImages();
  });
  afterEach(() => helper.unload());

  it('the core refuses each bad image with an error that names the problem, and decodes odd but valid ones', async () => {
    const opts = {
      size: { kind: 'resize', width: 32, height: 32 } as const,
      normalisation: IMAGENET_NORMALISATION,
    };
    for (const img of images) {
      if (img.refused) {
        await assert.rejects(prepareImage(img.input, opts), img.refused, img.name);
      } else {
        const p = await prepareImage(img.input, opts);
        assert.ok(p.data.every(Number.isFinite), `${img.name}: finite values`);
      }
    }
    // animated images: the first frame is used (white), not the second (black) or a mix
    const gif = images.find((i) => i.name.startsWith('animated GIF'))!;
    const first = await prepareImage(gif.input, opts);
    const white = (1 - IMAGENET_NORMALISATION.mean[0]) / IMAGENET_NORMALISATION.std[0];
    assert.ok(Math.abs(first.data[0] - white) < 0.05, `first frame: ${first.data[0]} vs white ${white}`);
  });

  it('padim-score: every bad image goes to Catch, the flow keeps running, good images score as before', async () => {
    await helper.load(ALL_NODES, [
      { id: 'm1', type: 'padim-model', path: modelPath, ...SMALL_MODEL },
      { id: 's1', type: 'padim-score', model: 'm1', wires: [['out']] },
      { id: 'out', type: 'helper' },
      ...CATCH_NODES,
    ]);
    const s1 = helper.getNode('s1');
    const before = await outcome(() => s1.receive({ payload: good }));
    assert.ok(before.result, before.error);
    const reference = score(before.result);

    const rejections = await unhandledRejectionsDuring(async () => {
      for (const img of images) {
        // raw pixels ({ data, width, height, channels }) are checked by the core like any image
        const got = await outcome(() => s1.receive({ payload: img.input, name: img.name }));
        if (img.refused) {
          assert.ok(got.error, `${img.name}: an error to Catch, got a result`);
          assert.match(got.error, img.refused, img.name);
        } else {
          assert.ok(got.result, `${img.name}: scored (${got.error})`);
          assert.ok(Number.isFinite(score(got.result)), img.name);
        }
        const next = await outcome(() => s1.receive({ payload: good }));
        assert.ok(next.result, `after ${img.name}: the next good image is scored (${next.error})`);
        assert.equal(score(next.result), reference, `after ${img.name}: the same score as before`);
      }
    });
    assert.deepEqual(rejections, []);
  });

  it('padim-score: bad images in one burst with good ones; only the bad ones fail', async () => {
    await helper.load(ALL_NODES, [
      { id: 'm1', type: 'padim-model', path: modelPath, ...SMALL_MODEL },
      { id: 's1', type: 'padim-score', model: 'm1', queueSize: 64, batchSize: 8, wires: [['out']] },
      { id: 'out', type: 'helper' },
      ...CATCH_NODES,
    ]);
    const buffers = images.filter((i) => Buffer.isBuffer(i.input));
    const refused = buffers.filter((i) => i.refused).length;
    const results = collect(helper.getNode('out'), 2 * buffers.length - refused);
    const errors = collect(helper.getNode('caught'), refused);
    for (const img of buffers) {
      helper.getNode('s1').receive({ payload: good, name: 'good' });
      helper.getNode('s1').receive({ payload: img.input, name: img.name });
    }
    const got = await results;
    assert.equal(
      got.filter((m) => m.name === 'good').length,
      buffers.length,
      'every good image has a result',
    );
    const failed = (await errors).map((m) => m.name);
    assert.deepEqual(
      failed.sort(),
      buffers
        .filter((i) => i.refused)
        .map((i) => i.name)
        .sort(),
    );
  });

  it('padim-image-source: bad files in a folder are reported one by one and the run goes on', async () => {
    const { data } = await faultModel();
    const dir = path.join(data.root, 'faults', 'bad-folder');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, '1-good.png'), good);
    fs.writeFileSync(path.join(dir, '2-empty.png'), Buffer.alloc(0));
    fs.writeFileSync(path.join(dir, '3-text.png'), 'not an image');
    fs.writeFileSync(path.join(dir, '4-truncated.png'), good.subarray(0, 100));
    fs.writeFileSync(path.join(dir, '5-good.png'), good);
    await helper.load(ALL_NODES, [
      { id: 'src', type: 'padim-image-source', folder: dir, start: 'deploy', wires: [['m1s']] },
      { id: 'm1', type: 'padim-model', path: modelPath, ...SMALL_MODEL },
      { id: 'm1s', type: 'padim-score', model: 'm1', wires: [['out']] },
      { id: 'out', type: 'helper' },
      ...CATCH_NODES,
    ]);
    const [results, errors] = await Promise.all([
      collect(helper.getNode('out'), 2),
      collect(helper.getNode('caught'), 3),
    ]);
    assert.deepEqual(
      results.map((m) => path.basename(m.filename as string)),
      ['1-good.png', '5-good.png'],
    );
    const messages = errors
      .sort((a, b) => String(a.filename).localeCompare(String(b.filename)))
      .map((m) => (m.error as { message: string }).message);
    assert.match(messages[0], /2-empty\.png/);
    assert.match(messages[1], /3-text\.png/);
    assert.match(messages[2], /4-truncated\.png.*truncated or corrupt/);
  });
});

describe('faults: bad messages', function () {
  let modelPath: string;
  let good: Buffer;
  before(async () => ({ modelPath, good } = await faultModel()));
  afterEach(() => helper.unload());

  const flow = (threshold: Msg = {}) => [
    { id: 'm1', type: 'padim-model', path: modelPath, ...SMALL_MODEL },
    { id: 's1', type: 'padim-score', model: 'm1', wires: [['out']] },
    { id: 'f1', type: 'padim-fit', model: 'm1', wires: [['out']] },
    { id: 't1', type: 'padim-threshold', ...threshold, wires: [['out'], ['out']] },
    { id: 'h1', type: 'padim-heatmap', preview: false, wires: [['out']] },
    { id: 'src', type: 'padim-image-source', start: 'input', wires: [['out']] },
    { id: 'out', type: 'helper' },
    ...CATCH_NODES,
  ];

  /** Sends `msg` to `node`; expects an error to Catch that matches `pattern`. */
  async function refused(node: string, msg: Msg, pattern: RegExp): Promise<void> {
    const got = await outcome(() => helper.getNode(node).receive(msg));
    assert.ok(got.error, `${node} ${JSON.stringify(msg).slice(0, 80)}: expected an error, got a result`);
    assert.match(got.error, pattern, `${node}`);
  }

  it('wrong payload types and missing fields: a clear error from every node, then normal work', async () => {
    await helper.load(ALL_NODES, flow());
    const rejections = await unhandledRejectionsDuring(async () => {
      for (const payload of [42, { a: 1 }, null, undefined, [1, 2], '', true, 'no/such/file.png'])
        await refused('s1', { payload }, /msg\.payload (must be an image|is an empty|is text)/);
      await refused('s1', { payload: path.dirname(modelPath) }, /is a folder/);
      await refused('f1', { payload: 42 }, /msg\.payload must be an image/);
      await refused('f1', { topic: 'fit' }, /tooFew|at least/);
      await refused('t1', { payload: 'x' }, /notAScore|must be a padim-score result/);
      await refused('t1', {}, /notAScore|must be a padim-score result/);
      await refused('h1', { payload: { score: 1 } }, /msg\.anomalyMap is missing/);
      await refused('h1', { anomalyMap: { data: [1] } }, /width and height/);
      await refused('src', { folder: '/no/such/folder' }, /no such folder/);
      // after all that, the nodes still work
      const ok = await outcome(() => helper.getNode('s1').receive({ payload: good }));
      assert.ok(ok.result, ok.error);
    });
    assert.deepEqual(rejections, []);
  });

  it('an anomaly map of another size than it says, or than the image', async () => {
    await helper.load(ALL_NODES, flow());
    const scored = await outcome(() => helper.getNode('s1').receive({ payload: good }));
    const msg = scored.result!;
    const map = msg.anomalyMap as { data: Float32Array; width: number; height: number };
    // data shorter than width x height
    await refused(
      'h1',
      { ...msg, anomalyMap: { ...map, data: map.data.subarray(0, 10) } },
      /must hold width x height/,
    );
    // a map of another size than the image is stretched onto it (documented), not an error
    const small = { data: new Float32Array(8 * 8).fill(1), width: 8, height: 8 };
    const drawn = await outcome(() =>
      helper.getNode('h1').receive({ ...msg, anomalyMap: small, payload: msg.payload }),
    );
    assert.ok(drawn.result, drawn.error);
    // threshold: a map that is not numbers is ignored for the defect area, not a crash
    const decided = await outcome(() =>
      helper.getNode('t1').receive({ payload: { score: 1 }, anomalyMap: { data: 'garbage' } }),
    );
    assert.ok(decided.result || decided.error);
  });

  it('what an alarm could not carry is an error to Catch, not a malformed alarm or a miscount', async () => {
    // a station name longer than the alarm schema allows: refused at deploy, every message errors
    await helper.load(ALL_NODES, flow({ mode: 'fixed', threshold: '0.5', station: 'S'.repeat(300) }));
    await refused('t1', { payload: { score: 2 } }, /nameTooLong|at most 200 characters/);
    await refused('t1', { payload: { score: 3 } }, /nameTooLong|at most 200 characters/);
    await helper.unload();
    // numbers the schema cannot hold (JSON has no Infinity or NaN): refused before the decision
    await helper.load(ALL_NODES, flow({ mode: 'fixed', threshold: '0.5', debounce: '2' }));
    await refused('t1', { payload: { score: 2, normalizedScore: Infinity } }, /notAScore|finite/);
    await refused('t1', { payload: { score: NaN } }, /notAScore|finite/);
    // ... and they did not count: the next NG is the first in a row, so debounce 2 raises no alarm
    const got = await outcome(() => helper.getNode('t1').receive({ payload: { score: 2 } }));
    assert.ok(got.result, got.error);
    assert.equal((got.result as { alarm?: unknown }).alarm, undefined);
    assert.equal((got.result as { result: { consecutiveNg: number } }).result.consecutiveNg, 1);
  });
});
