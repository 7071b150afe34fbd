import assert from 'node:assert/strict';
import { median } from '../src/math/median';

describe('median', () => {
  it('takes the middle value of an odd count, whatever the order', () => {
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([-2]), -2);
  });

  it('takes the mean of the two middle values of an even count', () => {
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([10, 0]), 5);
  });

  it('sorts numerically, not as text', () => {
    assert.equal(median([100, 9, 20]), 20);
  });

  it('leaves its input in its order', () => {
    const values = [3, 1, 2];
    median(values);
    assert.deepEqual(values, [3, 1, 2]);
  });

  it('is NaN for an empty list', () => {
    assert.ok(Number.isNaN(median([])));
  });
});
