/**
 * Model files: a writer killed with SIGKILL at any point of a save leaves the previous model
 * byte-identical and loadable; damaged or mismatched files are refused when the model is loaded
 * (at deploy), with a message that says what is wrong.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readCategory } from '../../src/eval/dataset';
import { fitModel } from '../../src/padim/fit';
import { STALE_TEMP_MS } from '../../src/files/atomic-write';
import { loadModel, saveModel } from '../../src/model/model-file';
import { tempDir } from '../helpers';
import { flipByte, inspectModelFile, patchHeader } from '../model-file-damage';
import { ALL_NODES, SMALL_MODEL, helper, waitFor } from '../nodes/fixtures';
import { CATCH_NODES, faultModel, sha256File } from './fault-kit';

const ROOT = path.resolve(__dirname, '../../..');
const CHILD = path.join(__dirname, 'model-writer-child.js');

const INTERRUPTER = path.join(__dirname, 'save-interrupter.js');

interface ChildRun {
  /** resolves when the child has exited */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): void;
  /** resolves with the first stdout line matching `re` */
  line(re: RegExp, ms?: number): Promise<string>;
}

/** A node script with save-interrupter preloaded, stopping at save point `stopAt` (-1: none). */
function run(script: string, args: string[], stopAt: number): ChildRun {
  const child = spawn(process.execPath, ['-r', INTERRUPTER, script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PADIM_SAVE_STOP_AT: String(stopAt) },
  });
  const lines: string[] = [];
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => lines.push(...d.split('\n').filter(Boolean)));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    exited,
    kill: () => child.kill('SIGKILL'),
    line: (re, ms = 60_000) =>
      waitFor(() => lines.find((l) => re.test(l)), ms, `a line ${re} from the child (stderr: ${err})`),
  };
}

/** Runs the child to point `at`, kills it there with SIGKILL. */
async function killAt(script: string, args: string[], at: number): Promise<void> {
  const child = run(script, args, at);
  await child.line(new RegExp(`^at ${at} `));
  child.kill();
  assert.equal((await child.exited).signal, 'SIGKILL');
}

/** Temporary files the atomic write leaves beside `target` when killed. */
const temps = (target: string) =>
  fs.readdirSync(path.dirname(target)).filter((f) => f.startsWith(`${path.basename(target)}.tmp-`));

