/**
 * The one layer-text parser shared by --layers and the padim-model node: what it accepts,
 * and the message (naming the option or field) for what it refuses.
 */
import assert from 'node:assert/strict';
import { parseLayers } from '../src/backbone/layers';
import { layersOption, UsageError } from '../src/cli/args';
import { parseModelSettings } from '../src/node-support/model-settings';

describe('layer text', () => {
  it('three names, spaces and empty entries ignored', () => {
    assert.deepEqual(parseLayers('layer1,layer2,layer3'), ['layer1', 'layer2', 'layer3']);
    assert.deepEqual(parseLayers(' a , b,c ,'), ['a', 'b', 'c']);
  });

  it('refuses two or four names, naming what was typed', () => {
    assert.throws(
      () => parseLayers('a,b'),
      /^RangeError: layers must be three tensor names separated by commas, got 'a,b'$/,
    );
    assert.throws(() => parseLayers('a,b,c,d', 'x'), /^RangeError: x must be three tensor names/);
    assert.throws(() => parseLayers(''), /three tensor names/);
  });

  it('the command line and the node take the same text the same way', () => {
    for (const text of ['a,b,c', 'a, b ,c,', 'a,,b,c']) {
      const node = parseModelSettings({ path: 'm.padim', layers: text }, '/').fit.layers;
      assert.deepEqual(layersOption(text), node);
    }
    assert.throws(
      () => layersOption('a,b'),
      (e: unknown) => e instanceof UsageError && /^--layers must be three/.test(e.message),
    );
    assert.throws(
      () => parseModelSettings({ path: 'm.padim', layers: 'a,b' }, '/'),
      /^SupportError: layers must be three/,
    );
    assert.equal(layersOption(undefined), undefined);
    assert.equal(parseModelSettings({ path: 'm.padim', layers: '  ' }, '/').fit.layers, undefined);
  });
});
