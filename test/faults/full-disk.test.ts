/**
 * A model saved onto a full disk, for real: a small tmpfs mounted by the test where it runs as
 * root and may mount (the kernel's own ENOSPC), else a file-size limit set with `ulimit -f` in
 * the child's shell (the kernel's EFBIG, with SIGXFSZ ignored so the write fails instead of
 * the process being killed). Either way: a clear error that names the file, the previous model
 * byte-identical, no temporary file left, and in Node-RED the score node still scoring.
 * PADIM_FULL_DISK=ulimit runs the fallback even as root.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers';
import { ALL_NODES, SMALL_MODEL, collect, fitSmallModel, helper, testData } from '../nodes/fixtures';
import { sha256File } from './fault-kit';

const ROOT = path.resolve(__dirname, '../../..');
const PADIM = path.join(ROOT, 'bin/padim.js');

type Mode = { kind: 'tmpfs'; mountPoint: string } | { kind: 'ulimit' };

/** A tmpfs of `bytes` at `dir` if this process may mount one. */
function mountTmpfs(dir: string, bytes: number): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { encoding: 'utf8' });
  return r.status === 0;
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

describe('faults: a full disk while a model is written (issue 14)', function () {
  this.timeout(120_000);
  let scratch: string;
  let disk: string;
  let mode: Mode;
  let modelPath: string;
  let train: string;

  before(async function () {
    scratch = tempDir('padim-full-disk-');
    const reference = path.join(scratch, 'reference.padim');
    await fitSmallModel(reference);
    train = (await testData()).train;
    const modelBytes = fs.statSync(reference).size;
    disk = path.join(scratch, 'disk');
    fs.mkdirSync(disk);
    // room for the previous model and half of it again: the new one (the same size) cannot fit
    const size = Math.ceil((modelBytes * 1.5) / 4096) * 4096;
    // PADIM_FULL_DISK=ulimit tries the fallback where the tmpfs would be used
    if (process.env.PADIM_FULL_DISK !== 'ulimit' && mountTmpfs(disk, size))
      mode = { kind: 'tmpfs', mountPoint: disk };
    else if (process.platform === 'linux' && spawnSync('sh', ['-c', 'ulimit -f 1']).status === 0)
      mode = { kind: 'ulimit' };
    else {
      console.log('      (skipped: needs Linux, and root for the tmpfs variant)');
      this.skip();
    }
    console.log(
      `      full disk simulated with: ${mode.kind === 'tmpfs' ? `a ${size}-byte tmpfs (root)` : 'ulimit -f'}`,
    );
    modelPath = path.join(disk, 'model.padim');
    fs.copyFileSync(reference, modelPath);
  });
  after(() => {
    if (mode?.kind === 'tmpfs') spawnSync('umount', [mode.mountPoint]);
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  const fitArgs = () => [
    PADIM,
    'fit',
    '--train',
    train,
    '--out',
    modelPath,
    '--backbone',
    'builtin:filterbank',
    '--size',
    '64x64',
    '--dims',
    '16',
    '--seed',
    '3',
  ];

  it('padim fit over the model: exit 1, the error names the file, the previous model intact, nothing left behind', async () => {
    const sha = sha256File(modelPath);
    // ulimit -f counts 512- or 1024-byte blocks (dash, bash): 100 of either is far below a model
    const { code, stderr } =
      mode.kind === 'tmpfs'
        ? await run(process.execPath, fitArgs())
        : await run('sh', [
            '-c',
            `trap '' XFSZ; ulimit -f 100; exec "$0" "$@"`,
            process.execPath,
            ...fitArgs(),
          ]);
    assert.equal(code, 1, stderr);
    const reason = mode.kind === 'tmpfs' ? 'ENOSPC: no space left on device' : 'EFBIG: file too large';
    assert.match(stderr, new RegExp(`padim fit: error: cannot write model file ${modelPath}: ${reason}`));
    assert.match(stderr, /a previous model file there is unchanged/);
    assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
    assert.equal(sha256File(modelPath), sha);
    assert.deepEqual(fs.readdirSync(disk), ['model.padim']);
  });

  it('the fit node: the error to Catch, the previous model intact, the score node still scores', async function () {
    if (mode.kind !== 'tmpfs') {
      console.log(
        '      (skipped: a file-size limit cannot be set on this process alone; needs the tmpfs, as root)',
      );
      this.skip();
    }
    const sha = sha256File(modelPath);
    await helper.load(ALL_NODES, [
      { id: 'm1', type: 'padim-model', path: modelPath, ...SMALL_MODEL },
      { id: 'f1', type: 'padim-fit', model: 'm1', source: 'folder', folder: train, wires: [['fitted']] },
      { id: 's1', type: 'padim-score', model: 'm1', wires: [['scored']] },
      { id: 'fitted', type: 'helper' },
      { id: 'scored', type: 'helper' },
      { id: 'c1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]);
    try {
      const image = path.join(train, '000.png');
      const score = async () => {
        const out = collect(helper.getNode('scored'), 1);
        helper.getNode('s1').receive({ payload: image });
        return ((await out)[0].payload as { score: number }).score;
      };
      const before = await score();
      const caught = collect(helper.getNode('caught'), 1, 60_000);
      helper.getNode('f1').receive({ topic: 'fit' });
      const message = String(((await caught)[0].error as { message: string }).message);
      assert.match(message, /cannot write model file .*ENOSPC: no space left on device/);
      assert.equal(sha256File(modelPath), sha);
      assert.deepEqual(fs.readdirSync(disk), ['model.padim']);
      assert.equal(await score(), before);
    } finally {
      await helper.unload();
    }
  });
});
