import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileFilter, globToRegExp, listFolderImages, mvtecLabel } from '../../src/node-support/folder-images';
import { tempDir } from '../helpers';

describe('folder images', () => {
  const dir = tempDir();
  const touch = (rel: string) => {
    const f = path.join(dir, rel);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, 'x');
    return f;
  };
  before(() => {
    for (const f of ['10.png', '2.png', 'a.JPG', 'notes.txt', 'sub/3.png']) touch(f);
    for (const f of ['ds/train/good/000.png', 'ds/test/good/000.png', 'ds/test/scratch/001.png']) touch(f);
    touch('ds/ground_truth/scratch/001_mask.png');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('globs: *, ?, ** and {a,b}, case-insensitive', () => {
    assert.ok(globToRegExp('*.png').test('a.PNG'));
    assert.ok(!globToRegExp('*.png').test('sub/a.png'));
    assert.ok(globToRegExp('**/*.png').test('a.png'));
    assert.ok(globToRegExp('**/*.png').test('x/y/a.png'));
    assert.ok(globToRegExp('?.{png,jpg}').test('a.jpg'));
    assert.ok(!globToRegExp('?.{png,jpg}').test('ab.jpg'));
    assert.throws(() => globToRegExp('{a,b'), /unclosed/);
  });

  it('lists images in natural order, filtered by name or by path', () => {
    const names = (files: string[]) => files.map((f) => path.relative(dir, f).split(path.sep).join('/'));
    assert.deepEqual(names(listFolderImages(dir)), ['2.png', '10.png', 'a.JPG']);
    assert.deepEqual(names(listFolderImages(dir, { pattern: '*.png' })), ['2.png', '10.png']);
    assert.ok(names(listFolderImages(dir, { recursive: true })).includes('sub/3.png'));
    assert.deepEqual(names(listFolderImages(dir, { recursive: true, pattern: 'ds/test/*/*.png' })), [
      'ds/test/good/000.png',
      'ds/test/scratch/001.png',
    ]);
    assert.ok(fileFilter(dir, '')('anything'));
    assert.throws(() => listFolderImages(path.join(dir, 'nope')), /no such folder/);
  });

  it('reads labels and masks of the MVTec AD layout', () => {
    assert.deepEqual(mvtecLabel(path.join(dir, 'ds/train/good/000.png')), { label: 'good' });
    assert.deepEqual(mvtecLabel(path.join(dir, 'ds/test/good/000.png')), { label: 'good' });
    assert.deepEqual(mvtecLabel(path.join(dir, 'ds/test/scratch/001.png')), {
      label: 'scratch',
      mask: path.join(dir, 'ds/ground_truth/scratch/001_mask.png'),
    });
    assert.deepEqual(mvtecLabel(path.join(dir, '2.png')), {});
  });
});
