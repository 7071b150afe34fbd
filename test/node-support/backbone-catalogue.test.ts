/**
 * The editor's pull jobs as a state machine: running -> done | failed, a second start joining
 * the running job, a failed one started again. The download is a function the test steps by
 * hand (so each state can be looked at); the real download from a real HTTP mirror is in
 * test/nodes/padim-model-backbones.test.ts.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PullOptions } from '../../src/backbone/registry/store';
import { backboneCatalogue, PullJobs, PullRefused } from '../../src/node-support/backbone-catalogue';
import { findEntry } from '../../src/backbone/registry/registry';
import { tempDir } from '../helpers';

/** A pull the test finishes: `progress(n)` reports bytes, `finish()` / `fail(e)` end it. */
function steppedPull() {
  const calls: { name: string; opts: PullOptions; resolve: () => void; reject: (e: Error) => void }[] = [];
  const fn = (_dir: string, name: string, opts: PullOptions) =>
    new Promise<void>((resolve, reject) => calls.push({ name, opts, resolve, reject }));
  return { fn, calls };
}

describe('backbone catalogue and pull jobs', () => {
  it('running, progress, done; a second start joins the running job', async () => {
    const { fn, calls } = steppedPull();
    const jobs = new PullJobs(fn);
    const first = jobs.start('/models', 'resnet18');
    assert.equal(first.started, true);
    assert.deepEqual(first.job, {
      name: 'resnet18',
      state: 'running',
      received: 0,
      total: findEntry('resnet18')!.bytes,
    });
    calls[0].opts.onProgress!(1000, first.job.total);
    assert.equal(jobs.get('resnet18')?.received, 1000);
    const second = jobs.start('/models', 'resnet18');
    assert.equal(second.started, false);
    assert.equal(calls.length, 1, 'no second download');
    calls[0].resolve();
    await second.done;
    assert.equal(jobs.get('resnet18')?.state, 'done');
    assert.equal(jobs.get('resnet18')?.received, first.job.total);
  });

  it('failed keeps the error; a new start runs again', async () => {
    const { fn, calls } = steppedPull();
    const jobs = new PullJobs(fn);
    const a = jobs.start('/models', 'efficientnet_b0');
    calls[0].reject(new Error('download of x failed: offline. This machine cannot reach it'));
    await a.done;
    assert.equal(jobs.get('efficientnet_b0')?.state, 'failed');
    assert.match(jobs.get('efficientnet_b0')?.error ?? '', /cannot reach it/);
    const b = jobs.start('/models', 'efficientnet_b0');
    assert.equal(b.started, true);
    assert.equal(jobs.get('efficientnet_b0')?.error, undefined);
    assert.equal(calls.length, 2);
  });

  it('refuses unknown names (404) and entries without a published checksum (409)', () => {
    const jobs = new PullJobs(steppedPull().fn);
    assert.throws(
      () => jobs.start('/m', 'nope'),
      (e: unknown) => e instanceof PullRefused && e.status === 404,
    );
    assert.throws(
      () => jobs.start('/m', 'mobilenetv2-12'),
      (e: unknown) => e instanceof PullRefused && e.status === 409,
    );
    assert.equal(jobs.get('nope'), undefined);
  });

  it('the catalogue: installed, downloaded, missing; auto follows what is installed', () => {
    const dir = tempDir();
    const missing = backboneCatalogue(dir);
    assert.equal(missing.auto, 'builtin:filterbank');
    assert.ok(missing.items.every((i) => i.state === 'missing'));
    // a downloaded file (not yet prepared) already counts for auto: it is prepared at first use
    fs.writeFileSync(path.join(dir, findEntry('resnet18')!.file), 'x');
    fs.writeFileSync(path.join(dir, 'wide_resnet50_2_Opset16.onnx'), 'x');
    fs.writeFileSync(path.join(dir, 'wide_resnet50_2_Opset16.padim.onnx'), 'x');
    const c = backboneCatalogue(dir);
    const state = (n: string) => c.items.find((i) => i.name === n)?.state;
    assert.equal(state('resnet18'), 'downloaded');
    assert.equal(state('wide_resnet50_2'), 'installed');
    assert.equal(state('efficientnet_b0'), 'missing');
    assert.equal(c.auto, 'wide_resnet50_2');
    // the int8 MobileNetV2 (blocks 3/6/10) before the float one (discovery: block 13), as measured on bottle
    const mobile = tempDir();
    for (const n of ['mobilenetv2-7', 'mobilenetv2-12-int8'])
      fs.writeFileSync(path.join(mobile, findEntry(n)!.file), 'x');
    assert.equal(backboneCatalogue(mobile).auto, 'mobilenetv2-12-int8');
  });

  it('the other names the field takes: auto and the built-in first, then presets not listed as items', () => {
    const c = backboneCatalogue(tempDir());
    assert.deepEqual(c.fixed, ['auto', 'builtin:filterbank']);
    // resnet18 and wide_resnet50_2 are presets and registry backbones: offered once, as items
    assert.deepEqual(c.presets, ['resnet50v2', 'mobilenetv2', 'mobilenetv2-int8', 'squeezenet']);
    const offered = [...c.fixed, ...c.items.map((i) => i.name), ...c.presets];
    assert.equal(new Set(offered).size, offered.length, 'no name offered twice');
  });
});
