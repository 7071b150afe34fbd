import assert from 'node:assert/strict';
import { BoundedQueue } from '../../src/node-support/bounded-queue';

describe('BoundedQueue', () => {
  it('queues up to its capacity and hands items out in order', () => {
    const q = new BoundedQueue<number>(3, 'drop-oldest');
    for (const i of [1, 2, 3]) assert.deepEqual(q.push(i), { queued: true });
    assert.equal(q.length, 3);
    assert.ok(q.full);
    assert.deepEqual(q.take(2), [1, 2]);
    assert.deepEqual(q.take(5), [3]);
    assert.equal(q.length, 0);
  });

  it('drop-oldest evicts the head and counts it', () => {
    const q = new BoundedQueue<number>(2, 'drop-oldest');
    q.push(1);
    q.push(2);
    assert.deepEqual(q.push(3), { queued: true, evicted: 1 });
    assert.deepEqual(q.clear(), [2, 3]);
    assert.equal(q.dropped, 1);
  });

  it('drop-newest and reject refuse the arriving item, counted apart', () => {
    const newest = new BoundedQueue<string>(1, 'drop-newest');
    newest.push('a');
    assert.deepEqual(newest.push('b'), { queued: false, item: 'b' });
    assert.equal(newest.dropped, 1);
    assert.deepEqual(newest.clear(), ['a']);
    const reject = new BoundedQueue<string>(1, 'reject');
    reject.push('a');
    assert.deepEqual(reject.push('b'), { queued: false, item: 'b' });
    assert.equal(reject.rejected, 1);
    assert.equal(reject.dropped, 0);
  });

  it('refuses a size below 1 and unknown policies', () => {
    assert.throws(() => new BoundedQueue(0, 'reject'), /at least 1/);
    assert.throws(() => new BoundedQueue(1.5, 'reject'), /whole number/);
    assert.throws(() => new BoundedQueue(1, 'wait' as never), /policy must be one of/);
  });
});
