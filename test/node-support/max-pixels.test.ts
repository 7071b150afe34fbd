import assert from 'node:assert/strict';
import { DEFAULT_MAX_PIXELS } from '../../src/image';
import { SupportError } from '../../src/node-support/errors';
import { maxPixelsFrom } from '../../src/node-support/max-pixels';

describe('padimMaxPixels (the largest image the nodes decode)', () => {
  it('is the core default when unset, else the number set', () => {
    assert.equal(maxPixelsFrom(undefined), DEFAULT_MAX_PIXELS);
    assert.equal(maxPixelsFrom(null), DEFAULT_MAX_PIXELS);
    assert.equal(maxPixelsFrom(1600), 1600);
    assert.equal(maxPixelsFrom(1), 1);
  });

  it('refuses anything but a finite number >= 1, with a code and the value for the nodes', () => {
    for (const bad of [0, -5, 0.5, NaN, Infinity, '1000', {}, true]) {
      assert.throws(
        () => maxPixelsFrom(bad),
        (err: unknown) =>
          err instanceof SupportError &&
          err.code === 'settings.maxPixels' &&
          err.data.value === String(bad) &&
          /padimMaxPixels in Node-RED's settings must be a number >= 1, got /.test(err.message),
        String(bad),
      );
    }
  });
});
