import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileDefect } from '../../src/node-support/defect-folder';
import { LineTally, NgGallery, pictureUrl } from '../../src/node-support/line-board';
import { tempDir } from '../helpers';

describe('line dashboard: counts, NG gallery, defect folder', () => {
  const part = (score: number) => ({
    timestamp: '2026-12-02T13:40:05.123Z',
    image: `/cam/${score}.png`,
    score,
    threshold: 10,
    modelId: 'abc',
    picture: null,
  });

  it('counts OK and NG, the NG rate to one decimal, and the reviews', () => {
    const tally = new LineTally();
    assert.equal(tally.counts().ngPercent, null);
    for (const d of ['OK', 'OK', 'NG', 'OK', 'OK', 'OK', 'NG'] as const) tally.record(d);
    tally.review('good');
    tally.review('defect');
    tally.review('defect');
    tally.drop();
    assert.deepEqual(tally.counts(), {
      ok: 5,
      ng: 2,
      total: 7,
      ngPercent: 28.6,
      falseAlarms: 1,
      confirmed: 2,
      unreviewed: 1,
    });
  });

  it('the gallery keeps the newest parts within its capacity, newest first, and gives each back once', () => {
    const g = new NgGallery(3);
    const ids = [11, 12, 13].map((s) => g.add(part(s)).added.id);
    assert.equal(new Set(ids).size, 3);
    const { dropped } = g.add(part(14));
    assert.equal(dropped?.score, 11);
    assert.deepEqual(
      g.list().map((p) => p.score),
      [14, 13, 12],
    );
    assert.equal(g.get(ids[1])?.score, 12);
    assert.equal(g.take(ids[1])?.score, 12);
    assert.equal(g.take(ids[1]), undefined, 'a part is reviewed once');
    assert.equal(g.take(ids[0]), undefined, 'a dropped part is gone');
    assert.equal(g.length, 2);
    assert.throws(() => new NgGallery(0), /capacity/);
  });

  it('pictures: PNG and JPEG bytes as data URLs, anything else or too large refused', () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]);
    assert.match(pictureUrl(png, 100)!, /^data:image\/png;base64,iVBORw0KGgo/);
    assert.match(pictureUrl(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0]), 100)!, /^data:image\/jpeg;base64,/);
    assert.equal(pictureUrl(png, 5), null);
    assert.equal(pictureUrl(Buffer.from('<svg/>'), 100), null);
    assert.equal(pictureUrl('data:image/png;base64,AAAA', 100), null);
  });

  it('files a defect with its record, never overwriting one filed before', async () => {
    const dir = tempDir('padim-defects-');
    try {
      const image = path.join(dir, 'part 7.png');
      fs.writeFileSync(image, 'pixels');
      const folder = path.join(dir, 'defects', 'line 1');
      const a = await fileDefect(image, folder, '2026-12-02T13:40:05.123Z', { score: 12, verdict: 'defect' });
      const b = await fileDefect(image, folder, '2026-12-02T13:40:05.123Z', { score: 13, verdict: 'defect' });
      assert.equal(path.basename(a.image), '20261202T134005123Z-part 7.png');
      assert.equal(path.basename(b.image), '20261202T134005123Z-part 7-2.png');
      assert.equal(fs.readFileSync(b.image, 'utf8'), 'pixels');
      assert.equal(JSON.parse(fs.readFileSync(a.record, 'utf8')).score, 12);
      assert.equal(JSON.parse(fs.readFileSync(b.record, 'utf8')).score, 13);
      await assert.rejects(fileDefect(path.join(dir, 'gone.png'), folder, 'x', {}), /no longer there/);
      await assert.rejects(fileDefect(folder, folder, 'x', {}), /not a file/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
