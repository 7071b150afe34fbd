/**
 * padim-image-source: folder runs (on deploy, on input, paced), MVTec labels and masks, images
 * in the input message, bad files reported one by one, watch mode, and stopping on close.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers';
import { ALL_NODES, collect, helper, recordStatus, testData, waitFor, type TestData } from './fixtures';

type Msg = Record<string, unknown>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('padim-image-source node', function () {
  let data: TestData;
  let png: Buffer;
  const scratch = tempDir('padim-source-');
  after(() => fs.rmSync(scratch, { recursive: true, force: true }));

  before(async () => {
    data = await testData();
    png = fs.readFileSync(path.join(data.train, '000.png'));
  });
  afterEach(() => helper.unload());

  const flow = (source: Msg) => [
    { id: 'src', type: 'padim-image-source', wires: [['out']], ...source },
    { id: 'out', type: 'helper' },
    { id: 'c1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ];

  it('sends a folder on deploy, in order, with MVTec labels and masks', async () => {
    const out: Msg[] = [];
    await helper.load(ALL_NODES, flow({ start: 'deploy', folder: data.test, recursive: true }));
    helper.getNode('out').on('input', (m: Msg) => out.push(m));
    await waitFor(() => out.length === 7, 10_000, '7 test images');
    assert.ok(out.every((m) => Buffer.isBuffer(m.payload)));
    assert.deepEqual(
      out.map((m) => `${m.label}/${path.basename(m.filename as string)}`),
      [
        'good/000.png',
        'good/001.png',
        'good/002.png',
        'scratch/000.png',
        'scratch/001.png',
        'spot/000.png',
        'spot/001.png',
      ],
    );
    assert.equal(out[0].mask, undefined);
    assert.equal(out[3].mask, path.join(data.data, 'ground_truth', 'scratch', '000_mask.png'));
    assert.deepEqual(
      out.map((m) => m.index),
      [0, 1, 2, 3, 4, 5, 6],
    );
    assert.ok(out.every((m) => m.count === 7));
  });

  it('runs on each input message, with msg.folder and a glob filter', async () => {
    await helper.load(
      ALL_NODES,
      flow({ start: 'input', folder: data.test, recursive: true, pattern: 'test/s*/*.png' }),
    );
    const got = collect(helper.getNode('out'), 4);
    helper.getNode('src').receive({ payload: Date.now(), folder: data.data });
    assert.deepEqual(
      (await got).map((m) => m.label),
      ['scratch', 'scratch', 'spot', 'spot'],
    );
  });

  it('paces a run with the interval, and stops on close', async () => {
    await helper.load(ALL_NODES, flow({ start: 'deploy', folder: data.train, interval: 0.05, loop: true }));
    const out: Msg[] = [];
    helper.getNode('out').on('input', (m: Msg) => out.push(m));
    const t0 = Date.now();
    await waitFor(() => out.length >= 4, 5000, '4 images');
    assert.ok(Date.now() - t0 >= 140, 'about 50 ms between images');
    await helper.unload();
    const count = out.length;
    await sleep(200);
    assert.equal(out.length, count, 'nothing sent after close');
  });

  it('passes on an image in the message as a Buffer: Buffer, path, data URL, base64', async () => {
    await helper.load(ALL_NODES, flow({ start: 'input' }));
    const src = helper.getNode('src');
    const got = collect(helper.getNode('out'), 4);
    const file = path.join(data.test, 'scratch', '000.png');
    src.receive({ payload: png, topic: 'a' });
    src.receive({ payload: file });
    src.receive({ payload: `data:image/png;base64,${png.toString('base64')}` });
    src.receive({ payload: png.toString('base64') });
    const out = await got;
    assert.ok(out.every((m) => Buffer.isBuffer(m.payload)));
    assert.equal(out[0].topic, 'a');
    assert.equal(out[1].filename, file);
    assert.equal(out[1].label, 'scratch');
    assert.ok((out[2].payload as Buffer).equals(png));
  });

  it('reports each bad file to Catch with its name; the rest of the run goes on', async () => {
    const dir = path.join(scratch, 'mixed');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, '1.png'), png);
    fs.writeFileSync(path.join(dir, '2.png'), 'this is not a png');
    fs.writeFileSync(path.join(dir, '3.png'), Buffer.alloc(0));
    fs.writeFileSync(path.join(dir, '4.png'), png);
    await helper.load(ALL_NODES, flow({ start: 'input', folder: dir }));
    const out = collect(helper.getNode('out'), 2);
    const caught = collect(helper.getNode('caught'), 2);
    helper.getNode('src').receive({ payload: '' });
    assert.deepEqual(
      (await out).map((m) => path.basename(m.filename as string)),
      ['1.png', '4.png'],
    );
    const errors = await caught;
    assert.deepEqual(
      errors.map((m) => path.basename(m.filename as string)),
      ['2.png', '3.png'],
    );
    assert.match(String((errors[0].error as Msg).message), /notImage/);
  });

  it('an input that is not an image and no folder is an error; a missing folder too', async () => {
    await helper.load(ALL_NODES, flow({ start: 'input' }));
    const caught = collect(helper.getNode('caught'), 2);
    helper.getNode('src').receive({ payload: 1 });
    helper.getNode('src').receive({ payload: 1, folder: path.join(scratch, 'nope') });
    const errors = (await caught).map((m) => String((m.error as Msg).message));
    assert.match(errors[0], /noFolder/);
    assert.match(errors[1], /no such folder/);
  });

  it('watch mode sends each new file once it is written, not the files already there', async () => {
    const dir = path.join(scratch, 'camera');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'old.png'), png);
    await helper.load(ALL_NODES, flow({ start: 'watch', folder: dir }));
    const statuses = recordStatus(helper.getNode('src') as never);
    const got = collect(helper.getNode('out'), 2, 10_000);
    fs.writeFileSync(path.join(dir, 'new1.png'), png);
    await sleep(50);
    fs.writeFileSync(path.join(dir, 'new2.png'), png);
    const out = await got;
    assert.deepEqual(out.map((m) => path.basename(m.filename as string)).sort(), ['new1.png', 'new2.png']);
    await waitFor(
      () => statuses.find((s) => s.text === 'padim-image-source.status.watching · 3'),
      5000,
      'watching 3',
    );
  });
});
