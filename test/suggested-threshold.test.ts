import assert from 'node:assert/strict';
import { openStoredBackbone, openBackbone } from '../src/backbone/backbone';
import { BUILTIN_FILTERBANK } from '../src/backbone/presets';
import type { Calibration } from '../src/model/model';
import {
  describeScores,
  placeThreshold,
  suggestThreshold,
  thresholdForFalseAlarmRate,
  refuseDegenerate,
  DegenerateTrainingError,
  checkFalseAlarmRate,
} from '../src/threshold';

const ascending = (n: number) => Array.from({ length: n }, (_, i) => 1 + 0.1 * i);

describe('the suggested threshold (threshold/suggested-threshold)', () => {
  it('describes scores by order statistics interpolated linearly, and empty input as zeros', () => {
    const d = describeScores([4, 1, 3, 2, 5]);
    assert.deepEqual(
      { count: d.count, min: d.min, max: d.max, mean: d.mean, p50: d.p50, p90: d.p90 },
      { count: 5, min: 1, max: 5, mean: 3, p50: 3, p90: 4.6 },
    );
    assert.ok(Math.abs(d.std - Math.sqrt(2.5)) < 1e-12);
    assert.equal(describeScores([]).max, 0);
  });

  it('places the budget threshold on held-out scores, with their tail and the budget kept', () => {
    const cal: Calibration = { method: 'held-out', heldOut: 'leave-one-out', scores: ascending(60) };
    const placed = placeThreshold(cal, 0.05);
    assert.equal(placed.calibration.budget, 0.05);
    assert.equal(placed.calibration.tail?.kind, 'exponential');
    assert.equal(placed.threshold, thresholdForFalseAlarmRate(placed.calibration, 0.05));
    assert.equal(placed.trainScores.count, 60);
    assert.notEqual(placed.threshold, suggestThreshold(placed.trainScores));
  });

  it('keeps the max/mean rule for in-sample scores, without a tail or budget', () => {
    const cal: Calibration = { method: 'in-sample', scores: ascending(6) };
    const placed = placeThreshold(cal, 0.01);
    assert.equal(
      placed.threshold,
      Math.max(1.5 * 1.05, placed.trainScores.mean + 3 * placed.trainScores.std),
    );
    assert.equal(placed.calibration, cal);
  });

  it('refuses scores that do not vary, and a budget outside (0, 1)', () => {
    const flat = placeThreshold({ method: 'held-out', heldOut: 'block', scores: [0, 0, 0] }, 0.01);
    assert.throws(
      () => refuseDegenerate(flat, 12),
      (err: Error) => {
        assert.ok(err instanceof DegenerateTrainingError);
        assert.match(err.message, /the 12 training images do not vary/);
        return true;
      },
    );
    refuseDegenerate(placeThreshold({ method: 'in-sample', scores: ascending(4) }, 0.01), 4);
    assert.throws(() => checkFalseAlarmRate(1), /falseAlarmRate must be between 0 and 1/);
    assert.throws(() => checkFalseAlarmRate(0), RangeError);
    assert.equal(checkFalseAlarmRate(0.02), 0.02);
  });
});

describe("opening a model's backbone (openStoredBackbone)", () => {
  it('opens the recorded backbone with its layers, and refuses other bytes by their SHA-256', async () => {
    const reference = await openBackbone(BUILTIN_FILTERBANK);
    const stored = { id: reference.id, sha256: reference.sha256, layers: reference.layers };
    await reference.dispose();
    const again = await openStoredBackbone(stored, { threads: 1 });
    try {
      assert.equal(again.sha256, stored.sha256);
      assert.deepEqual(again.layers, stored.layers);
    } finally {
      await again.dispose();
    }
    await assert.rejects(
      openStoredBackbone({ ...stored, sha256: '0'.repeat(64) }, {}),
      /the backbone builtin:filterbank \(sha256 [0-9a-f]{12}…\) is not the one this model was fitted with \(builtin:filterbank, sha256 000000000000…\)/,
    );
    let checked = '';
    await assert.rejects(
      openStoredBackbone(
        { ...stored, path: '/nowhere/net.onnx' },
        {
          checkStoredPath: (p) => {
            checked = p;
            throw new Error('not allowed');
          },
        },
      ),
      /not allowed/,
    );
    assert.equal(checked, '/nowhere/net.onnx');
  });
});
