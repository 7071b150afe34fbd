/**
 * The padim-model dialog's admin endpoints in real Node-RED (the test helper's runtime):
 * GET /padim-models/backbones lists the registry's backbones installed or missing, and POST
 * /padim-models/backbones/<name>/pull pulls one from a real HTTP mirror on 127.0.0.1 (the
 * runtime's PADIM_MODELS_MIRROR), with progress while it runs and the error when it fails.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { Catalogue, PullJob } from '../../src/node-support/backbone-catalogue';
import { findEntry } from '../../src/backbone/registry/registry';
import { freePort, sharedDir, tempDir } from '../helpers';
import { ALL_NODES, SMALL_MODEL, helper } from './fixtures';

/** Polls the async `check` until it gives a value, or rejects after `ms`. */
async function until<T>(check: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Mirror {
  url: string;
  requests: string[];
  close: () => Promise<void>;
}

/** Serves `files` by name; those in `slow` at 64 KiB per 20 ms, so that a pull is seen running. */
async function mirror(files: Record<string, Buffer>, slow: string[]): Promise<Mirror> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? '').slice(1));
    requests.push(name);
    const body = files[name];
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Length': body.length });
    if (!slow.includes(name)) {
      res.end(body);
      return;
    }
    let at = 0;
    const send = () => {
      if (res.destroyed) return;
      if (at >= body.length) {
        res.end();
        return;
      }
      res.write(body.subarray(at, (at += 65536)));
      setTimeout(send, 20);
    };
    send();
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('padim-model backbone endpoints', function () {
  this.timeout(120_000);
  const saved = { dir: process.env.PADIM_MODELS_DIR, mirror: process.env.PADIM_MODELS_MIRROR };
  let dir: string;
  let files: Mirror;
  // the size the registry gives for resnet18, but not its bytes
  const wrong = Buffer.alloc(findEntry('resnet18')!.bytes, 7);

  before(async () => {
    const shared = sharedDir();
    const served: Record<string, Buffer> = { 'resnet18_Opset16.onnx': wrong };
    if (shared)
      served['mobilenetv2-12-int8.onnx'] = fs.readFileSync(
        path.join(shared, 'models/mobilenetv2-12-int8.onnx'),
      );
    files = await mirror(served, ['mobilenetv2-12-int8.onnx']);
    process.env.PADIM_MODELS_MIRROR = files.url;
  });
  beforeEach(async () => {
    dir = tempDir('padim-models-editor-');
    process.env.PADIM_MODELS_DIR = dir;
    await helper.load(ALL_NODES, [{ id: 'm1', type: 'padim-model', path: 'x.padim', ...SMALL_MODEL }]);
  });
  afterEach(() => helper.unload());
  after(async () => {
    await files.close();
    for (const [k, v] of [
      ['PADIM_MODELS_DIR', saved.dir],
      ['PADIM_MODELS_MIRROR', saved.mirror],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  const list = async (): Promise<Catalogue> =>
    (await helper.request().get('/padim-models/backbones').expect(200)).body as Catalogue;
  const item = (c: Catalogue, name: string) => c.items.find((i) => i.name === name);

  it('lists every registry backbone as missing in an empty models directory; auto is the filter bank', async () => {
    const c = await list();
    assert.equal(c.dir, dir);
    assert.equal(c.auto, 'builtin:filterbank');
    assert.ok(item(c, 'wide_resnet50_2'), 'the paper network is listed');
    assert.ok(c.items.every((i) => i.state === 'missing'));
    assert.equal(item(c, 'wide_resnet50_2')?.bytes, findEntry('wide_resnet50_2')?.bytes);
    assert.equal(item(c, 'mobilenetv2-12')?.pullable, false, 'no published checksum: not pullable');
  });

  it('refuses unknown names, names that are not names, and entries without a checksum', async () => {
    await helper.request().post('/padim-models/backbones/nope/pull').expect(404);
    await helper.request().post('/padim-models/backbones/..%2Fetc/pull').expect(400);
    const r = await helper.request().post('/padim-models/backbones/mobilenetv2-12/pull').expect(409);
    assert.match((r.body as { error: string }).error, /no published SHA-256/);
    assert.equal(files.requests.length, 0, 'nothing was fetched');
  });

  it('a pull whose file does not match the checksum fails with the error shown, nothing kept', async () => {
    const r = await helper.request().post('/padim-models/backbones/resnet18/pull').expect(202);
    assert.equal((r.body as PullJob).state, 'running');
    const job = await until(
      async () => {
        const j = item(await list(), 'resnet18')?.pull;
        return j && j.state !== 'running' ? j : undefined;
      },
      30_000,
      'the pull to end',
    );
    assert.equal(job.state, 'failed');
    assert.match(job.error ?? '', /checksum mismatch for .*resnet18_Opset16\.onnx.*nothing was kept/);
    assert.equal(item(await list(), 'resnet18')?.state, 'missing');
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.startsWith('resnet18')),
      [],
      'no file or partial left',
    );
  });

  it('pulls the int8 zoo file from the mirror: progress while running, then installed and used by auto', async function () {
    if (!sharedDir()) {
      console.log('      (skipped: pulling the int8 zoo file needs ../shared/models)');
      this.skip();
    }
    const r = await helper.request().post('/padim-models/backbones/mobilenetv2-12-int8/pull').expect(202);
    const again = await helper.request().post('/padim-models/backbones/mobilenetv2-12-int8/pull').expect(200);
    assert.equal((again.body as PullJob).state, 'running', 'a second request joins the running pull');
    assert.equal((r.body as PullJob).total, findEntry('mobilenetv2-12-int8')?.bytes);
    const partway = await until(
      async () => {
        const j = item(await list(), 'mobilenetv2-12-int8')?.pull;
        return j && j.state === 'running' && j.received > 0 && j.received < j.total ? j : undefined;
      },
      30_000,
      'progress',
    );
    assert.ok(partway.received < partway.total);
    const done = await until(
      async () => {
        const c = await list();
        return item(c, 'mobilenetv2-12-int8')?.pull?.state === 'done' ? c : undefined;
      },
      60_000,
      'the pull to finish',
    );
    assert.equal(item(done, 'mobilenetv2-12-int8')?.state, 'installed');
    assert.equal(done.auto, 'mobilenetv2-12-int8');
    assert.ok(
      fs.existsSync(path.join(dir, 'mobilenetv2-12-int8.padim.onnx')),
      'prepared beside the download',
    );
    assert.equal(files.requests.filter((f) => f === 'mobilenetv2-12-int8.onnx').length, 1, 'fetched once');
  });
});
