import assert from 'node:assert/strict';
import { settleWithin } from '../../src/node-support/settle-within';

describe('settleWithin', () => {
  const later = (ms: number, fail = false) =>
    new Promise<void>((resolve, reject) => setTimeout(() => (fail ? reject(new Error('x')) : resolve()), ms));

  it('true when the work settles in time, fulfilled or rejected', async () => {
    assert.equal(await settleWithin(later(5), 500), true);
    assert.equal(await settleWithin(later(5, true), 500), true);
  });

  it('false after the timeout when the work has not settled, without waiting for it', async () => {
    const t0 = Date.now();
    assert.equal(await settleWithin(new Promise(() => undefined), 40), false);
    const waited = Date.now() - t0;
    assert.ok(waited >= 35 && waited < 400, `waited ${waited} ms`);
  });

  it('answers as soon as the work settles, not at the timeout', async () => {
    const t0 = Date.now();
    await settleWithin(later(10), 5000);
    assert.ok(Date.now() - t0 < 1000);
  });
});
