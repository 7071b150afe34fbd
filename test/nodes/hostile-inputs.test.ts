/**
 * Issue 14 through real Node-RED flows: device files and oversized images into the heatmap
 * node, failed fits next to a working model, a looping link in a watched folder, and the bound
 * on images the fit node collects from messages.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { listImageFiles } from '../../src/image/image-files';
import { sha256File } from '../faults/fault-kit';
import { tempDir } from '../helpers';
import { ALL_NODES, SMALL_MODEL, collect, fitSmallModel, helper, testData, waitFor } from './fixtures';

type Msg = Record<string, unknown>;
const errorOf = (m: Msg) => String((m.error as Msg).message);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A node's warnings, as node.warn receives them. */
function recordWarnings(node: { warn: (m: unknown) => void }): string[] {
  const seen: string[] = [];
  const original = node.warn.bind(node);
  node.warn = (m: unknown) => {
    seen.push(String(m));
    original(m);
  };
  return seen;
}

describe('hostile inputs in flows (issue 14)', function () {
  let scratch: string;
  let modelPath: string;
  let train: string[];
  before(async () => {
    scratch = tempDir('padim-hostile-nodes-');
    modelPath = path.join(scratch, 'model.padim');
    await fitSmallModel(modelPath);
    train = listImageFiles((await testData()).train);
  });
  after(() => fs.rmSync(scratch, { recursive: true, force: true }));
  afterEach(async () => {
    await helper.unload();
    helper.settings({});
  });

  const catchAll = [
    { id: 'c1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ];

  describe('padim-heatmap', () => {
    const map = { data: new Float32Array(16 * 16).fill(0.5), width: 16, height: 16 };
    const decision = { score: 1, threshold: 0.5 };
    const flow = () => [
      { id: 'h1', type: 'padim-heatmap', wires: [['out']] },
      { id: 'out', type: 'helper' },
      ...catchAll,
    ];

    it('/dev/zero as msg.filename goes to Catch without being read; the node keeps rendering', async () => {
      await helper.load(ALL_NODES, flow());
      const h1 = helper.getNode('h1');
      const caught = collect(helper.getNode('caught'), 1);
      const before = process.memoryUsage().rss;
      h1.receive({ filename: '/dev/zero', anomalyMap: map, payload: decision });
      assert.match(errorOf((await caught)[0]), /\/dev\/zero is a device file, not a regular file/);
      // nothing was read from it: not even the 16 MiB an image header check would take
      assert.ok(process.memoryUsage().rss - before < 64 * 2 ** 20);
      const out = collect(helper.getNode('out'), 1);
      h1.receive({ filename: train[0], anomalyMap: map, payload: decision });
      assert.equal((await sharp((await out)[0].payload as Buffer).metadata()).width, 64);
    });

    it('an image above padimMaxPixels, as a path and as a Buffer, goes to Catch; smaller ones render', async () => {
      helper.settings({ padimMaxPixels: 40 * 40 });
      await helper.load(ALL_NODES, flow());
      const h1 = helper.getNode('h1');
      const caught = collect(helper.getNode('caught'), 2);
      h1.receive({ filename: train[0], anomalyMap: map, payload: decision }); // 64x64 = 4096 pixels
      h1.receive({ payload: fs.readFileSync(train[1]), anomalyMap: map });
      for (const m of await caught) assert.match(errorOf(m), /image too large: 64x64 exceeds 1600 pixels/);
      const small = await sharp(train[0]).resize(32, 32).png().toBuffer();
      const out = collect(helper.getNode('out'), 1);
      h1.receive({ payload: small, anomalyMap: map });
      assert.equal((await sharp((await out)[0].payload as Buffer).metadata()).width, 32);
    });
  });

  describe('a failed fit next to a working model', () => {
    const flow = () => [
      { id: 'm1', type: 'padim-model', path: modelPath, ...SMALL_MODEL },
      {
        id: 'fFolder',
        type: 'padim-fit',
        model: 'm1',
        source: 'folder',
        folder: '/nowhere',
        wires: [['fitted']],
      },
      { id: 'fMsg', type: 'padim-fit', model: 'm1', wires: [['fitted']] },
      { id: 's1', type: 'padim-score', model: 'm1', wires: [['scored']] },
      { id: 'fitted', type: 'helper' },
      { id: 'scored', type: 'helper' },
      ...catchAll,
    ];
    const score = async (file: string) => {
      const out = collect(helper.getNode('scored'), 1);
      helper.getNode('s1').receive({ payload: file });
      return ((await out)[0].payload as { score: number }).score;
    };

    it('a missing folder, an empty one and ten identical frames: the model file untouched, scoring as before', async () => {
      await helper.load(ALL_NODES, flow());
      const sha = sha256File(modelPath);
      const scoreBefore = await score(train[3]);
      const empty = path.join(scratch, 'empty');
      fs.mkdirSync(empty, { recursive: true });
      const caught = collect(helper.getNode('caught'), 3, 60_000);
      helper.getNode('fFolder').receive({ topic: 'fit', folder: path.join(scratch, 'missing') });
      await waitFor(() => true, 10);
      helper.getNode('fFolder').receive({ topic: 'fit', folder: empty });
      // a frozen camera: the same frame ten times
      const frame = fs.readFileSync(train[0]);
      for (let i = 0; i < 10; i++) helper.getNode('fMsg').receive({ payload: frame });
      helper.getNode('fMsg').receive({ topic: 'fit' });
      const errors = (await caught).map(errorOf).sort();
      assert.equal(errors.length, 3, errors.join(' | '));
      assert.ok(
        errors.some((e) => /missing/.test(e) && /no such|not found|does not exist|ENOENT/i.test(e)),
        errors.join(' | '),
      );
      assert.ok(
        errors.some((e) => /tooFew 0/.test(e)),
        errors.join(' | '),
      );
      assert.ok(
        errors.some((e) => /do not vary.*frozen/.test(e)),
        errors.join(' | '),
      );
      assert.equal(sha256File(modelPath), sha, 'the model file is byte-identical');
      assert.equal(await score(train[3]), scoreBefore, 'the score node still scores with the same model');
    });
  });

  it('padim-image-source: a looping link in a watched folder is skipped with one warning; new files still arrive', async () => {
    const dir = path.join(scratch, 'camera');
    fs.mkdirSync(dir);
    const png = fs.readFileSync(train[0]);
    fs.symlinkSync('loop-a.png', path.join(dir, 'loop-a.png'));
    await helper.load(ALL_NODES, [
      { id: 'src', type: 'padim-image-source', start: 'watch', folder: dir, wires: [['out']] },
      { id: 'out', type: 'helper' },
      ...catchAll,
    ]);
    const warnings = recordWarnings(helper.getNode('src') as never);
    const got = collect(helper.getNode('out'), 3, 20_000);
    fs.writeFileSync(path.join(dir, 'new1.png'), png);
    await sleep(50);
    // a second loop appears while watching
    fs.symlinkSync('loop-b.png', path.join(dir, 'loop-b.png'));
    await sleep(50);
    fs.writeFileSync(path.join(dir, 'new2.png'), png);
    await sleep(50);
    fs.writeFileSync(path.join(dir, 'new3.png'), png);
    const out = await got;
    assert.deepEqual(out.map((m) => path.basename(m.filename as string)).sort(), [
      'new1.png',
      'new2.png',
      'new3.png',
    ]);
    // each looping entry told once (loop-a was told at deploy, before the recorder was attached)
    await waitFor(
      () => warnings.some((w) => /loop-b\.png: the link loops/.test(w)),
      5000,
      'the loop-b warning',
    );
    assert.equal(warnings.filter((w) => /loop-b\.png/.test(w)).length, 1, warnings.join(' | '));
  });

  describe('padim-fit collecting from messages is bounded', () => {
    const flow = () => [
      { id: 'm1', type: 'padim-model', path: path.join(scratch, 'bounded.padim'), ...SMALL_MODEL },
      { id: 'f1', type: 'padim-fit', model: 'm1', wires: [['fitted']] },
      { id: 'fitted', type: 'helper' },
      ...catchAll,
    ];

    it('by count: past padimFitMaxCollected.images an image goes to Catch; the collected ones still fit', async () => {
      helper.settings({ padimFitMaxCollected: { images: 4 } });
      await helper.load(ALL_NODES, flow());
      const f1 = helper.getNode('f1');
      const caught = collect(helper.getNode('caught'), 2);
      for (const file of train.slice(0, 6)) f1.receive({ payload: fs.readFileSync(file) });
      for (const m of await caught) assert.match(errorOf(m), /padim-fit\.errors\.collectLimit/);
      const fitted = collect(helper.getNode('fitted'), 1);
      f1.receive({ topic: 'fit' });
      assert.equal(((await fitted)[0].payload as { images: number }).images, 4);
    });

    it('by bytes: Buffers past padimFitMaxCollected.bytes go to Catch; "clear" makes room again', async () => {
      // the largest of three images: two of any fit under the limit, three of it do not
      const frameFile = train.slice(0, 3).sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0];
      helper.settings({ padimFitMaxCollected: { bytes: Math.floor(fs.statSync(frameFile).size * 2.5) } });
      await helper.load(ALL_NODES, flow());
      const f1 = helper.getNode('f1');
      const caught = collect(helper.getNode('caught'), 1);
      const frame = fs.readFileSync(frameFile);
      for (let i = 0; i < 3; i++) f1.receive({ payload: frame });
      assert.match(errorOf((await caught)[0]), /padim-fit\.errors\.collectLimit/);
      f1.receive({ topic: 'clear' });
      const fitted = collect(helper.getNode('fitted'), 1);
      const more = collect(helper.getNode('caught'), 1, 60_000);
      f1.receive({ payload: fs.readFileSync(train[1]) });
      f1.receive({ payload: fs.readFileSync(train[2]) });
      f1.receive({ topic: 'fit' });
      const done = await Promise.race([fitted.then((m) => m[0]), more.then((m) => ({ error: m[0].error }))]);
      assert.equal((done as Msg).error, undefined, 'the fit after clear did not fail');
      assert.equal(((done as Msg).payload as { images: number }).images, 2);
    });

    it('a setting that is not { images, bytes } stops the node with a message', async () => {
      helper.settings({ padimFitMaxCollected: { images: -1 } });
      await helper.load(ALL_NODES, flow());
      const caught = collect(helper.getNode('caught'), 1);
      helper.getNode('f1').receive({ payload: train[0] });
      assert.match(errorOf((await caught)[0]), /padimFitMaxCollected in Node-RED's settings must be/);
    });
  });
});