describe('faults: model files', function () {
  let modelPath: string;
  let dir: string;
  /** the file operations of one save, learnt from a run that is not interrupted */
  let operations: string[] = [];
  before(async () => {
    ({ modelPath } = await faultModel());
    dir = tempDir('padim-kill-');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('kill -9 at every point of a save: the previous model stays byte-identical and loadable', async () => {
    const target = path.join(dir, 'model.padim');
    fs.copyFileSync(modelPath, target);
    // learn the points of one save (on another file)
    const dry = run(CHILD, [modelPath, path.join(dir, 'dry.padim')], -1);
    operations = (await dry.line(/^points /)).split(' ').slice(1);
    await dry.exited;
    const renameAt = operations.indexOf('rename');
    assert.ok(renameAt > 2, `open, writes, sync before the rename: ${operations.join(' ')}`);
    const before = sha256File(target);
    for (let at = 0; at <= renameAt + 1; at++) {
      await killAt(CHILD, [modelPath, target], at);
      await loadModel(target); // loadable, whatever the point
      if (at <= renameAt)
        assert.equal(
          sha256File(target),
          before,
          `killed at ${at} (${operations[at]}): the previous model is unchanged`,
        );
      // after the rename, the new model is complete
      else assert.notEqual(sha256File(target), before, 'killed after the rename: the new model is in place');
    }
    console.log(`      killed at ${renameAt + 2} points: ${operations.slice(0, renameAt + 2).join(' ')}`);
    // what a kill leaves behind is a temporary file, never taken for the model
    const left = temps(target);
    assert.ok(left.length > 0, 'killed writes leave their temporary files');
    for (const t of left) assert.notEqual(sha256File(path.join(dir, t)), sha256File(target));
    // the next save removes them once they are old (their writers are gone); recent ones stay
    const old = (Date.now() - STALE_TEMP_MS - 60_000) / 1000;
    for (const t of left.slice(1)) fs.utimesSync(path.join(dir, t), old, old);
    await saveModel(target, await loadModel(modelPath));
    assert.deepEqual(temps(target), left.slice(0, 1), 'old leftovers removed, a recent one kept');
  });

  it('kill -9 of `padim fit` writing over a model, at three points of its save', async () => {
    const { data } = await faultModel();
    const target = path.join(dir, 'cli.padim');
    fs.copyFileSync(modelPath, target);
    const before = sha256File(target);
    const cli = path.join(ROOT, 'bin', 'padim.js');
    const args = ['fit', '--train', data.train, '--out', target, '--size', '64x64', '--dims', '16'];
    // the temporary file just created, half written, and complete but not yet renamed
    const points = [0, 2, operations.indexOf('rename')];
    for (const at of points) {
      await killAt(cli, args, at);
      assert.equal(sha256File(target), before, `killed at ${at} (${operations[at]}): byte-identical`);
      await loadModel(target);
    }
  });

  describe('damaged or mismatched files are refused at load, with a message that says which', () => {
    afterEach(() => helper.unload());

    /** A copy of the good model, damaged by `damage`. */
    const damaged = (name: string, damage: (file: string) => void | Promise<void>) => async () => {
      const file = path.join(dir, `${name}.padim`);
      fs.copyFileSync(modelPath, file);
      await damage(file);
      return file;
    };

    const cases: { name: string; make: () => Promise<string>; message: RegExp }[] = [
      {
        name: 'truncated',
        make: damaged('truncated', (f) => fs.truncateSync(f, Math.floor(fs.statSync(f).size / 2))),
        message: /truncated/,
      },
      {
        name: 'bit-flipped (section data)',
        make: damaged('flipped', (f) => flipByte(f, fs.statSync(f).size - 200)),
        message: /corrupt.*checksum/,
      },
      {
        name: 'bit-flipped (header)',
        make: damaged('flipped-header', (f) => flipByte(f, 40)),
        message: /corrupt/,
      },
      {
        name: 'wrong format version',
        make: damaged('version', (f) => patchHeader(f, '"formatVersion":1', '"formatVersion":9')),
        message: /format version 9/,
      },
      {
        name: 'another backbone',
        make: damaged('backbone', (f) => {
          const sha = inspectModelFile(f).header.backbone.sha256 as string;
          patchHeader(
            f,
            sha,
            sha.replace(/^./, (c) => (c === '0' ? '1' : '0')),
          );
        }),
        message: /is not the one this model was fitted with/,
      },
      {
        name: 'another input size',
        make: damaged('size', async (f) => {
          const { data } = await faultModel();
          const ds = readCategory(data.data);
          await saveModel(
            f,
            await fitModel(ds.train, { size: { kind: 'resize', width: 32, height: 32 }, dims: 16 }),
          );
        }),
        message: /expects input .*"width":32/,
      },
      {
        name: 'not a model',
        make: damaged('text', (f) => fs.writeFileSync(f, 'hello')),
        message: /not a PaDiM model/,
      },
    ];

    for (const c of cases) {
      it(`${c.name}: refused at deploy, and each image gets the same error`, async () => {
        const file = await c.make();
        const bytes = sha256File(file);
        await helper.load(ALL_NODES, [
          { id: 'm1', type: 'padim-model', path: file, ...SMALL_MODEL },
          { id: 's1', type: 'padim-score', model: 'm1', wires: [['out']] },
          { id: 'out', type: 'helper' },
          ...CATCH_NODES,
        ]);
        const s1 = helper.getNode('s1');
        const warnings: string[] = [];
        s1.on('call:warn', (call: { args: unknown[] }) => warnings.push(String(call.args[0])));
        // refused at load: before any image, the status is red and the log says why
        await waitFor(() => warnings.length > 0, 30_000, 'the load warning');
        assert.match(warnings[0], c.message);
        const { good } = await faultModel();
        const caught = new Promise<Record<string, unknown>>((resolve) =>
          helper.getNode('caught').once('input', resolve),
        );
        s1.receive({ payload: good });
        assert.match(((await caught).error as { message: string }).message, c.message);
        assert.equal(sha256File(file), bytes, 'a refused file is left as it is');
      });
    }

    it('a second configuration on the same file with another input size is refused; the first keeps scoring', async () => {
      const { modelPath, good } = await faultModel();
      await helper.load(ALL_NODES, [
        { id: 'm1', type: 'padim-model', path: modelPath, ...SMALL_MODEL },
        { id: 'm2', type: 'padim-model', path: modelPath, ...SMALL_MODEL, size: '32x32' },
        { id: 's1', type: 'padim-score', model: 'm1', wires: [['out']] },
        { id: 's2', type: 'padim-score', model: 'm2', wires: [['out']] },
        { id: 'out', type: 'helper' },
        ...CATCH_NODES,
      ]);
      const caught = new Promise<Record<string, unknown>>((resolve) =>
        helper.getNode('caught').once('input', resolve),
      );
      helper.getNode('s2').receive({ payload: good });
      assert.match(
        ((await caught).error as { message: string }).message,
        /expects input .*"width":64.*not .*"width":32/,
      );
      const scored = new Promise<Record<string, unknown>>((resolve) =>
        helper.getNode('out').once('input', resolve),
      );
      helper.getNode('s1').receive({ payload: good });
      assert.equal(typeof ((await scored).payload as { score: unknown }).score, 'number');
    });
  });
});
