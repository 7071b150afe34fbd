import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isInside } from '../../src/files/path-inside';
import { PathNotAllowedError, PathPolicy, realLocation } from '../../src/node-support/path-policy';
import { tempDir } from '../helpers';

describe('path allow-list (padimAllowedPaths)', () => {
  // root/allowed/{a.png, sub/, link-out -> root/secret, link-in -> allowed/sub}, root/secret/key.txt
  const root = fs.realpathSync(tempDir('padim-paths-'));
  const allowed = path.join(root, 'allowed');
  const secret = path.join(root, 'secret');
  before(() => {
    fs.mkdirSync(path.join(allowed, 'sub'), { recursive: true });
    fs.mkdirSync(secret);
    fs.writeFileSync(path.join(allowed, 'a.png'), 'x');
    fs.writeFileSync(path.join(secret, 'key.txt'), 'x');
    fs.symlinkSync(secret, path.join(allowed, 'link-out'));
    fs.symlinkSync(path.join(secret, 'key.txt'), path.join(allowed, 'file-out.png'));
    fs.symlinkSync(path.join(allowed, 'sub'), path.join(root, 'link-in'));
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  const policy = () => new PathPolicy([allowed], root);
  const refused = (p: string) =>
    assert.throws(
      () => policy().check(p, 'image file'),
      (err: unknown) =>
        err instanceof PathNotAllowedError &&
        /outside the directories allowed by padimAllowedPaths/.test(err.message),
    );

  it('allows files and folders inside, existing or not yet', () => {
    assert.equal(policy().check(path.join(allowed, 'a.png')), path.join(allowed, 'a.png'));
    assert.equal(policy().check('allowed/sub'), path.join(allowed, 'sub'));
    assert.equal(policy().check(allowed), allowed);
    assert.equal(
      policy().check(path.join(allowed, 'new', 'model.padim')),
      path.join(allowed, 'new', 'model.padim'),
    );
  });

  it('resolves .. before checking', () => {
    refused(path.join(allowed, '..', 'secret', 'key.txt'));
    refused('allowed/../secret/key.txt');
    refused(path.join(allowed, 'sub', '..', '..', 'secret'));
    // .. that stays inside is fine
    assert.ok(policy().check(path.join(allowed, 'sub', '..', 'a.png')));
  });

  it('resolves symbolic links before checking: a link out of an allowed folder is refused', () => {
    refused(path.join(allowed, 'link-out'));
    refused(path.join(allowed, 'link-out', 'key.txt'));
    refused(path.join(allowed, 'file-out.png'));
    // a file that does not exist yet below a link out
    refused(path.join(allowed, 'link-out', 'new.padim'));
    // a link from outside into an allowed folder names a file inside it
    assert.ok(policy().check(path.join(root, 'link-in')));
  });

  it('follows a link before the .. after it, as opening the file does', () => {
    // allowed/deep -> secret/sub: allowed/deep/../key.txt opens secret/key.txt
    fs.mkdirSync(path.join(secret, 'sub'), { recursive: true });
    fs.symlinkSync(path.join(secret, 'sub'), path.join(allowed, 'deep'));
    const sneaky = `${allowed}/deep/../key.txt`; // not path.join: that would drop the .. first
    assert.equal(fs.readFileSync(sneaky, 'utf8'), 'x', 'the kernel opens the secret file');
    refused(sneaky);
    refused('allowed/deep/../key.txt');
    refused(`${allowed}/deep/../new-model.padim`);
    // what check returns is the real location: the file that will be opened
    assert.equal(policy().check(`${allowed}/sub/../a.png`), path.join(allowed, 'a.png'));
    assert.equal(policy().check(path.join(root, 'link-in')), path.join(allowed, 'sub'));
  });

  it('does not take a folder whose name only starts with an allowed one', () => {
    fs.mkdirSync(`${allowed}-evil`, { recursive: true });
    refused(`${allowed}-evil`);
    assert.equal(isInside('/a/b', '/a/bc'), false);
    assert.equal(isInside('/a/b', '/a/b/c'), true);
    assert.equal(isInside('/a/b', '/a/b'), true);
  });

  it('allows everything when the setting is not given', () => {
    const open = new PathPolicy(undefined, root);
    assert.equal(open.restricted, false);
    assert.equal(open.check('/etc/passwd'), '/etc/passwd');
  });

  it('refuses an unusable setting and unusable paths with a message that says so', () => {
    assert.throws(() => new PathPolicy(42, root), /padimAllowedPaths must be a list of directories/);
    assert.throws(() => new PathPolicy([''], root), /padimAllowedPaths must be a list/);
    assert.equal(new PathPolicy(allowed, root).restricted, true, 'one directory as text is accepted');
    assert.throws(() => policy().check(''), /not a usable path/);
    assert.throws(() => policy().check(`${allowed}/a\0.png`), /not a usable path/);
  });

  it('realLocation resolves the existing part and keeps the rest', () => {
    assert.equal(
      realLocation(path.join(root, 'link-in', 'x', 'y.png')),
      path.join(allowed, 'sub', 'x', 'y.png'),
    );
    assert.equal(realLocation(path.join(allowed, 'a.png', 'below')), path.join(allowed, 'a.png', 'below'));
  });
});
