/**
 * PreviewThrottle: the first item goes at once, items offered within the interval wait for its
 * end, the latest of them wins, and close drops what waits. Real timers, short intervals, and a
 * clock the test moves to say when "now" is.
 */
import assert from 'node:assert/strict';
import { PreviewThrottle } from '../../src/node-support/preview-throttle';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('PreviewThrottle', () => {
  it('publishes the first item at once', () => {
    const published: string[] = [];
    const t = new PreviewThrottle<string>({ intervalMs: 1000, publish: (x) => published.push(x) });
    t.offer('a');
    assert.deepEqual(published, ['a']);
    t.close();
  });

  it('within the interval, only the latest offered item is published, at the end of the interval', async () => {
    const published: { item: string; at: number }[] = [];
    const t0 = Date.now();
    const t = new PreviewThrottle<string>({
      intervalMs: 60,
      publish: (item) => published.push({ item, at: Date.now() - t0 }),
    });
    t.offer('a');
    t.offer('b');
    t.offer('c');
    assert.deepEqual(
      published.map((p) => p.item),
      ['a'],
    );
    await sleep(120);
    assert.deepEqual(
      published.map((p) => p.item),
      ['a', 'c'],
      'b was replaced by c before the interval ended',
    );
    assert.ok(published[1].at >= 55, `the second publish waited for the interval (${published[1].at} ms)`);
    t.close();
  });

  it('once the interval is over, an item goes at once again', async () => {
    let now = 1000;
    const published: string[] = [];
    const t = new PreviewThrottle<string>({
      intervalMs: 250,
      publish: (x) => published.push(x),
      now: () => now,
    });
    t.offer('a');
    now += 100;
    t.offer('b'); // waits (150 ms left)
    assert.deepEqual(published, ['a']);
    await sleep(200);
    assert.deepEqual(published, ['a', 'b']);
    now += 1000;
    t.offer('c');
    assert.deepEqual(published, ['a', 'b', 'c'], 'a long pause: no wait');
    t.close();
  });

  it('an item offered while one waits does not start a second timer', async () => {
    const published: string[] = [];
    const t = new PreviewThrottle<string>({ intervalMs: 40, publish: (x) => published.push(x) });
    t.offer('a');
    for (let i = 0; i < 20; i++) t.offer(`b${i}`);
    await sleep(150);
    assert.deepEqual(published, ['a', 'b19']);
    t.close();
  });

  it('close drops the waiting item and nothing is published after it', async () => {
    const published: string[] = [];
    const t = new PreviewThrottle<string>({ intervalMs: 30, publish: (x) => published.push(x) });
    t.offer('a');
    t.offer('b');
    t.close();
    t.offer('c');
    await sleep(80);
    assert.deepEqual(published, ['a']);
  });
});
