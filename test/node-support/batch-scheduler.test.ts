/**
 * BatchScheduler: a lone item goes at once, a burst is taken in full batches while the one
 * before runs, the queue's policy decides what a full queue gives up, and close stops it,
 * hands back the waiting items and waits (a bounded time) for the batch in flight.
 */
import assert from 'node:assert/strict';
import { BatchScheduler, type BatchSchedulerOptions } from '../../src/node-support/batch-scheduler';

/** A batch runner whose batches finish when the test says so. */
function gatedRunner() {
  const batches: number[][] = [];
  const gates: (() => void)[] = [];
  const run = (batch: number[]) => {
    batches.push(batch);
    return new Promise<void>((resolve) => gates.push(resolve));
  };
  /** finishes the oldest unfinished batch and lets the scheduler go on */
  const finishOne = async () => {
    gates.shift()?.();
    await new Promise((r) => setImmediate(r));
  };
  return {
    batches,
    run,
    finishOne,
    get open() {
      return gates.length;
    },
  };
}

const scheduler = (
  opts: Partial<BatchSchedulerOptions<number>> & Pick<BatchSchedulerOptions<number>, 'run'>,
) => new BatchScheduler<number>({ capacity: 8, policy: 'drop-oldest', batchSize: 3, ...opts });

describe('BatchScheduler', () => {
  it('starts a lone item at once, then takes what waited in batches of at most batchSize', async () => {
    const r = gatedRunner();
    const s = scheduler({ run: r.run });
    s.push(1);
    assert.deepEqual(r.batches, [[1]], 'the first item is not held back to fill a batch');
    for (const n of [2, 3, 4, 5, 6, 7, 8]) s.push(n);
    assert.equal(r.batches.length, 1, 'one batch at a time');
    assert.equal(s.state.queued, 7);
    await r.finishOne();
    await r.finishOne();
    await r.finishOne();
    assert.deepEqual(r.batches, [[1], [2, 3, 4], [5, 6, 7], [8]]);
    await r.finishOne();
    assert.equal(s.state.queued, 0);
    assert.equal(r.open, 0);
  });

  it('an item that arrives after the queue emptied starts a new batch', async () => {
    const r = gatedRunner();
    const s = scheduler({ run: r.run });
    s.push(1);
    await r.finishOne();
    s.push(2);
    assert.deepEqual(r.batches, [[1], [2]]);
    await r.finishOne();
  });

  it('calls afterBatch once per batch, after the batch', async () => {
    const r = gatedRunner();
    const seen: number[] = [];
    const s = scheduler({ run: r.run, afterBatch: () => seen.push(r.batches.length) });
    s.push(1);
    s.push(2);
    s.push(3);
    assert.deepEqual(seen, []);
    await r.finishOne();
    assert.deepEqual(seen, [1]);
    await r.finishOne();
    assert.deepEqual(seen, [1, 2]);
  });

  it('the queue policy decides what a full queue gives up, and counts it', async () => {
    const oldest = gatedRunner();
    const s = scheduler({ run: oldest.run, capacity: 2, batchSize: 1 });
    s.push(1); // running
    s.push(2);
    s.push(3);
    assert.deepEqual(s.push(4), { queued: true, evicted: 2 });
    for (let i = 0; i < 3; i++) await oldest.finishOne();
    assert.deepEqual(oldest.batches, [[1], [3], [4]]);
    assert.equal(s.state.dropped, 1);

    const reject = gatedRunner();
    const r = scheduler({ run: reject.run, capacity: 1, batchSize: 1, policy: 'reject' });
    r.push(1);
    r.push(2);
    assert.deepEqual(r.push(3), { queued: false, item: 3 });
    assert.deepEqual(
      { rejected: r.state.rejected, dropped: r.state.dropped, full: r.state.full },
      {
        rejected: 1,
        dropped: 0,
        full: true,
      },
    );
    await reject.finishOne();
    await reject.finishOne();
    assert.deepEqual(reject.batches, [[1], [2]]);
  });

  it('a batch that throws goes to onError and the next batch still runs', async () => {
    const errors: unknown[] = [];
    const ran: number[][] = [];
    const s = scheduler({
      batchSize: 1,
      run: async (batch) => {
        ran.push(batch);
        if (batch[0] === 1) throw new Error('boom');
      },
      onError: (err) => errors.push(err),
    });
    s.push(1);
    s.push(2);
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(ran, [[1], [2]]);
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /boom/);
  });

  it('close gives up the waiting items at once, oldest first, and waits for the batch in flight', async () => {
    const r = gatedRunner();
    const s = scheduler({ run: r.run, batchSize: 2 });
    for (const n of [1, 2, 3, 4]) s.push(n);
    const givenUp: number[] = [];
    let finished: boolean | undefined;
    const closing = s.close(1000, (n) => givenUp.push(n)).then((f) => (finished = f));
    assert.deepEqual(givenUp, [2, 3, 4]);
    await new Promise((res) => setTimeout(res, 20));
    assert.equal(finished, undefined, 'still waiting for the batch being run');
    await r.finishOne();
    await closing;
    assert.equal(finished, true);
    assert.deepEqual(r.batches, [[1]], 'no batch after close');
    assert.deepEqual(s.push(5), { queued: false, item: 5 }, 'nothing is queued after close');
    assert.deepEqual(r.batches, [[1]]);
  });

  it('close gives up waiting after its timeout when the batch never finishes', async () => {
    const r = gatedRunner();
    const s = scheduler({ run: r.run });
    s.push(1);
    const t0 = Date.now();
    const finished = await s.close(60, () => assert.fail('nothing was waiting'));
    const waited = Date.now() - t0;
    assert.equal(finished, false);
    assert.ok(waited >= 55 && waited < 1000, `waited ${waited} ms`);
  });

  it('close with nothing running resolves at once', async () => {
    const s = scheduler({ run: async () => undefined });
    const t0 = Date.now();
    assert.equal(await s.close(5000, () => undefined), true);
    assert.ok(Date.now() - t0 < 1000);
  });

  it('refuses a batch size that is not a whole number of at least 1', () => {
    assert.throws(() => scheduler({ run: async () => undefined, batchSize: 0 }), /batch size/);
    assert.throws(() => scheduler({ run: async () => undefined, batchSize: 1.5 }), /batch size/);
  });
});
