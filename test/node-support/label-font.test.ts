import assert from 'node:assert/strict';
import { drawLabel, hasGlyph } from '../../src/node-support/label-font';

describe('label font', () => {
  it('draws white ink on a black box in the top-left corner', () => {
    const img = { data: new Uint8Array(60 * 20 * 3).fill(128), width: 60, height: 20 };
    drawLabel(img, 'NG 1.5', { scale: 1 });
    const px = (x: number, y: number) => [...img.data.subarray((y * 60 + x) * 3, (y * 60 + x) * 3 + 3)];
    assert.deepEqual(px(0, 0), [0, 0, 0]); // box
    assert.deepEqual(px(2, 2), [255, 255, 255]); // top-left of N
    assert.deepEqual(px(59, 19), [128, 128, 128]); // untouched
  });

  it('knows digits and the letters of OK/NG/SCORE, and clips at the picture edge', () => {
    for (const ch of '0123456789.-/:% OKNGSCORE') assert.ok(hasGlyph(ch), ch);
    assert.equal(hasGlyph('Q'), false);
    const tiny = { data: new Uint8Array(4 * 4 * 3), width: 4, height: 4 };
    drawLabel(tiny, 'OK 12.5'); // must not throw or write outside
    assert.equal(tiny.data.length, 48);
  });
});
