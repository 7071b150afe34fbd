/**
 * What the heatmap node reads from a message: the anomaly map checked (with its regions), the
 * picture found in its usual places, the map brought onto the picture's grid, the threshold to
 * outline and the label.
 */
import assert from 'node:assert/strict';
import { labelOf, mapOnImage, pictureOf, readMap, thresholdOf } from '../../src/node-support/heatmap-message';

describe('heatmap message', () => {
  it('readMap checks the map and turns region labels into a 0/1 mask on the same pixels', () => {
    const m = readMap({
      data: [1, 2, 3, 4],
      width: 2,
      height: 2,
      regionLabels: Uint8Array.from([0, 1, 2, 0]),
    });
    assert.ok(m.map.data instanceof Float32Array);
    assert.deepEqual([...m.map.data], [1, 2, 3, 4]);
    assert.deepEqual([...m.region!.data], [0, 1, 1, 0]);
    assert.equal(
      readMap({ data: new Float32Array(4), width: 2, height: 2, regionLabels: new Uint8Array(3) }).region,
      undefined,
    );
    assert.throws(() => readMap(undefined), /msg.anomalyMap is missing/);
    assert.throws(() => readMap({ data: [1], width: '1', height: 1 }), /needs width and height/);
    assert.throws(() => readMap({ data: [1, 2, 3], width: 2, height: 2 }), /width x height \(4\)/);
  });

  it('pictureOf takes msg.image first, then msg.filename, then a Buffer payload', () => {
    const bytes = Buffer.from([1, 2]);
    const raw = { data: new Uint8Array(3), width: 1, height: 1, channels: 3 };
    assert.equal(pictureOf({ image: 'a.png', filename: 'b.png', payload: bytes }), 'a.png');
    assert.equal(pictureOf({ image: bytes, filename: 'b.png' }), bytes);
    assert.equal((pictureOf({ image: raw }) as typeof raw).width, 1);
    assert.equal(pictureOf({ image: '', filename: 'b.png', payload: bytes }), 'b.png');
    assert.equal(pictureOf({ payload: bytes }), bytes);
    assert.throws(() => pictureOf({ payload: 'text' }), /no image to draw on/);
  });

  it('mapOnImage scales a map onto a larger picture, and leaves one of the same size alone', () => {
    const map = { data: Float32Array.from([0, 1, 2, 3]), width: 2, height: 2 };
    const same = { data: new Uint8Array(12), width: 2, height: 2 };
    assert.equal(mapOnImage(map, undefined, same), map);
    const big = mapOnImage(map, undefined, { data: new Uint8Array(4 * 4 * 3), width: 4, height: 4 });
    assert.deepEqual(
      { width: big.width, height: big.height, n: big.data.length },
      { width: 4, height: 4, n: 16 },
    );
    // the top-left quarter comes from the top-left cell, the bottom-right from the bottom-right
    assert.ok(big.data[0] < big.data[15], `${big.data[0]} < ${big.data[15]}`);
  });

  it("the threshold is padim-threshold's when it decided, else the model's", () => {
    assert.equal(thresholdOf({ result: { threshold: 2 }, decision: { scoreThreshold: 3 } }), 3);
    assert.equal(thresholdOf({ result: { threshold: 2 } }), 2);
    assert.equal(thresholdOf({}), undefined);
  });

  it('the label is the verdict and the score, or the score alone before a decision', () => {
    const format = (v: number) => v.toFixed(1);
    assert.equal(labelOf({ result: { score: 1.5 }, decision: { ok: false } }, format), 'NG 1.5');
    assert.equal(labelOf({ result: { score: 0.5 }, decision: { ok: true } }, format), 'OK 0.5');
    assert.equal(labelOf({ result: { score: 0.5 } }, format), '0.5');
    assert.equal(labelOf({ result: {} }, format), undefined);
  });
});
