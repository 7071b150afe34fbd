import assert from 'node:assert/strict';
import {
  SUPPORT_MESSAGES,
  SupportError,
  fillTemplate,
  isSupportError,
  placeholdersOf,
} from '../../src/node-support/errors';
import { PathNotAllowedError, PathPolicy } from '../../src/node-support/path-policy';
import { imageFromPayload } from '../../src/node-support/image-input';

describe('node-support errors (a code, its data, and the English text)', () => {
  it('fills a template from the data, leaving unknown placeholders as they are', () => {
    assert.deepEqual(placeholdersOf('the __what__ __path__ is outside (__allowed__)'), [
      'what',
      'path',
      'allowed',
    ]);
    assert.equal(fillTemplate('a __x__ b __y__', { x: 1 }), 'a 1 b __y__');
    assert.equal(fillTemplate('no placeholders', {}), 'no placeholders');
  });

  it('a SupportError says its template filled, and is recognised by its code', () => {
    const e = new SupportError('folder.missing', { path: '/nowhere' });
    assert.equal(e.message, 'no such folder: /nowhere');
    assert.equal(e.code, 'folder.missing');
    assert.deepEqual(e.data, { path: '/nowhere' });
    assert.ok(isSupportError(e));
    assert.ok(!isSupportError(new Error('plain')));
    assert.ok(
      !isSupportError(Object.assign(new Error('x'), { code: 'ENOENT', data: {} })),
      'a code of ours only',
    );
  });

  it('every template names its values as __name__ only', () => {
    for (const [code, template] of Object.entries(SUPPORT_MESSAGES)) {
      assert.doesNotMatch(template.replace(/__\w+?__/g, ''), /__/, code);
      assert.doesNotMatch(template, /\$\{/, code);
    }
  });

  it('the modules throw them with their data: a path outside the allow-list, a payload', () => {
    assert.throws(
      () => new PathPolicy(['/data/images'], '/').check('/etc/passwd', 'model file'),
      (err: unknown) =>
        err instanceof PathNotAllowedError &&
        err.code === 'path.outside' &&
        err.path === '/etc/passwd' &&
        err.data.what === 'model file' &&
        err.data.allowed === '/data/images',
    );
    assert.throws(
      () => imageFromPayload(42),
      (err: unknown) =>
        err instanceof SupportError && err.code === 'payload.notImage' && err.data.kind === 'number',
    );
  });
});
