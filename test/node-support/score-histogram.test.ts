import assert from 'node:assert/strict';
import { binScores, falseAlarmEstimate, histogramView } from '../../src/node-support/score-histogram';
import { expectedFalseAlarmRate, falseAlarmInterval } from '../../src/threshold';
import { ScoreRing } from '../../src/node-support/score-ring';

describe('score histogram and false-alarm rate', () => {
  const calibration = { method: 'held-out' as const, scores: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] };

  it("the rate is the threshold module's tail model, with its interval and the scores at or above", () => {
    const at8 = falseAlarmEstimate(calibration, 8)!;
    assert.equal(at8.rate, expectedFalseAlarmRate(calibration, 8));
    assert.deepEqual(at8.interval, falseAlarmInterval(calibration, 8));
    assert.equal(at8.above, 3);
    assert.equal(at8.count, 10);
    assert.equal(at8.method, 'held-out');
    assert.ok(at8.interval.low <= at8.rate && at8.rate <= at8.interval.high);
    assert.equal(falseAlarmEstimate(calibration, 8.5)!.above, 2);
    assert.equal(falseAlarmEstimate(calibration, 0)!.rate, 1);
    // beyond the highest held-out score the tail still gives a small rate, not 0
    const beyond = falseAlarmEstimate(calibration, 11)!;
    assert.equal(beyond.above, 0);
    assert.ok(
      beyond.rate > 0 && beyond.rate < falseAlarmEstimate(calibration, 10)!.rate,
      `tail rate ${beyond.rate}`,
    );
    // no scores, or a damaged (unsorted) list: no rate rather than a thrown error
    assert.equal(falseAlarmEstimate({ method: 'in-sample', scores: [] }, 1), null);
    assert.equal(falseAlarmEstimate({ method: 'held-out', scores: [3, 1, 2] }, 1), null);
  });

  it('bins every finite value once, clamping those outside the range', () => {
    const h = binScores([0, 0.5, 1, 9.9, 10, 42, NaN], 0, 10, 10);
    assert.deepEqual(h.counts, [2, 1, 0, 0, 0, 0, 0, 0, 0, 3]);
    assert.throws(() => binScores([1], 1, 1, 4), /max > min/);
    assert.throws(() => binScores([1], 0, 1, 0), /bins/);
  });

  it('the normalised view divides by the model threshold and reads the rate in score units', () => {
    const v = histogramView({
      scale: 'normalized',
      calibration,
      modelThreshold: 5,
      live: [1.2, 0.4],
      threshold: 1.6,
    });
    assert.equal(v.calibration!.count, 10);
    assert.ok(v.max >= 2 && v.min <= 0.2);
    assert.equal(v.falseAlarm!.above, 3); // 1.6 x 5 = 8
    assert.equal(v.falseAlarm!.rate, expectedFalseAlarmRate(calibration, 8));
    assert.equal(v.live.count, 2);
    const none = histogramView({ scale: 'score', live: [], threshold: undefined });
    assert.equal(none.calibration, null);
    assert.equal(none.falseAlarm, null);
  });

  it('the live ring keeps the latest scores, oldest first, within its capacity', () => {
    const ring = new ScoreRing(3);
    for (let i = 0; i < 7; i++) ring.push({ score: i, normalizedScore: null });
    assert.deepEqual(
      ring.toArray().map((s) => s.score),
      [4, 5, 6],
    );
    assert.throws(() => new ScoreRing(0), /capacity/);
  });
});
