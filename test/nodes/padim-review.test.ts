/**
 * padim-review in real Node-RED: the dashboard outputs for every part, the NG gallery, a part
 * marked good sent on for padim-fit, a confirmed defect filed, and errors to Catch.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers';
import { ALL_NODES, helper, waitFor } from './fixtures';

type Msg = Record<string, any>;

describe('padim-review node', function () {
  let dir: string;
  beforeEach(() => (dir = tempDir('padim-review-')));
  afterEach(async () => {
    await helper.unload();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const PORTS = ['last', 'counts', 'trend', 'gallery', 'good', 'caught'];

  async function load(settings: Msg = {}) {
    await helper.load(ALL_NODES, [
      {
        id: 'r1',
        type: 'padim-review',
        gallery: 2,
        defectFolder: path.join(dir, 'defects'),
        wires: PORTS.slice(0, 5).map((p) => [p]),
        ...settings,
      },
      ...PORTS.map((id) => ({ id, type: 'helper' })),
      { id: 'c1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    ]);
    const seen: Record<string, Msg[]> = Object.fromEntries(PORTS.map((p) => [p, []]));
    for (const p of PORTS) helper.getNode(p).on('input', (msg: Msg) => seen[p].push(msg));
    return { r1: helper.getNode('r1'), seen };
  }

  function part(n: number, decision: 'OK' | 'NG'): Msg {
    const image = path.join(dir, `part-${n}.png`);
    fs.writeFileSync(image, `image ${n}`);
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, n]);
    return {
      payload: png,
      result: {
        timestamp: `2026-12-02T13:40:0${n}.000Z`,
        image,
        decision,
        score: decision === 'NG' ? 12 + n : 5,
        threshold: 10,
        modelId: 'model-a',
      },
    };
  }

  it('sends the last part, counts, trend and the NG gallery; "good" goes on to the fit, "defect" into the folder', async () => {
    const { r1, seen } = await load();
    r1.receive(part(1, 'OK'));
    r1.receive(part(2, 'NG'));
    r1.receive(part(3, 'NG'));
    r1.receive(part(4, 'NG')); // the gallery holds 2: part 2 drops out unreviewed
    await waitFor(() => seen.counts.length === 4, 5000, 'four parts');
    assert.equal(seen.last[3].payload.name, 'part-4.png');
    assert.match(seen.last[3].payload.picture, /^data:image\/png;base64,/);
    assert.deepEqual(
      seen.trend.map((m) => [m.topic, m.payload]),
      [
        ['score', 5],
        ['threshold', 10],
        ['score', 14],
        ['threshold', 10],
        ['score', 15],
        ['threshold', 10],
        ['score', 16],
        ['threshold', 10],
      ],
    );
    assert.equal(seen.gallery.length, 3, 'the gallery is sent when an NG part arrives');
    const gallery = seen.gallery[2].payload as Msg[];
    assert.deepEqual(
      gallery.map((p) => path.basename(p.image)),
      ['part-4.png', 'part-3.png'],
    );
    assert.deepEqual(seen.counts[3].payload, {
      ok: 1,
      ng: 3,
      total: 4,
      ngPercent: 75,
      falseAlarms: 0,
      confirmed: 0,
      unreviewed: 1,
    });

    r1.receive({ topic: 'good', payload: { id: gallery[0].id } });
    await waitFor(() => seen.good.length === 1, 5000, 'the image marked good');
    assert.equal(seen.good[0].payload, path.join(dir, 'part-4.png'));
    assert.equal(seen.good[0].topic, '', 'collected by padim-fit, not a command');
    r1.receive({ topic: 'defect', payload: { id: gallery[1].id } });
    await waitFor(() => seen.gallery.length === 5, 5000, 'the gallery after two reviews');
    assert.deepEqual(seen.gallery[4].payload, []);
    const filed = fs.readdirSync(path.join(dir, 'defects')).sort();
    assert.deepEqual(filed, ['20261202T134003000Z-part-3.json', '20261202T134003000Z-part-3.png']);
    const record = JSON.parse(fs.readFileSync(path.join(dir, 'defects', filed[0]), 'utf8'));
    assert.equal(record.verdict, 'defect');
    assert.equal(record.score, 15);
    assert.equal(record.picture, undefined, 'the record holds no picture');
    const counts = seen.counts.at(-1)!.payload;
    assert.equal(counts.falseAlarms, 1);
    assert.equal(counts.confirmed, 1);

    // a part already reviewed, a message without a result: errors to Catch (the test helper
    // loads no catalogue: the messages are their keys)
    r1.receive({ topic: 'good', payload: { id: gallery[0].id } });
    r1.receive({ payload: 'not a result' });
    await waitFor(() => seen.caught.length === 2, 5000, 'two errors');
    const errors = seen.caught.map((m) => String(m.error.message)).sort();
    assert.match(errors[0], /errors.notAResult/);
    assert.match(errors[1], /errors.unknownPart/);
  });

  it('a part whose file has gone stays in the gallery, the error to Catch', async () => {
    const { r1, seen } = await load();
    const msg = part(5, 'NG');
    r1.receive(msg);
    await waitFor(() => seen.gallery.length === 1, 5000, 'the gallery');
    fs.rmSync(msg.result.image);
    r1.receive({ topic: 'defect', payload: { id: seen.gallery[0].payload[0].id } });
    await waitFor(() => seen.caught.length === 1, 5000, 'the error');
    assert.match(seen.caught[0].error.message, /no longer there/);
    r1.receive(part(6, 'NG'));
    await waitFor(() => seen.gallery.length === 2, 5000, 'the gallery again');
    assert.equal(seen.gallery[1].payload.length, 2, 'part 5 is still there');
  });

  it('refuses to run without a defect folder or with a gallery out of range', async () => {
    for (const settings of [{ defectFolder: '' }, { gallery: 0 }, { gallery: 1000 }]) {
      const { r1, seen } = await load(settings);
      r1.receive(part(1, 'NG'));
      await waitFor(() => seen.caught.length === 1, 5000, 'the configuration error');
      assert.match(seen.caught[0].error.message, /errors.noDefectFolder|errors.gallery/);
      await helper.unload();
    }
  });
});
