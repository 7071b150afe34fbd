/**
 * The GPU-check bundle (bench/make-gpu-bundle.sh) is built, stays under 64 MiB, and runs from
 * an unpacked copy with no system Node.js on PATH: on a machine without a GPU it reports the
 * provider unavailable and checks the CPU path (PASS). Slow (compression, a minute or two);
 * skipped with a message where the Node.js binary or the Vulkan loader cannot be downloaded.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from './helpers';

const ROOT = path.resolve(__dirname, '../..');
const LIMIT = 64 * 1024 * 1024;

/** A PATH of links to every tool in /usr/bin and /usr/sbin except Node.js and npm. */
function pathWithoutNode(dir: string): string {
  const tools = path.join(dir, 'tools');
  fs.mkdirSync(tools);
  for (const bin of ['/usr/bin', '/usr/sbin', '/bin', '/sbin']) {
    if (!fs.existsSync(bin)) continue;
    for (const name of fs.readdirSync(bin)) {
      if (['node', 'nodejs', 'npm', 'npx', 'corepack'].includes(name)) continue;
      const link = path.join(tools, name);
      if (!fs.existsSync(link)) fs.symlinkSync(path.join(bin, name), link);
    }
  }
  return tools;
}

describe('GPU-check bundle', function () {
  this.timeout(900000);
  let dir: string;

  before(() => {
    dir = tempDir('padim-gpu-bundle-');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is under 64 MiB and runs gpu-check with its own Node.js, reporting a missing GPU cleanly', function () {
    const out = path.join(dir, 'padim-gpu-check.tar.xz');
    const made = spawnSync('sh', [path.join(ROOT, 'bench/make-gpu-bundle.sh'), out], {
      cwd: ROOT,
      encoding: 'utf8',
      // level 1 keeps the test fast; the default level 6 only makes the bundle smaller
      env: { ...process.env, SKIP_BUILD: '1', GPU_BUNDLE_XZ_LEVEL: '1' },
    });
    if (made.status === 3) {
      console.log(`      (skipped: a download failed: ${made.stderr.trim().split('\n').join(' | ')})`);
      this.skip();
    }
    assert.equal(made.status, 0, made.stderr);
    const size = fs.statSync(out).size;
    console.log(`      bundle: ${(size / 2 ** 20).toFixed(1)} MiB (xz -1)`);
    assert.ok(size < LIMIT, `${size} bytes`);

    const unpack = spawnSync('tar', ['-xJf', out, '-C', dir], { encoding: 'utf8' });
    assert.equal(unpack.status, 0, unpack.stderr);
    const bundle = path.join(dir, 'padim-gpu-check');
    for (const f of [
      'node/bin/node',
      'vulkan/libvulkan.so.1',
      'dist/bench/gpu-check.js',
      'bench/gpu-check.sh',
    ])
      assert.ok(fs.existsSync(path.join(bundle, f)), f);
    const napi = fs.readdirSync(path.join(bundle, 'node_modules/onnxruntime-node/bin'))[0];
    const platforms = fs.readdirSync(path.join(bundle, 'node_modules/onnxruntime-node/bin', napi));
    assert.deepEqual(platforms, ['linux'], 'only the linux-x64 onnxruntime is bundled');

    const tools = pathWithoutNode(dir);
    const json = path.join(dir, 'gpu-check.json');
    const run = spawnSync(
      path.join(bundle, 'bench/gpu-check.sh'),
      ['--quick', '--runs', '1', '--json', json],
      { cwd: dir, encoding: 'utf8', env: { HOME: dir, PATH: tools }, timeout: 600000 },
    );
    const text = `${run.stdout}\n${run.stderr}`;
    assert.equal(run.status, 0, text);
    assert.match(run.stdout, /webgpu: (available|unavailable \(.+\))/);
    assert.match(run.stdout, /RESULT: PASS/);
    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as { machine: { execPath: string } };
    assert.equal(
      fs.realpathSync(report.machine.execPath),
      fs.realpathSync(path.join(bundle, 'node/bin/node')),
    );
    if (/webgpu: unavailable/.test(run.stdout))
      assert.match(run.stdout, /GPU not measured: webgpu unavailable/);
  });
});
