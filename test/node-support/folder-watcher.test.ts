/**
 * FolderWatcher on a real folder, with short settle and rescan times: files there at the start
 * are not delivered, each new file is delivered once and only when fully written, scans never
 * overlap, rescans find files without change events, a failed listing is reported and watching
 * goes on, and nothing is delivered after close.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FolderWatcher, type FolderWatcherOptions } from '../../src/node-support/folder-watcher';
import { tempDir } from '../helpers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, test: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('FolderWatcher', () => {
  let dir: string;
  const watchers: FolderWatcher[] = [];
  beforeEach(() => (dir = tempDir('padim-watch-')));
  afterEach(() => {
    for (const w of watchers.splice(0)) w.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A watcher on `dir` listing its .png files; what it delivers, with each file's size then. */
  function watch(opts: Partial<FolderWatcherOptions> = {}) {
    const delivered: { file: string; size: number }[] = [];
    const listErrors: unknown[] = [];
    const scans: number[] = [];
    const list = () =>
      fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.png'))
        .sort()
        .map((f) => path.join(dir, f));
    const w = new FolderWatcher({
      dir,
      recursive: false,
      list,
      deliver: async (file) => {
        delivered.push({ file: path.basename(file), size: fs.statSync(file).size });
      },
      settleMs: 30,
      rescanMs: 100,
      onListError: (err) => listErrors.push(err),
      onWatchError: (err) => assert.fail(err),
      onScanned: (known) => scans.push(known),
      ...opts,
    });
    watchers.push(w);
    return { w, delivered, listErrors, scans };
  }

  it('delivers each new file once, not the files there at the start', async () => {
    fs.writeFileSync(path.join(dir, 'old.png'), 'x');
    const { w, delivered, scans } = watch();
    assert.equal(w.knownCount, 1);
    fs.writeFileSync(path.join(dir, 'a.png'), 'aaaa');
    fs.writeFileSync(path.join(dir, 'b.png'), 'bb');
    fs.writeFileSync(path.join(dir, 'c.txt'), 'not listed');
    await until('two files', () => delivered.length >= 2);
    // several change events and rescans later, still once each
    await sleep(250);
    assert.deepEqual(delivered.map((d) => d.file).sort(), ['a.png', 'b.png']);
    assert.equal(w.knownCount, 3);
    assert.equal(scans.at(-1), 3);
  });

  it('waits until a file is written: not empty, and its size unchanged over the settle time', async () => {
    const { delivered } = watch({ settleMs: 60 });
    const file = path.join(dir, 'slow.png');
    fs.writeFileSync(file, '');
    await sleep(90);
    fs.appendFileSync(file, 'part1');
    await sleep(40);
    fs.appendFileSync(file, 'part2');
    assert.deepEqual(delivered, [], 'not delivered while it grows');
    await until('the file', () => delivered.length === 1);
    assert.deepEqual(delivered, [{ file: 'slow.png', size: 10 }]);
  });

  it('a file that disappears before it settles is not delivered', async () => {
    const { delivered, scans } = watch({ settleMs: 60 });
    const file = path.join(dir, 'gone.png');
    fs.writeFileSync(file, 'abc');
    await sleep(20);
    fs.rmSync(file);
    await until('a scan', () => scans.length > 0);
    await sleep(150);
    assert.deepEqual(delivered, []);
  });

  it('rescans find new files when the folder sends no change events', async () => {
    let closedEvents = 0;
    const { delivered } = watch({
      rescanMs: 40,
      watch: () => ({ close: () => closedEvents++ }),
    });
    fs.writeFileSync(path.join(dir, 'quiet.png'), 'q');
    await until('the rescan', () => delivered.length === 1);
    assert.equal(delivered[0].file, 'quiet.png');
  });

  it('scans never overlap; changes during a scan give one more pass after it', async () => {
    let inFlight = 0;
    let most = 0;
    const order: string[] = [];
    let scan: () => void = () => undefined;
    const { w } = watch({
      settleMs: 5,
      watch: (_dir, _recursive, onChange) => {
        scan = onChange;
        return { close: () => undefined };
      },
      deliver: async (file) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await sleep(30);
        order.push(path.basename(file));
        inFlight--;
      },
    });
    fs.writeFileSync(path.join(dir, '1.png'), '1');
    scan();
    await sleep(15); // the first scan is delivering 1.png
    fs.writeFileSync(path.join(dir, '2.png'), '2');
    for (let i = 0; i < 5; i++) scan();
    await until('both files', () => order.length === 2);
    assert.equal(most, 1, 'one delivery at a time');
    assert.deepEqual(order, ['1.png', '2.png']);
    assert.equal(w.knownCount, 2);
  });

  it('a listing that fails is reported, and watching goes on', async () => {
    let fail = false;
    const listErrors: unknown[] = [];
    const files = () => fs.readdirSync(dir).map((f) => path.join(dir, f));
    const { delivered } = watch({
      rescanMs: 30,
      list: () => {
        if (fail) throw new Error('folder unreachable');
        return files();
      },
      onListError: (err) => listErrors.push(err),
    });
    fail = true;
    await until('a failed scan', () => listErrors.length > 0);
    assert.match(String(listErrors[0]), /folder unreachable/);
    fail = false;
    fs.writeFileSync(path.join(dir, 'back.png'), 'b');
    await until('the file after the folder came back', () => delivered.length === 1);
  });

  it("a listing that fails at the start is the caller's error: nothing is watched", () => {
    assert.throws(
      () =>
        watch({
          list: () => {
            throw new Error('no such folder');
          },
        }),
      /no such folder/,
    );
  });

  it('nothing is delivered after close, not even a file that was settling', async () => {
    const { w, delivered } = watch({ settleMs: 50 });
    fs.writeFileSync(path.join(dir, 'late.png'), 'l');
    await sleep(30);
    w.close();
    fs.writeFileSync(path.join(dir, 'later.png'), 'l');
    await sleep(250);
    assert.deepEqual(delivered, []);
  });
});
