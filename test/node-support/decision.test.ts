import assert from 'node:assert/strict';
import { Decider } from '../../src/node-support/decision';

describe('Decider', () => {
  it("compares the score with the model's threshold", () => {
    const d = new Decider({ mode: 'model' });
    assert.equal(d.decide({ score: 4, threshold: 5 }).ok, true);
    const ng = d.decide({ score: 6, threshold: 5 });
    assert.equal(ng.ok, false);
    assert.equal(ng.alarm, true);
    assert.equal(ng.scoreThreshold, 5);
    assert.deepEqual(d.counts, { ok: 1, ng: 1, alarms: 1 });
    assert.throws(() => d.decide({ score: 1 }), /model's threshold/);
  });

  it('compares with a fixed threshold, and the normalised score with a limit', () => {
    const fixed = new Decider({ mode: 'fixed', value: 10 });
    assert.equal(fixed.decide({ score: 9.9, threshold: 1 }).ok, true);
    assert.equal(fixed.decide({ score: 10, threshold: 1 }).ok, false);
    const norm = new Decider({ mode: 'normalized', value: 1.5 });
    const r = norm.decide({ score: 8, normalizedScore: 1.6, threshold: 5 });
    assert.equal(r.ok, false);
    assert.equal(r.value, 1.6);
    // the limit in score units: 1.5 x the model threshold
    assert.equal(r.scoreThreshold, 7.5);
    assert.throws(() => new Decider({ mode: 'fixed' }), /above 0/);
  });

  it('debounce: an alarm only from the N-th NG image in a row', () => {
    const d = new Decider({ mode: 'fixed', value: 1, debounce: 3 });
    const alarms = [2, 2, 0, 2, 2, 2, 2].map((score) => d.decide({ score }).alarm);
    assert.deepEqual(alarms, [false, false, false, false, false, true, true]);
    assert.equal(d.counts.ng, 6);
  });

  it('hysteresis: after an NG image, OK again only below threshold x (1 - h)', () => {
    const d = new Decider({ mode: 'fixed', value: 10, hysteresis: 0.2 });
    const ok = [11, 9, 7.9, 9].map((score) => d.decide({ score }).ok);
    // 9 after an NG stays NG (needs < 8); 7.9 is OK; then 9 is OK again (< 10)
    assert.deepEqual(ok, [false, false, true, true]);
  });

  it('reset forgets the run and the counts', () => {
    const d = new Decider({ mode: 'fixed', value: 1, debounce: 2 });
    d.decide({ score: 2 });
    d.reset();
    assert.equal(d.decide({ score: 2 }).alarm, false);
    assert.deepEqual(d.counts, { ok: 0, ng: 1, alarms: 0 });
  });
});
