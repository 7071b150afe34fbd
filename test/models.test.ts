/**
 * padim models: a real HTTP server on 127.0.0.1 serving ../shared/models and generated files,
 * a real forwarding proxy, stage discovery and pruning checked against onnxruntime.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { openBackbone } from '../src/backbone/backbone';
import { fitModel } from '../src/padim/fit';
import { Scorer } from '../src/padim/scorer';
import { addDefect, generateTexture } from '../src/synthetic';
import { exposeOutputs } from '../src/onnx';
import { download, proxyFor } from '../src/backbone/registry/download';
import { readRegistry, findEntry } from '../src/backbone/registry/registry';
import { ensurePrepared, importFile, pull } from '../src/backbone/registry/store';
import { discoverStages, prepareBackbone } from '../src/backbone/stage-discovery';
import { freePort, requireShared, tempDir } from './helpers';

interface Served {
  url: string;
  requests: { path: string; range?: string; viaProxy?: boolean }[];
  close: () => Promise<void>;
}

/** Serves `files` by name; `cutFirst` closes the first answer after half the bytes. */
async function serve(files: Record<string, Buffer>, cutFirst = false): Promise<Served> {
  const requests: Served['requests'] = [];
  let cut = cutFirst;
  const server = http.createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? '').replace(/^https?:\/\/[^/]+/, '').slice(1));
    requests.push({ path: name, range: req.headers.range });
    const body = files[name];
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    res.writeHead(m ? 206 : 200, { 'Content-Length': body.length - start });
    if (cut) {
      cut = false;
      res.write(body.subarray(start, start + Math.floor(body.length / 2)));
      setTimeout(() => res.destroy(), 50);
      return;
    }
    res.end(body.subarray(start));
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('padim models', function () {
  this.timeout(120000);
  const body = Buffer.from(Array.from({ length: 300000 }, (_, i) => (i * 7919) % 251));

  it('the registry follows its schema and records the zoo checksums', () => {
    const entries = readRegistry();
    assert.equal(
      findEntry('wide_resnet50_2')?.sha256,
      '04f48d0e4db109ae7097e57a025f08ed34d5e1a27b32d49d327bdbe6b80fa291',
    );
    assert.equal(findEntry('wide_resnet50_2')?.bytes, 275421011);
    assert.ok(
      entries.every((e) => e.url.startsWith('https://media.githubusercontent.com/media/onnx/models/')),
    );
  });

  it('pulls the int8 zoo file from a mirror and prepares a dynamic backbone', async function () {
    const shared = requireShared(this, 'pull from a mirror');
    const file = fs.readFileSync(path.join(shared, 'models/mobilenetv2-12-int8.onnx'));
    const srv = await serve({ 'mobilenetv2-12-int8.onnx': file });
    const dir = tempDir();
    try {
      const s = await pull(dir, 'mobilenetv2-12-int8', { mirror: srv.url, env: {} });
      assert.equal(
        sha(fs.readFileSync(path.join(dir, 'mobilenetv2-12-int8.onnx'))),
        findEntry('mobilenetv2-12-int8')?.sha256,
      );
      const bb = await openBackbone('mobilenetv2-12-int8', { modelsDir: dir });
      try {
        assert.equal(bb.fixedInput, undefined, 'the prepared backbone takes any size');
        const maps = await bb.run(new Float32Array(3 * 256 * 640).fill(0.4), 1, 256, 640);
        assert.deepEqual(
          maps[0].map((m) => [m.channels, m.height, m.width]),
          [
            [24, 64, 160],
            [32, 32, 80],
            [64, 16, 40],
          ],
        );
      } finally {
        await bb.dispose();
      }
      assert.ok(s.prepared && fs.existsSync(s.prepared));
      // auto picks the installed pretrained backbone
      const auto = await openBackbone('auto', { modelsDir: dir });
      assert.equal(auto.id, 'mobilenetv2-12-int8');
      await auto.dispose();
    } finally {
      await srv.close();
    }
  });

  it('refuses a checksum mismatch and leaves nothing behind', async () => {
    const srv = await serve({ 'f.onnx': body });
    const dir = tempDir();
    const dest = path.join(dir, 'f.onnx');
    try {
      await assert.rejects(
        download(`${srv.url}/f.onnx`, dest, { sha256: '0'.repeat(64), bytes: body.length, env: {} }),
        /checksum mismatch.*nothing was kept/,
      );
      assert.deepEqual(fs.readdirSync(dir), []);
    } finally {
      await srv.close();
    }
  });

  it('resumes an interrupted download with a Range request', async () => {
    const srv = await serve({ 'f.onnx': body }, true);
    const dir = tempDir();
    const dest = path.join(dir, 'f.onnx');
    try {
      await assert.rejects(
        download(`${srv.url}/f.onnx`, dest, { sha256: sha(body), bytes: body.length, env: {}, retries: 0 }),
        /Run the same command again/,
      );
      const partial = fs.statSync(`${dest}.partial`).size;
      assert.ok(partial > 0 && partial < body.length);
      await download(`${srv.url}/f.onnx`, dest, { sha256: sha(body), bytes: body.length, env: {} });
      assert.equal(srv.requests[1].range, `bytes=${partial}-`);
      assert.ok(fs.readFileSync(dest).equals(body));
      assert.ok(!fs.existsSync(`${dest}.partial`));
    } finally {
      await srv.close();
    }
  });

  it('goes through HTTP_PROXY, and not for hosts in NO_PROXY', async () => {
    const origin = await serve({ 'f.onnx': body });
    const seen: string[] = [];
    const proxy = http.createServer((req, res) => {
      seen.push(req.url ?? '');
      const up = http.request(req.url ?? '', { headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.writeHead(502).end());
      up.end();
    });
    const port = await freePort();
    await new Promise<void>((r) => proxy.listen(port, '127.0.0.1', r));
    const dir = tempDir();
    try {
      const env = { HTTP_PROXY: `http://127.0.0.1:${port}` };
      await download(`${origin.url}/f.onnx`, path.join(dir, 'a.onnx'), {
        sha256: sha(body),
        bytes: body.length,
        env,
      });
      assert.deepEqual(seen, [`${origin.url}/f.onnx`]);
      await download(`${origin.url}/f.onnx`, path.join(dir, 'b.onnx'), {
        sha256: sha(body),
        bytes: body.length,
        env: { ...env, NO_PROXY: 'localhost,127.0.0.1' },
      });
      assert.equal(seen.length, 1, 'NO_PROXY host fetched directly');
      assert.equal(
        proxyFor(new URL('https://media.githubusercontent.com/x'), {
          HTTPS_PROXY: 'proxy:3128',
          NO_PROXY: '.example.com',
        })?.host,
        'proxy:3128',
      );
      assert.equal(
        proxyFor(new URL('https://a.example.com/x'), { HTTPS_PROXY: 'proxy:3128', NO_PROXY: '.example.com' }),
        undefined,
      );
    } finally {
      await origin.close();
      await new Promise((r) => proxy.close(r));
    }
  });

  it('says what to do when the host is unreachable', async () => {
    const port = await freePort();
    const dir = tempDir();
    await assert.rejects(
      download(`http://127.0.0.1:${port}/f.onnx`, path.join(dir, 'f.onnx'), {
        sha256: sha(body),
        bytes: body.length,
        env: {},
        retries: 1,
        retryDelayMs: 10,
      }),
      /cannot reach it.*--mirror.*padim models import/,
    );
  });

  it('refuses to import a file whose checksum is not the registry one', async () => {
    const dir = tempDir();
    const src = path.join(tempDir(), 'resnet18_Opset16.onnx');
    fs.writeFileSync(src, body);
    await assert.rejects(importFile(dir, src), /not the published resnet18.*nothing was imported/);
    await assert.rejects(importFile(dir, src, 'wide_resnet50_2'), /not the published wide_resnet50_2/);
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  it('int8 zoo file: stages found at 4/8/16 as the preset, pruned outputs equal the full graph to 1e-5', async function () {
    const shared = requireShared(this, 'stage discovery on the int8 zoo file');
    const bytes = fs.readFileSync(path.join(shared, 'models/mobilenetv2-12-int8.onnx'));
    const found = await discoverStages(bytes);
    const names = found.stages.map((s) => s.name);
    assert.deepEqual(names, ['339_quantized', '365_quantized', '426_quantized']);
    assert.deepEqual(
      found.stages.map((s) => s.stride),
      [4, 8, 16],
    );
    const pruned = await prepareBackbone(bytes, names);
    assert.ok(pruned.dynamic);
    const full = exposeOutputs(bytes, names);
    const input = new Float32Array(3 * 224 * 224).map((_, i) => ((i * 37) % 101) / 101);
    const feeds = { input: new ort.Tensor('float32', input, [1, 3, 224, 224]) };
    const a = await (await ort.InferenceSession.create(full.bytes)).run(feeds, full.outputs);
    const b = await (await ort.InferenceSession.create(pruned.bytes)).run(feeds, pruned.outputs);
    full.outputs.forEach((n, k) => {
      const x = a[n].data as Float32Array;
      const y = b[pruned.outputs[k]].data as Float32Array;
      assert.equal(x.length, y.length);
      let worst = 0;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
      assert.ok(worst <= 1e-5, `stage ${k}: max difference ${worst}`);
    });
  });

  it('int8 zoo file made dynamic: fitted with size auto on 2.5:1 images keeps the aspect (the preset is held at 224x224)', async function () {
    const shared = requireShared(this, 'fitting the int8 zoo file with size auto');
    const dir = tempDir();
    await importFile(dir, path.join(shared, 'models/mobilenetv2-12-int8.onnx'));
    // 1250x500 grey strips, as the long thin parts of issue 7
    const strip = (seed: number) => generateTexture('brushed', 1250, 500, seed, { channels: 1 });
    const train = [1, 2, 3, 4, 5, 6, 7, 8].map(strip);
    const opts = { modelsDir: dir, dims: 32, log: () => {} };
    const dynamic = await fitModel(train, { ...opts, backbone: 'mobilenetv2-12-int8' });
    assert.deepEqual(dynamic.header.input.size, { kind: 'resize', width: 640, height: 256 });
    assert.deepEqual(dynamic.header.grid, { height: 64, width: 160 }, 'stride-4 grid of the 640x256 input');
    assert.equal(dynamic.header.input.auto?.aspect, 2.5);
    // the same network as shipped (fixed 1x3x224x224): auto can only squash to its input
    const fixed = await fitModel(train.slice(0, 2), { ...opts, backbone: 'mobilenetv2-int8' });
    assert.deepEqual(fixed.header.input.size, { kind: 'resize', width: 224, height: 224 });
    // and the dynamic model still ranks a defect above the good strips
    const scorer = await Scorer.open(dynamic);
    try {
      const good = await scorer.scoreBatch([20, 21, 22].map(strip));
      const bad = await scorer.scoreBatch([30, 31].map((k) => addDefect(strip(k), 'spot', k).image));
      const maxGood = Math.max(...good.map((r) => r.score));
      for (const r of bad) assert.ok(r.score > maxGood, `defect ${r.score} > good max ${maxGood}`);
    } finally {
      await scorer.dispose();
    }
  });

  it('the int8 entry uses blocks 3/6/10; a file prepared with other stages is prepared again', async function () {
    const shared = requireShared(this, 'preparing the int8 zoo file');
    const dir = tempDir();
    const file = path.join(dir, 'mobilenetv2-12-int8.onnx');
    fs.copyFileSync(path.join(shared, 'models/mobilenetv2-12-int8.onnx'), file);
    // as an earlier version prepared it: stages by discovery (block 13)
    const discovered = await ensurePrepared(dir, 'mobilenetv2-12-int8', file);
    assert.equal(discovered.info.stages[2], '426_quantized');
    const entry = findEntry('mobilenetv2-12-int8')!;
    assert.deepEqual(entry.stages, ['339_quantized', '365_quantized', '400_quantized']);
    const now = await ensurePrepared(dir, entry.name, file, entry.stages as [string, string, string]);
    assert.deepEqual(now.info.stages, entry.stages);
    assert.deepEqual(
      now.info.stageShapes.map((s) => s.channels),
      [24, 32, 64],
    );
  });
});
