import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { copyFileExclusive } from '../src/files/exclusive-copy';
import { tempDir } from './helpers';

describe('copyFileExclusive', () => {
  it('a reader polling the folder sees no file or the whole file, never part of it', async () => {
    const dir = tempDir('padim-excl-');
    try {
      const source = path.join(dir, 'big.bin');
      const bytes = 48 * 1024 * 1024; // large enough that a plain copy is seen half-written
      fs.writeFileSync(source, Buffer.alloc(bytes, 7));
      const target = path.join(dir, 'out', 'copy.bin');
      fs.mkdirSync(path.dirname(target));
      const sizesSeen = new Set<number>();
      let done = false;
      const copy = copyFileExclusive(source, target).then(() => (done = true));
      while (!done) {
        if (fs.existsSync(target)) sizesSeen.add(fs.statSync(target).size);
        await new Promise((r) => setImmediate(r));
      }
      await copy;
      assert.deepEqual(
        [...sizesSeen].filter((s) => s !== bytes),
        [],
        'only the full size was ever seen',
      );
      assert.equal(fs.statSync(target).size, bytes);
      assert.deepEqual(fs.readdirSync(path.dirname(target)), ['copy.bin'], 'no temporary left behind');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a taken name with EEXIST and leaves that file as it was', async () => {
    const dir = tempDir('padim-excl-');
    try {
      const source = path.join(dir, 'new.txt');
      const target = path.join(dir, 'taken.txt');
      fs.writeFileSync(source, 'new');
      fs.writeFileSync(target, 'old');
      await assert.rejects(copyFileExclusive(source, target), { code: 'EEXIST' });
      assert.equal(fs.readFileSync(target, 'utf8'), 'old');
      assert.deepEqual(fs.readdirSync(dir).sort(), ['new.txt', 'taken.txt']);
      await assert.rejects(copyFileExclusive(path.join(dir, 'missing'), path.join(dir, 'x')), {
        code: 'ENOENT',
      });
      assert.deepEqual(fs.readdirSync(dir).sort(), ['new.txt', 'taken.txt']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
