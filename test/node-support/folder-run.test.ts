/**
 * FolderRun: the files in order, paced by the interval, once or looping, progress after each
 * file and a count after each pass, and stop() ends it at once, mid-pause included.
 */
import assert from 'node:assert/strict';
import { FolderRun, type FolderRunOptions } from '../../src/node-support/folder-run';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function recorder(opts: Partial<FolderRunOptions> = {}) {
  const sent: { file: string; index: number; at: number }[] = [];
  const progress: string[] = [];
  const passes: string[] = [];
  const t0 = Date.now();
  const run = new FolderRun({
    files: ['a', 'b', 'c'],
    intervalMs: 0,
    loop: false,
    send: async (file, index) => {
      sent.push({ file, index, at: Date.now() - t0 });
      return file !== 'b';
    },
    onProgress: (done, count) => progress.push(`${done}/${count}`),
    onPass: (ok, count) => passes.push(`${ok}/${count}`),
    ...opts,
  });
  return { run, sent, progress, passes };
}

describe('FolderRun', () => {
  it('sends the files in order, once, and counts the ones that went out', async () => {
    const { run, sent, progress, passes } = recorder();
    await run.start();
    assert.deepEqual(
      sent.map((s) => `${s.index}:${s.file}`),
      ['0:a', '1:b', '2:c'],
    );
    assert.deepEqual(progress, ['1/3', '2/3', '3/3']);
    assert.deepEqual(passes, ['2/3'], 'b could not be sent');
    assert.equal(run.running, false);
  });

  it('waits the interval between files', async () => {
    const { run, sent } = recorder({ intervalMs: 40 });
    await run.start();
    assert.ok(sent[1].at - sent[0].at >= 35, `${sent[1].at - sent[0].at} ms between a and b`);
    assert.ok(sent[2].at - sent[1].at >= 35);
  });

  it('loops until stopped, and nothing is sent after stop', async () => {
    const { run, sent, passes } = recorder({ intervalMs: 20, loop: true });
    const over = run.start();
    await sleep(150);
    assert.ok(sent.length > 3, `looped: ${sent.length} sends`);
    assert.ok(passes.length >= 1);
    run.stop();
    await over;
    const count = sent.length;
    await sleep(60);
    assert.equal(sent.length, count, 'nothing sent after stop');
    assert.deepEqual(
      sent.slice(0, 4).map((s) => s.file),
      ['a', 'b', 'c', 'a'],
    );
  });

  it('stop during a pause ends the run at once, not at the end of the pause', async () => {
    const { run, sent } = recorder({ intervalMs: 2000 });
    const over = run.start();
    await sleep(20);
    const t0 = Date.now();
    run.stop();
    await over;
    assert.ok(Date.now() - t0 < 500, `the stop took ${Date.now() - t0} ms`);
    assert.equal(sent.length, 1);
  });

  it('with no interval it yields between files, so other work runs', async () => {
    const order: string[] = [];
    const { run } = recorder({
      files: ['a', 'b', 'c', 'd'],
      send: async (file) => {
        order.push(file);
        return true;
      },
    });
    setImmediate(() => order.push('other'));
    await run.start();
    assert.deepEqual(order, ['a', 'other', 'b', 'c', 'd']);
  });
});
