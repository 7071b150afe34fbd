import assert from 'node:assert/strict';
import { assertValidAlarm, buildAlarm, defectArea } from '../../src/node-support/alarm';

describe('alarm', () => {
  it('builds an alarm that follows the schema', () => {
    const alarm = buildAlarm({
      station: 'st-1',
      line: 'L2',
      image: '/cam/001.png',
      score: 12.5,
      threshold: 10,
      normalizedScore: 1.25,
      defectArea: 0.01,
      consecutive: 2,
      modelId: 'abc123',
      now: new Date('2025-01-02T03:04:05.678Z'),
    });
    assert.deepEqual(alarm, {
      timestamp: '2025-01-02T03:04:05.678Z',
      station: 'st-1',
      line: 'L2',
      image: '/cam/001.png',
      score: 12.5,
      threshold: 10,
      normalizedScore: 1.25,
      defectArea: 0.01,
      consecutive: 2,
      modelId: 'abc123',
    });
  });

  it('fills unknown fields with null or empty text', () => {
    const alarm = buildAlarm({ score: 1, threshold: 0.5, consecutive: 1 });
    assert.equal(alarm.image, null);
    assert.equal(alarm.defectArea, null);
    assert.equal(alarm.station, '');
  });

  it('refuses alarms that break the schema, naming the field', () => {
    assert.throws(() => buildAlarm({ score: 1, threshold: 0, consecutive: 1 }), /\/threshold/);
    assert.throws(
      () => buildAlarm({ score: 1, threshold: 1, consecutive: 1, defectArea: 2 }),
      /\/defectArea/,
    );
    assert.throws(() => assertValidAlarm({ score: 1 }), /must have required property/);
  });

  it('defect area is the fraction of map pixels at or above the threshold', () => {
    const map = { data: Float32Array.from([0, 1, 2, 3]) };
    assert.equal(defectArea(map, 2), 0.5);
    assert.equal(defectArea(map, 10), 0);
    assert.equal(defectArea({ data: new Float32Array(0) }, 1), 0);
  });
});
