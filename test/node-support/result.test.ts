import assert from 'node:assert/strict';
import { assertValidResult, buildResult } from '../../src/result/result';

describe('inspection result', () => {
  it('builds OK and NG results that follow the schema', () => {
    const now = new Date('2025-01-02T03:04:05.678Z');
    const ok = buildResult({ ok: true, score: 4, threshold: 10, consecutiveNg: 0, alarm: false, now });
    assert.deepEqual(ok, {
      timestamp: '2025-01-02T03:04:05.678Z',
      station: '',
      line: '',
      image: null,
      decision: 'OK',
      score: 4,
      threshold: 10,
      normalizedScore: null,
      defectArea: null,
      consecutiveNg: 0,
      alarm: false,
      modelId: null,
    });
    const ng = buildResult({
      station: 'st-1',
      line: 'L2',
      image: '/cam/7.png',
      ok: false,
      score: 12,
      threshold: 10,
      normalizedScore: 1.2,
      defectArea: 0.25,
      consecutiveNg: 3,
      alarm: true,
      modelId: 'abc',
      now,
    });
    assert.equal(ng.decision, 'NG');
    assert.equal(ng.alarm, true);
    assert.equal(ng.consecutiveNg, 3);
  });

  it('refuses results that break the schema, naming the field', () => {
    assert.throws(
      () => buildResult({ ok: true, score: 1, threshold: 1, consecutiveNg: -1, alarm: false }),
      /inspection result does not follow schemas\/result.schema.json: \/consecutiveNg/,
    );
    assert.throws(() => assertValidResult({ decision: 'MAYBE' }), /\/decision must be equal to one of/);
  });
});
