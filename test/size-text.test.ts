import assert from 'node:assert/strict';
import { describeSize, parseSize, parseSizeChoice } from '../src/input';

describe('size text', () => {
  it('writes a crop in words for messages and compactly for report columns', () => {
    const size = parseSize('256', '224x200');
    assert.equal(describeSize(size), 'resize 256, crop 224x200');
    assert.equal(describeSize(size, 'words'), 'resize 256, crop 224x200');
    assert.equal(describeSize(size, 'compact'), '256/crop224x200');
  });

  it('writes a plain resize and auto the same in both styles', () => {
    for (const style of ['words', 'compact'] as const) {
      assert.equal(describeSize(parseSize('320x256'), style), '320x256');
      assert.equal(describeSize(parseSizeChoice('auto:320'), style), 'auto:320');
    }
  });

  it('reads back what it writes in words for a plain size and auto', () => {
    for (const text of ['640x256', 'auto:256']) assert.equal(describeSize(parseSizeChoice(text)), text);
  });
});
