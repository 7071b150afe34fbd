import assert from 'node:assert/strict';
import { assertValidAlarm, buildAlarm } from '../../src/node-support/alarm';
import { Decider } from '../../src/node-support/decision';
import {
  judgeRegions,
  mapViewOf,
  parseAreaLimit,
  parseRegionThresholds,
  regionsOf,
} from '../../src/node-support/region-decision';

/** A 20x20 map, 0 everywhere; the left half is region 1 ('body'), the right half region 2 ('seal'). */
function map() {
  const data = new Float32Array(400);
  const labels = new Uint8Array(400);
  for (let i = 0; i < 400; i++) labels[i] = i % 20 < 10 ? 1 : 2;
  return { data, labels };
}

describe('decisions on regions', () => {
  it('parses a minimum area and per-region thresholds, and says what is wrong', () => {
    assert.equal(parseAreaLimit(''), undefined);
    assert.equal(parseAreaLimit(undefined), undefined);
    assert.deepEqual(parseAreaLimit('50'), { kind: 'pixels', value: 50 });
    assert.deepEqual(parseAreaLimit(' 0.5% '), { kind: 'fraction', value: 0.005 });
    assert.throws(() => parseAreaLimit('1.5'), /whole number of pixels/);
    assert.throws(() => parseAreaLimit('0%'), /above 0%/);
    assert.deepEqual(
      [...parseRegionThresholds('body=3.5, seal = 2')],
      [
        ['body', 3.5],
        ['seal', 2],
      ],
    );
    assert.equal(parseRegionThresholds('').size, 0);
    assert.throws(() => parseRegionThresholds('body'), /name=number/);
    assert.throws(() => parseRegionThresholds('body=-1'), /name=number/);
    assert.throws(() => parseRegionThresholds('a=1,a=2'), /two thresholds/);
  });

  it('one hot pixel is not NG with a minimum area; a large patch is', () => {
    const m = map();
    m.data[45] = 50;
    const rules = { minArea: parseAreaLimit('20') };
    const hot = judgeRegions({ score: 50 }, m, 5, rules);
    assert.equal(hot.ng, false);
    assert.equal(hot.worst.areaPixels, 1);
    for (let i = 100; i < 130; i++) m.data[i] = 6;
    const patch = judgeRegions({ score: 50 }, m, 5, rules);
    assert.equal(patch.ng, true);
    assert.equal(patch.worst.areaPixels, 31);
    // as a share: 31 of 400 pixels is 7.75%
    assert.equal(judgeRegions({ score: 50 }, m, 5, { minArea: parseAreaLimit('8%') }).ng, false);
    assert.equal(judgeRegions({ score: 50 }, m, 5, { minArea: parseAreaLimit('7%') }).ng, true);
    assert.throws(() => judgeRegions({ score: 50 }, undefined, 5, rules), /needs the anomaly map/);
  });

  it('a large faint stain on a region with a low threshold is NG, naming the region; elsewhere it is not', () => {
    const m = map();
    // a stain of 3 over 60 pixels of the right half (seal), below the image threshold 5
    for (let y = 5; y < 11; y++) for (let x = 12; x < 22 && x < 20; x++) m.data[y * 20 + x] = 3;
    const regions = [
      { name: 'body', score: 0 },
      { name: 'seal', score: 3 },
    ];
    const rules = { minArea: parseAreaLimit('20'), thresholds: parseRegionThresholds('seal=2.5') };
    const j = judgeRegions({ score: 3, regions }, m, 5, rules);
    assert.equal(j.ng, true);
    assert.equal(j.worst.region, 'seal');
    assert.equal(j.worst.threshold, 2.5);
    assert.equal(j.worst.areaPixels, 48);
    // the same stain with the seal at the image's threshold: OK
    assert.equal(judgeRegions({ score: 3, regions }, m, 5, { minArea: rules.minArea }).ng, false);
    // hysteresis scales the region's threshold too
    assert.equal(
      judgeRegions({ score: 3, regions }, m, 5, { thresholds: parseRegionThresholds('seal=3.2') }, 0.9).ng,
      true,
    );
  });

  it('the decider asks the region check instead of comparing the score, with the hysteresis factor', () => {
    const d = new Decider({ mode: 'fixed', value: 10, hysteresis: 0.2 });
    const seen: number[][] = [];
    const check = (t: number, f: number) => (seen.push([t, f]), true);
    assert.equal(d.decide({ score: 1 }, check).ok, false);
    assert.equal(d.decide({ score: 1 }, check).ok, false);
    assert.deepEqual(seen, [
      [10, 1],
      [8, 0.8],
    ]);
    // a check that throws leaves the run of NG images as it was
    assert.throws(
      () =>
        d.decide({ score: 1 }, () => {
          throw new Error('no map');
        }),
      /no map/,
    );
    assert.equal(d.decide({ score: 20 }).consecutiveNg, 3);
  });

  it('reads regions and maps from messages defensively', () => {
    assert.equal(regionsOf({ score: 1 }), undefined);
    assert.deepEqual(regionsOf({ regions: [{ name: 'a', score: 1 }] }), [{ name: 'a', score: 1 }]);
    assert.throws(() => regionsOf({ regions: [{ name: 'a', score: 'x' }] }), /list of \{ name, score \}/);
    assert.throws(() => regionsOf({ regions: 'a' }), /list of/);
    assert.equal(mapViewOf(undefined), undefined);
    const view = mapViewOf({ data: new Float32Array(4), regionLabels: new Uint8Array(3) });
    assert.equal(view?.labels, undefined, 'labels of another size are not used');
  });

  it('alarm schema version 2: an alarm of version 1 still validates, a new one carries the region', () => {
    const v1 = {
      timestamp: '2025-01-02T03:04:05.678Z',
      station: 'st-1',
      line: 'L2',
      image: null,
      score: 12.5,
      threshold: 10,
      normalizedScore: 1.25,
      defectArea: 0.01,
      consecutive: 2,
      modelId: null,
    };
    assertValidAlarm(v1);
    const v2 = buildAlarm({ score: 3, threshold: 2.5, consecutive: 1, region: 'seal' });
    assert.equal(v2.region, 'seal');
    assert.equal('region' in buildAlarm({ score: 3, threshold: 2.5, consecutive: 1 }), false);
    assert.throws(() => assertValidAlarm({ ...v1, region: '' }), /\/region/);
    assert.throws(() => assertValidAlarm({ ...v1, region: 7 }), /\/region/);
  });
});
