import assert from 'node:assert/strict';
import { fitModel } from '../src/padim/fit';
import type { Calibration } from '../src/model/model';
import { seededRng, type Rng } from '../src/math/random';
import { Scorer } from '../src/padim/scorer';
import { generateTexture } from '../src/synthetic';
import {
  expectedFalseAlarmRate,
  falseAlarmInterval,
  fewImagesWarning,
  thresholdForFalseAlarmRate,
  wilsonInterval,
} from '../src/threshold';
import { caughtAtFalseAlarmRate, operatingPoint } from '../src/eval/metrics';

/** Gumbel(0, 1) sample and survival: the law of a maximum of many light-tailed values. */
const gumbel = (rng: Rng) => -Math.log(-Math.log(rng()));
const gumbelSurvival = (t: number) => 1 - Math.exp(-Math.exp(-t));

function calibrationOf(scores: number[]): Calibration {
  return { method: 'held-out', scores: [...scores].sort((a, b) => a - b) };
}

describe('false-alarm rate from held-out scores', () => {
  it('inverts: the threshold for a rate has that expected rate, empirical range and tail alike', () => {
    const rng = seededRng(1);
    const cal = calibrationOf(Array.from({ length: 200 }, () => gumbel(rng)));
    for (const rate of [0.0005, 0.01, 0.05, 0.1, 0.3, 0.9]) {
      const t = thresholdForFalseAlarmRate(cal, rate);
      assert.ok(
        Math.abs(expectedFalseAlarmRate(cal, t) - rate) < 1e-9 * Math.max(1, 1 / rate),
        `rate ${rate}`,
      );
    }
    // monotone: a higher threshold never expects more false alarms
    let last = 1;
    for (let t = -2; t < 10; t += 0.05) {
      const r = expectedFalseAlarmRate(cal, t);
      assert.ok(r <= last + 1e-12, `not decreasing at ${t}`);
      last = r;
    }
  });

  it('for Gumbel scores (known law) the 95% interval covers the true rate of the 1% threshold in most draws', () => {
    const rng = seededRng(2);
    let covered = 0;
    let above = 0;
    const draws = 200;
    for (let k = 0; k < draws; k++) {
      const cal = calibrationOf(Array.from({ length: 200 }, () => gumbel(rng)));
      const t = thresholdForFalseAlarmRate(cal, 0.01);
      const truth = gumbelSurvival(t);
      const ci = falseAlarmInterval(cal, t);
      if (truth >= ci.low && truth <= ci.high) covered++;
      if (truth > ci.high) above++;
    }
    assert.ok(covered / draws >= 0.9, `coverage ${covered / draws}`);
    assert.ok(above / draws <= 0.05, `true rate above the interval in ${above / draws} of draws`);
  });

  it('rejects damaged calibration scores and a rate outside (0, 1), and warns when images are few', () => {
    assert.throws(
      () => expectedFalseAlarmRate({ method: 'held-out', scores: [] }, 1),
      /no calibration scores/,
    );
    assert.throws(() => expectedFalseAlarmRate({ method: 'held-out', scores: [2, 1] }, 1), /ascending/);
    assert.throws(
      () => expectedFalseAlarmRate({ method: 'held-out', scores: [1, NaN] as number[] }, 1),
      /ascending finite/,
    );
    const cal = calibrationOf([1, 2, 3, 4, 5]);
    assert.throws(() => thresholdForFalseAlarmRate(cal, 0), RangeError);
    assert.throws(() => thresholdForFalseAlarmRate(cal, 1), RangeError);
    // a damaged stored tail is refitted, not trusted
    const bad = { ...cal, tail: { kind: 'exponential' as const, start: 1, scale: -1, exceedances: 2 } };
    assert.equal(expectedFalseAlarmRate(bad, 4.5), expectedFalseAlarmRate(cal, 4.5));
    assert.match(fewImagesWarning(cal, 0.01) ?? '', /rests on 5 held-out images/);
    assert.equal(fewImagesWarning(calibrationOf(Array.from({ length: 1000 }, (_, i) => i)), 0.01), undefined);
  });
});

describe('operating points on labelled scores', () => {
  it('counts false alarms and defects caught above a threshold, and finds the lowest threshold for a rate', () => {
    const scores = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 4.5, 9.5, 11];
    const labels = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1];
    const p = operatingPoint(scores, labels, 8.5);
    assert.deepEqual([p.falseAlarms, p.defectsCaught], [2, 2]);
    const at10 = caughtAtFalseAlarmRate(scores, labels, 0.1); // one of ten goods may be NG
    assert.equal(at10.threshold, 9);
    assert.equal(at10.falseAlarms, 1);
    assert.equal(at10.caught, 2 / 3);
    const at0 = caughtAtFalseAlarmRate(scores, labels, 0.001); // none may: above the highest good
    assert.equal(at0.falseAlarms, 0);
    assert.equal(at0.caught, 1 / 3);
  });
});

describe('a fitted model on a generated texture (fresh good images)', () => {
  it('flags the budgeted share of fresh good images, within the intervals', async function () {
    this.timeout(600000);
    const size = 64;
    const image = (seed: number) => generateTexture('grain', size, size, seed);
    const budget = 0.1; // large enough to be measured on a few hundred fresh images
    const model = await fitModel(
      Array.from({ length: 60 }, (_, i) => image(1000 + i)),
      { size: { kind: 'resize', width: size, height: size }, threads: 1, dims: 20, falseAlarmRate: budget },
    );
    const cal = model.header.calibration as Calibration;
    assert.equal(cal.budget, budget);
    const ci = falseAlarmInterval(cal, model.header.threshold);
    const scorer = await Scorer.open(model, { threads: 1 });
    try {
      const fresh = 300;
      const results = await scorer.scoreMany(Array.from({ length: fresh }, (_, i) => image(5000 + i)));
      const flagged = results.filter((r) => r.score > model.header.threshold).length;
      const measured = wilsonInterval(flagged, fresh);
      // the measured rate's own interval overlaps the budget's
      assert.ok(
        measured.high >= ci.low && measured.low <= ci.high,
        `flagged ${flagged}/${fresh}, interval ${JSON.stringify(ci)}`,
      );
    } finally {
      await scorer.dispose();
    }
  });
});
